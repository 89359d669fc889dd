// Package adapter defines how a Socket.IO namespace keeps its rooms and
// reaches its sockets, and provides Memory, the single-node implementation
// every other adapter builds on.
//
// An Adapter belongs to exactly one namespace. It knows sockets only by id;
// it reaches the local ones through the Emitter that the namespace gives it
// (the socketio package implements Emitter), so this package never imports
// the socketio package.
//
// Operations that may cross nodes (Broadcast, FetchSockets, AddSockets,
// DelSockets, DisconnectSockets, ServerCount) take a context and may fail or
// time out; on a single node they never fail. Room membership changes
// (AddAll, Del, DelAll) are local: every node keeps the rooms of its own
// sockets.
package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/chatd/chatd/socketio/parser"
)

// Packet is a Socket.IO packet on its way to many sockets: the packet header
// and JSON payload (with binary placeholders), plus its attachments. It is
// encoded once by the sender; adapters and emitters must not modify it.
type Packet struct {
	parser.Packet
	// Binary attachments referenced by placeholders in Data, in order.
	Attachments [][]byte
}

// Flags modify how a broadcast is delivered.
type Flags struct {
	// Local restricts the broadcast to this node.
	Local bool
	// Volatile drops the packet for a socket whose transport cannot write
	// right away, instead of queueing it.
	Volatile bool
	// NoCompress sends the packet without WebSocket compression
	// (permessage-deflate), and a polling response holding only such
	// packets without HTTP compression: the reference's compress(false).
	// The zero value compresses, as the reference does by default. It is
	// carried to other nodes as the compress flag.
	NoCompress bool
	// Timeout bounds a broadcast that waits for acknowledgements.
	Timeout time.Duration
}

// BroadcastOptions selects the target sockets of an operation.
type BroadcastOptions struct {
	// Rooms selects the sockets in any of these rooms; empty selects every
	// socket of the namespace.
	Rooms []string
	// Except removes the sockets in any of these rooms (a socket id is the
	// name of a room holding only that socket).
	Except []string
	// Flags modify the delivery.
	Flags Flags
}

// Handshake describes the HTTP request and CONNECT packet a socket was
// created from. Field names follow the reference server. Its maps may be
// shared with other handshakes and with the request: do not modify them.
type Handshake struct {
	// Headers of the first HTTP request of the session, Host included.
	Headers http.Header `json:"headers"`
	// Time is the creation time as a string (time.RFC1123).
	Time string `json:"time"`
	// Address is the remote address of the client.
	Address string `json:"address"`
	// XDomain is true when the request carried an Origin header.
	XDomain bool `json:"xdomain"`
	// Secure is true when the request came over TLS.
	Secure bool `json:"secure"`
	// Issued is the creation time in milliseconds since the epoch.
	Issued int64 `json:"issued"`
	// URL is the request URL of the handshake (path and query).
	URL string `json:"url"`
	// Query is the query of the handshake URL.
	Query url.Values `json:"query"`
	// Auth is the payload of the CONNECT packet ({} when absent).
	Auth json.RawMessage `json:"auth"`
}

// SocketInfo describes a socket, local or on another node.
type SocketInfo struct {
	// ID is the socket id.
	ID string
	// Handshake describes how the socket connected.
	Handshake *Handshake
	// Rooms are the rooms the socket is in, its own id included.
	Rooms []string
	// Data is the socket's application data (socket.data).
	Data any
	// Local is true when the socket lives on this node.
	Local bool
}

// Emitter is the adapter's view of its namespace's local sockets. It is
// implemented by the socketio package (by a type of its own, not by
// socketio.Namespace, so that these methods stay off the public API). Its
// methods are safe for concurrent use and never block on the network.
type Emitter interface {
	// Name is the namespace name.
	Name() string
	// Deliver sends pkt to each listed local socket, encoding it once, and
	// returns how many sockets it was queued to. Unknown ids are skipped.
	Deliver(pkt *Packet, ids []string, flags Flags) int
	// DeliverWithAck sends pkt, with one ack id of the namespace, to each
	// listed local socket and returns the number of sockets it was queued
	// to. onAck is then called once for each of them that acknowledges
	// within flags.Timeout (or before it disconnects, when Timeout is 0),
	// from any goroutine; it must not block for long.
	DeliverWithAck(pkt *Packet, ids []string, flags Flags, onAck func(id string, ack Ack)) int
	// Socket describes a local socket; ok is false if it is unknown.
	Socket(id string) (info SocketInfo, ok bool)
	// DisconnectSocket disconnects a local socket from the namespace
	// (close also closes its whole connection).
	DisconnectSocket(id string, close bool)
	// ReceiveServerSideEmit takes one event that another node sent with
	// ServerSideEmit: args holds the event name then its arguments, as
	// JSON; ack is nil unless the sender waits for an answer, and sends
	// one answer when called. It runs on the adapter's receiving
	// goroutine and must return quickly.
	ReceiveServerSideEmit(args []json.RawMessage, ack func(v any))
}

