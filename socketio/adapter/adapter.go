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
	// Compress is the per-packet compression hint (kept for
	// compatibility; transports may ignore it).
	Compress bool
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
	Flags  Flags
}

// Handshake describes the HTTP request and CONNECT packet a socket was
// created from. Field names follow the reference server.
type Handshake struct {
	// Headers of the first HTTP request of the session.
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
	ID        string
	Handshake *Handshake
	Rooms     []string
	// Data is the socket's application data (socket.data).
	Data any
	// Local is true when the socket lives on this node.
	Local bool
}

// Emitter is the adapter's view of its namespace's local sockets. It is
// implemented by the socketio package. Its methods are safe for concurrent
// use and never block on the network.
type Emitter interface {
	// Name is the namespace name.
	Name() string
	// Deliver sends pkt to each listed local socket, encoding it once, and
	// returns how many sockets it was queued to. Unknown ids are skipped.
	Deliver(pkt *Packet, ids []string, flags Flags) int
	// Socket describes a local socket; ok is false if it is unknown.
	Socket(id string) (info SocketInfo, ok bool)
	// DisconnectSocket disconnects a local socket from the namespace
	// (close also closes its whole connection).
	DisconnectSocket(id string, close bool)
}

// ErrClosed is returned by operations on a closed adapter.
var ErrClosed = errors.New("adapter: closed")

// Adapter keeps the rooms of one namespace and delivers broadcasts to the
// sockets they select. Implementations must be safe for concurrent use.
//
// Delivery guarantees: packets broadcast from one goroutine reach each
// socket in the order they were broadcast; a socket receives a broadcast at
// most once, whatever the number of matching rooms.
type Adapter interface {
	// AddAll adds the socket to the rooms (creating them).
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
	// Close releases the adapter's resources.
	Close() error
}

// Factory creates the adapter of a namespace. Options.Adapter of the
// socketio package takes one; NewMemory is the default.
type Factory func(e Emitter) Adapter
