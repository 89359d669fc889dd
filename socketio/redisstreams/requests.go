package redisstreams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// ErrTimeout is wrapped by the error of a request whose answers did not all
// arrive in time.
var ErrTimeout = errors.New("redisstreams: timeout reached while waiting for responses")

// pending is a request waiting for the answers of the other nodes. Its
// fields are written under Adapter.mu while it is in Adapter.requests;
// once removed from there it is read by the requester alone.
type pending struct {
	typ    int
	expect int
	got    int
	done   chan struct{}
	err    error

	sockets   []adapter.SocketInfo
	responses []json.RawMessage
}

// ask publishes a request on the namespace's channel and waits for expect
// answers, timeout or the end of ctx. The returned pending holds what
// arrived (nil when the request could not be sent).
func (a *Adapter) ask(ctx context.Context, typ int, id string, data *jsvalue.Object, expect int, timeout time.Duration) (*pending, error) {
	p := &pending{typ: typ, expect: expect, done: make(chan struct{})}
	a.mu.Lock()
	if a.isClosed() {
		a.mu.Unlock()
		return nil, adapter.ErrClosed
	}
	a.requests[id] = p
	a.mu.Unlock()

	if err := a.publish(ctx, a.publicChannel, &message{uid: a.uid, nsp: a.nsp, typ: typ, data: data}); err != nil {
		a.forget(id)
		return nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-p.done:
		return p, p.err
	case <-timer.C:
		err = fmt.Errorf("%w: %s: %d of %d responses", ErrTimeout, requestName(typ), a.forget(id), expect)
	case <-ctx.Done():
		a.forget(id)
		err = ctx.Err()
	}
	// The last answer may have completed the request in the meantime.
	select {
	case <-p.done:
		return p, p.err
	default:
	}
	return p, err
}

// forget removes a pending request and returns the number of answers it
// received.
func (a *Adapter) forget(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.requests[id]
	if p == nil {
		return 0
	}
	delete(a.requests, id)
	return p.got
}

func requestName(t int) string {
	switch t {
	case typeFetchSockets:
		return "fetchSockets"
	case typeServerSideEmit:
		return "serverSideEmit"
	}
	return fmt.Sprintf("request type %d", t)
}

// respond publishes an answer on the requesting node's channel.
func (a *Adapter) respond(requester string, typ int, data *jsvalue.Object) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	_ = a.publish(ctx, a.publicChannel+requester+"#", &message{uid: a.uid, nsp: a.nsp, typ: typ, data: data})
}

// Sockets implements adapter.Adapter: the ids of the selected sockets of
// every node (through fetchSockets, as the reference has no request for
// ids alone).
func (a *Adapter) Sockets(ctx context.Context, opts adapter.BroadcastOptions) ([]string, error) {
	if opts.Flags.Local {
		return a.Memory.Sockets(ctx, opts)
	}
	infos, err := a.FetchSockets(ctx, opts)
	ids := make([]string, 0, len(infos))
	for _, in := range infos {
		ids = append(ids, in.ID)
	}
	return ids, err
}

// FetchSockets implements adapter.Adapter: the selected sockets of every
// node. On a timeout the sockets gathered so far (the local ones and those
// of the nodes that answered) are returned with an error wrapping
// ErrTimeout; when Redis cannot be reached, the local ones with that error.
// The wait is opts.Flags.Timeout, or Options.RequestsTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local := a.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return local, err
	}
	id := newID()
	d := &jsvalue.Object{}
	d.Set("opts", clusterwire.OptsTree(opts))
	d.Set("requestId", id)
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.opts.RequestsTimeout
	}
	p, err := a.ask(ctx, typeFetchSockets, id, d, n-1, timeout)
	if p != nil {
		local = append(local, p.sockets...)
	}
	return local, err
}

// onFetchSockets answers the fetchSockets request of another node.
func (a *Adapter) onFetchSockets(m *message) {
	id, _ := m.data.GetString("requestId")
	o, _ := m.data.Get("opts")
	opts := clusterwire.TreeOpts(o)
	opts.Flags = adapter.Flags{}
	infos := a.FetchLocal(opts)
	sockets := make([]any, 0, len(infos))
	for _, in := range infos {
		w := clusterwire.Socket{ID: in.ID, Handshake: clusterwire.ToHandshake(in.Handshake), Rooms: clusterwire.NonNil(a.SocketRooms(in.ID))}
		if len(w.Rooms) == 0 {
			w.Rooms = clusterwire.NonNil(in.Rooms)
		}
		if in.Data != nil {
			data, err := json.Marshal(in.Data)
			if err != nil {
				a.log.Warn("redisstreams: socket data cannot be sent to other nodes", "id", in.ID, "err", err)
			} else {
				w.Data = data
			}
		}
		tree, err := clusterwire.JSONTree(w)
		if err != nil {
			continue
		}
		sockets = append(sockets, tree)
	}
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("sockets", sockets)
	a.respond(m.uid, typeFetchSocketsResponse, d)
}

