package socketio

import (
	"context"
	"slices"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/parser"
)

// BroadcastOperator selects sockets of a namespace and acts on them. It is
// an immutable value: every method returns a modified copy, so a partly
// built operator can be kept and reused from any goroutine.
//
//	ns.To("room1", "room2").Except("room3").Emit("news", item)
type BroadcastOperator struct {
	ns     *Namespace
	rooms  []string
	except []string
	flags  adapter.Flags
}

// To adds rooms to the selection (sockets in any of them).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = append(slices.Clip(b.rooms), rooms...)
	return b
}

// In is the same as To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except removes the sockets in any of the rooms from the selection.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(slices.Clip(b.except), rooms...)
	return b
}

// Local restricts the operation to this node.
func (b BroadcastOperator) Local() BroadcastOperator { b.flags.Local = true; return b }

// Volatile drops the event for sockets that cannot write right away.
func (b BroadcastOperator) Volatile() BroadcastOperator { b.flags.Volatile = true; return b }

// Compress sets the compress flag (the reference's compress): with false
// the event is sent without WebSocket compression (permessage-deflate,
// engine.Options.PerMessageDeflate), and a polling response holding only
// such packets is not HTTP-compressed. Events are compressed by default
// (when the extension was negotiated and they reach the threshold).
// Adapters carry the flag to other nodes.
func (b BroadcastOperator) Compress(on bool) BroadcastOperator { b.flags.NoCompress = !on; return b }

// Timeout sets the time a broadcast waits for acknowledgements.
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator { b.flags.Timeout = d; return b }

func (b BroadcastOperator) options() adapter.BroadcastOptions {
	return adapter.BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// targets returns the namespaces the operator acts on: the namespace
// itself, or the children of a dynamic namespace.
func (b BroadcastOperator) targets() []*Namespace {
	if b.ns.match == nil {
		return []*Namespace{b.ns}
	}
	b.ns.mu.RLock()
	defer b.ns.mu.RUnlock()
	out := make([]*Namespace, 0, len(b.ns.children))
	for c := range b.ns.children {
		out = append(out, c)
	}
	return out
}

// Emit sends an event to the selected sockets. The packet is encoded once,
// whatever the number of recipients.
func (b BroadcastOperator) Emit(event string, args ...any) error {
	return b.EmitContext(context.Background(), event, args...)
}

// EmitContext is Emit with a context for adapters that cross nodes.
func (b BroadcastOperator) EmitContext(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	for _, ns := range b.targets() {
		if err := b.emitTo(ctx, ns, event, args); err != nil {
			return err
		}
	}
	return nil
}

// emitTo broadcasts one event in ns; with connection state recovery the
// event carries an offset and is kept for sockets that may resume.
func (b BroadcastOperator) emitTo(ctx context.Context, ns *Namespace, event string, args []any) error {
	sa := ns.sessionStore()
	var offset string
	if sa != nil && !b.flags.Volatile {
		offset = ns.server.nextOffset()
		args = append(slices.Clip(args), offset)
	}
	p, atts, err := eventPacket(ns.name, event, args)
	if err != nil {
		return err
	}
	if offset != "" {
		sa.StorePacket(adapter.StoredPacket{Offset: offset, Data: p.Data, Attachments: atts, Opts: b.options()})
	}
	return ns.adapter.Broadcast(ctx, &adapter.Packet{Packet: p, Attachments: atts}, b.options())
}

// SocketIDs returns the ids of the selected sockets.
func (b BroadcastOperator) SocketIDs(ctx context.Context) ([]string, error) {
	var out []string
	for _, ns := range b.targets() {
		ids, err := ns.adapter.Sockets(ctx, b.options())
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	return out, nil
}

// FetchSockets describes the selected sockets.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	for _, ns := range b.targets() {
		infos, err := ns.adapter.FetchSockets(ctx, b.options())
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			out = append(out, &RemoteSocket{ns: ns, info: in})
		}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join the rooms.
func (b BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	for _, ns := range b.targets() {
		if err := ns.adapter.AddSockets(ctx, b.options(), rooms); err != nil {
			return err
		}
	}
	return nil
}

// SocketsLeave makes the selected sockets leave the rooms.
func (b BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	for _, ns := range b.targets() {
		if err := ns.adapter.DelSockets(ctx, b.options(), rooms); err != nil {
			return err
		}
	}
	return nil
}

// DisconnectSockets disconnects the selected sockets (with close, their
// whole connections).
func (b BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	for _, ns := range b.targets() {
		if err := ns.adapter.DisconnectSockets(ctx, b.options(), close); err != nil {
			return err
		}
	}
	return nil
}

// RemoteSocket describes a socket found by FetchSockets, on this node or
// another one, and acts on it through the adapter.
type RemoteSocket struct {
	ns   *Namespace
	info adapter.SocketInfo
}

// ID returns the socket id.
func (r *RemoteSocket) ID() string { return r.info.ID }

// Handshake returns the socket's handshake.
func (r *RemoteSocket) Handshake() *Handshake { return r.info.Handshake }

// Rooms returns the rooms the socket was in when fetched.
func (r *RemoteSocket) Rooms() []string { return r.info.Rooms }

// Data returns the socket's application data when fetched.
func (r *RemoteSocket) Data() any { return r.info.Data }

// Local reports whether the socket lives on this node.
func (r *RemoteSocket) Local() bool { return r.info.Local }

func (r *RemoteSocket) op() BroadcastOperator { return r.ns.op().To(r.info.ID) }

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.op().Emit(event, args...) }

// Join makes the socket join the rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.op().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave the rooms.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	return r.op().SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket (with close, its whole connection).
func (r *RemoteSocket) Disconnect(ctx context.Context, close bool) error {
	return r.op().DisconnectSockets(ctx, close)
}