// ErrClosed is returned by operations on a closed adapter.
var ErrClosed = errors.New("adapter: closed")

// Adapter keeps the rooms of one namespace and delivers broadcasts to the
// sockets they select. It is the whole contract between a namespace and
// its adapter: the socketio package finds no optional interface by type
// assertion. Memory implements all of it for one node; a cluster adapter
// embeds a *Memory, which keeps the rooms of the local sockets and
// supplies the local part of every operation, and overrides the
// operations that cross nodes (as redisadapter does). Implementations
// must be safe for concurrent use.
//
// Delivery guarantees: packets broadcast from one goroutine reach each
// socket in the order they were broadcast; a socket receives a broadcast at
// most once, whatever the number of matching rooms.
type Adapter interface {
	// Add adds the socket to one room (creating it): AddAll without a
	// slice, for the usual join of one room.
	Add(id, room string)
	// AddAll adds the socket to the rooms (creating them). The adapter
	// must not keep the slice.
	AddAll(id string, rooms ...string)
	// Del removes the socket from one room (an empty room is deleted).
	Del(id, room string)
	// DelAll removes the socket from every room.
	DelAll(id string)
	// SocketRooms returns the rooms of a local socket (nil if unknown).
	SocketRooms(id string) []string
	// RoomSize returns the number of local sockets in a room.
	RoomSize(room string) int

	// Broadcast delivers pkt to the selected sockets.
	Broadcast(ctx context.Context, pkt *Packet, opts BroadcastOptions) error
	// BroadcastWithAck delivers pkt to the selected sockets with an ack
	// id. onClientCount is called once per node with the number of
	// sockets reached there; onAck once per acknowledgement, from any
	// goroutine. The caller knows it has every answer when it has heard
	// from ServerCount nodes and received as many acks as the client
	// counts add up to.
	BroadcastWithAck(ctx context.Context, pkt *Packet, opts BroadcastOptions, onClientCount func(n int), onAck func(ack Ack)) error
	// Sockets returns the ids of the selected sockets.
	Sockets(ctx context.Context, opts BroadcastOptions) ([]string, error)
	// FetchSockets describes the selected sockets.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketInfo, error)
	// AddSockets makes the selected sockets join rooms.
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the selected sockets leave rooms.
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the selected sockets.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error
	// ServerCount returns the number of nodes sharing this namespace.
	ServerCount(ctx context.Context) (int, error)
	// ServerSideEmit sends args (the event name first) to the other
	// nodes, whose Emitters receive it (ReceiveServerSideEmit); on a
	// single node it does nothing, as the reference.
	ServerSideEmit(ctx context.Context, args ...any) error
	// ServerSideEmitWithAck does the same and waits for one answer from
	// each other node; on a timeout it returns the answers received with
	// an error. On a single node it returns nil, nil.
	ServerSideEmitWithAck(ctx context.Context, args ...any) ([]json.RawMessage, error)

	// EnableRecovery turns connection state recovery on, keeping
	// sessions and packets for d; the socketio package calls it once,
	// when it creates the namespace with recovery on. An adapter that
	// cannot recover sessions faithfully (say, one that would miss the
	// packets sent by other nodes) returns an error wrapping
	// ErrRecoveryUnsupported, and the server refuses to start.
	EnableRecovery(d time.Duration) error
	// StorePacket keeps a broadcast for sockets that may resume (called
	// for every event broadcast that a disconnected client could miss).
	StorePacket(p StoredPacket)
	// PersistSession keeps the state of a socket that disconnected for a
	// recoverable reason.
	PersistSession(s RecoverySession)
	// RestoreSession returns the session and the packets the client
	// missed, or nil when the session is unknown, expired, or the offset
	// is no longer known (the client then gets a new session).
	RestoreSession(pid, offset string) *RecoverySession
	// ResumeSession is called once for every session RestoreSession
	// returned, on the socket's goroutine: with live true once the
	// socket is connected, in its rooms, and its missed packets are
	// queued (before its connection handlers run), or with live false
	// when the socket does not connect after all (a middleware refused
	// it, its connection ended, or its id is in use). Between the two
	// calls the socket cannot receive broadcasts, so the adapter keeps
	// those meant for it: on live it delivers to the socket the packets
	// broadcast to its rooms since RestoreSession read its missed
	// packets, in order, and from then on the socket receives every
	// broadcast once.
	ResumeSession(sid string, live bool)

	// Close releases the adapter's resources.
	Close() error
}

// Factory creates the adapter of a namespace. Options.Adapter of the
// socketio package takes one; the in-memory adapter (NewMemory) is the
// default.
type Factory func(e Emitter) Adapter

// Ack is one socket's acknowledgement of a broadcast that asked for them.
type Ack struct {
	// Args is the JSON array of the acknowledgement's arguments, binary
	// values as placeholders. An acknowledgement relayed by another node
	// may hold its first argument only (as the reference relays it).
	Args []byte
	// Attachments are the binary values the placeholders designate.
	Attachments [][]byte
}