// ServerSideEmit implements adapter.Adapter (the reference's
// serverSideEmit): args holds the event name then its arguments, which
// must marshal to JSON.
func (a *Adapter) ServerSideEmit(ctx context.Context, args ...any) error {
	packet, err := serverSidePacket(args)
	if err != nil {
		return err
	}
	if a.isClosed() {
		return adapter.ErrClosed
	}
	d := &jsvalue.Object{}
	d.Set("packet", packet)
	return a.publish(ctx, a.publicChannel, &message{uid: a.uid, nsp: a.nsp, typ: typeServerSideEmit, data: d})
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from each
// other node, for Options.RequestsTimeout at most. On a timeout the answers
// received so far are returned with an error wrapping ErrTimeout.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, args ...any) ([]json.RawMessage, error) {
	packet, err := serverSidePacket(args)
	if err != nil {
		return nil, err
	}
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return nil, err
	}
	id := newID()
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("packet", packet)
	p, err := a.ask(ctx, typeServerSideEmit, id, d, n-1, a.opts.RequestsTimeout)
	if p == nil {
		return nil, err
	}
	return p.responses, err
}

func serverSidePacket(args []any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("redisstreams: ServerSideEmit needs an event name")
	}
	if _, ok := args[0].(string); !ok {
		return nil, fmt.Errorf("redisstreams: ServerSideEmit: event name is a %T, not a string", args[0])
	}
	tree, err := clusterwire.JSONTree(args)
	if err != nil {
		return nil, fmt.Errorf("redisstreams: ServerSideEmit arguments: %w", err)
	}
	return tree, nil
}

// onServerSideEmit hands an event of another node to the namespace.
func (a *Adapter) onServerSideEmit(m *message) {
	p, _ := m.data.Get("packet")
	args, err := splitArgs(p)
	if err != nil || len(args) == 0 {
		return
	}
	var ack func(any)
	if id, ok := m.data.GetString("requestId"); ok {
		var once sync.Once
		ack = func(v any) {
			once.Do(func() {
				tree, err := clusterwire.JSONTree(v)
				if err != nil {
					a.log.Warn("redisstreams: cannot encode server-side ack", "err", err)
					return
				}
				d := &jsvalue.Object{}
				d.Set("requestId", id)
				d.Set("packet", tree)
				a.respond(m.uid, typeServerSideEmitResponse, d)
			})
		}
	}
	a.Emitter().ReceiveServerSideEmit(args, ack)
}

// ackRequest is a broadcast of this node whose acknowledgements other nodes
// relay.
type ackRequest struct {
	onClientCount func(n int)
	onAck         func(ack adapter.Ack)
	timer         *time.Timer
}

// BroadcastWithAck implements adapter.Adapter (the reference's
// broadcastWithAck): the packet goes to the other nodes over the
// namespace's channel, not the stream, and they relay their client counts
// and the acknowledgements until opts.Flags.Timeout (default
// Options.RequestsTimeout). onClientCount is called once per node that
// delivered it, this one included; onAck once per acknowledgement, from
// any goroutine. A failure to publish is logged.
func (a *Adapter) BroadcastWithAck(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions, onClientCount func(n int), onAck func(ack adapter.Ack)) error {
	if !opts.Flags.Local {
		id := newID()
		d, err := clusterwire.BroadcastData(pkt, opts, id)
		if err != nil {
			return err
		}
		timeout := opts.Flags.Timeout
		if timeout <= 0 {
			timeout = a.opts.RequestsTimeout
		}
		ar := &ackRequest{onClientCount: onClientCount, onAck: onAck}
		a.mu.Lock()
		if a.isClosed() {
			a.mu.Unlock()
			return adapter.ErrClosed
		}
		a.acks[id] = ar
		ar.timer = time.AfterFunc(timeout, func() {
			a.mu.Lock()
			delete(a.acks, id)
			a.mu.Unlock()
		})
		a.mu.Unlock()
		_ = a.publish(ctx, a.publicChannel, &message{uid: a.uid, nsp: a.nsp, typ: typeBroadcast, data: d})
	}
	onClientCount(a.BroadcastLocalWithAck(pkt, opts, onAck))
	return nil
}

// onAckBroadcast delivers a broadcast of another node that expects
// acknowledgements, and relays the client count and the acknowledgements.
func (a *Adapter) onAckBroadcast(m *message) {
	id, ok := m.data.GetString("requestId")
	if !ok {
		return
	}
	p, _ := m.data.Get("packet")
	pkt, err := clusterwire.TreePacket(p, m.nsp)
	if err != nil {
		a.log.Debug("redisstreams: ignoring malformed broadcast", "err", err)
		return
	}
	o, _ := m.data.Get("opts")
	opts := clusterwire.TreeOpts(o)
	opts.Flags.Local = true
	n := a.BroadcastLocalWithAck(pkt, opts, func(ack adapter.Ack) {
		var first any
		if args, err := parser.SplitArray(ack.Args); err == nil && len(args) > 0 {
			first, err = jsvalue.FromJSON(args[0], ack.Attachments)
			if err != nil {
				a.log.Warn("redisstreams: cannot encode acknowledgement", "err", err)
				return
			}
		}
		d := &jsvalue.Object{}
		d.Set("requestId", id)
		d.Set("packet", first)
		a.respond(m.uid, typeBroadcastAck, d)
	})
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("clientCount", int64(n))
	a.respond(m.uid, typeBroadcastClientCount, d)
}

// onResponse records an answer to one of this node's requests.
func (a *Adapter) onResponse(m *message) {
	id, _ := m.data.GetString("requestId")
	if id == "" {
		return
	}
	a.mu.Lock()
	ar := a.acks[id]
	p := a.requests[id]
	a.mu.Unlock()
	switch m.typ {
	case typeBroadcastClientCount:
		if ar != nil {
			v, _ := m.data.Get("clientCount")
			if n, ok := clusterwire.Integer(v); ok {
				ar.onClientCount(int(n))
			}
		}
		return
	case typeBroadcastAck:
		if ar != nil {
			v, _ := m.data.Get("packet")
			text, atts, err := jsvalue.JSON([]any{v})
			if err == nil {
				ar.onAck(adapter.Ack{Args: text, Attachments: atts})
			}
		}
		return
	}
	if p == nil || p.typ != requestOf(m.typ) {
		return
	}
	// Decode outside the lock (DecodeData is the application's code).
	var (
		sockets []adapter.SocketInfo
		resp    json.RawMessage
	)
	switch m.typ {
	case typeFetchSocketsResponse:
		list, _ := clusterwire.Get[[]any](m.data, "sockets")
		sockets = a.remoteSockets(list)
	case typeServerSideEmitResponse:
		v, _ := m.data.Get("packet")
		resp, _ = clusterwire.TreeJSON(v)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.requests[id] != p {
		return // timed out meanwhile
	}
	p.sockets = append(p.sockets, sockets...)
	if m.typ == typeServerSideEmitResponse {
		p.responses = append(p.responses, resp)
	}
	p.got++
	if p.got >= p.expect {
		delete(a.requests, id)
		close(p.done)
	}
}

// requestOf returns the request type a response type answers.
func requestOf(resp int) int {
	switch resp {
	case typeFetchSocketsResponse:
		return typeFetchSockets
	case typeServerSideEmitResponse:
		return typeServerSideEmit
	}
	return -1
}

// remoteSockets decodes the sockets of a fetchSockets response.
func (a *Adapter) remoteSockets(list []any) []adapter.SocketInfo {
	out := make([]adapter.SocketInfo, 0, len(list))
	for _, el := range list {
		text, err := clusterwire.TreeJSON(el)
		if err != nil {
			continue
		}
		var w clusterwire.Socket
		if err := json.Unmarshal(text, &w); err != nil {
			a.log.Debug("redisstreams: malformed socket in a fetchSockets response", "err", err)
			continue
		}
		info := adapter.SocketInfo{ID: w.ID, Handshake: w.Handshake.Adapter(), Rooms: w.Rooms}
		if len(w.Data) > 0 && string(w.Data) != "null" {
			data, err := a.opts.DecodeData(w.Data)
			if err != nil {
				a.log.Warn("redisstreams: cannot decode socket data", "id", w.ID, "err", err)
			}
			info.Data = data
		}
		out = append(out, info)
	}
	return out
}
