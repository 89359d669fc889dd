package pgadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	cw "github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// pending is a request waiting for the answers of the other nodes. Its
// fields are written under Adapter.mu while it is in Adapter.requests;
// once removed from there it is read by the requester alone.
type pending struct {
	typ     int
	missing map[string]struct{} // nodes yet to answer
	done    chan struct{}
	err     error

	sockets   []adapter.SocketInfo
	responses []json.RawMessage
}

// ask sends a request to the nodes known now and waits for the answer of
// each (or for its leaving), timeout or the end of ctx. It returns nil,
// nil when there is no other node.
func (a *Adapter) ask(ctx context.Context, typ int, id string, data *jsvalue.Object, timeout time.Duration) (*pending, error) {
	p := &pending{typ: typ, missing: make(map[string]struct{}), done: make(chan struct{})}
	a.mu.Lock()
	if a.isClosed() {
		a.mu.Unlock()
		return nil, adapter.ErrClosed
	}
	for uid := range a.nodes {
		p.missing[uid] = struct{}{}
	}
	if len(p.missing) == 0 {
		a.mu.Unlock()
		return nil, nil
	}
	expect := len(p.missing)
	a.requests[id] = p
	a.mu.Unlock()

	if err := a.publish(ctx, typ, data); err != nil {
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
		missing := a.forget(id)
		err = fmt.Errorf("%w: %s: %d of %d responses", ErrTimeout, requestName(typ), expect-missing, expect)
	case <-ctx.Done():
		a.forget(id)
		err = ctx.Err()
	}
	select {
	case <-p.done:
		return p, p.err
	default:
	}
	return p, err
}

// forget removes a pending request and returns the number of answers it
// still missed.
func (a *Adapter) forget(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.requests[id]
	if p == nil {
		return 0
	}
	delete(a.requests, id)
	return len(p.missing)
}

func requestName(t int) string {
	switch t {
	case cw.TypeFetchSockets:
		return "fetchSockets"
	case cw.TypeServerSideEmit:
		return "serverSideEmit"
	}
	return fmt.Sprintf("request type %d", t)
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
// node. On a timeout the sockets gathered so far are returned with an
// error wrapping ErrTimeout; when PostgreSQL cannot be reached, the local
// ones with that error. The wait is opts.Flags.Timeout, or
// Options.RequestsTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local := a.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	id := newID()
	d := &jsvalue.Object{}
	d.Set("opts", cw.OptsTree(opts))
	d.Set("requestId", id)
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.opts.RequestsTimeout
	}
	p, err := a.ask(ctx, cw.TypeFetchSockets, id, d, timeout)
	if p != nil {
		local = append(local, p.sockets...)
	}
	return local, err
}

// onFetchSockets answers the fetchSockets request of another node.
func (a *Adapter) onFetchSockets(m *message) {
	id, _ := m.data.GetString("requestId")
	o, _ := m.data.Get("opts")
	opts := cw.TreeOpts(o)
	opts.Flags = adapter.Flags{}
	sockets := cw.SocketsTree(a.FetchLocal(opts), a.SocketRooms, func(sid string, err error) {
		a.log.Warn("pgadapter: socket data cannot be sent to other nodes", "id", sid, "err", err)
	})
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("sockets", sockets)
	a.respond(cw.TypeFetchSocketsResponse, d)
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
	return a.publish(ctx, cw.TypeServerSideEmit, d)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from each
// other node, for Options.RequestsTimeout at most. On a timeout the answers
// received so far are returned with an error wrapping ErrTimeout.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, args ...any) ([]json.RawMessage, error) {
	packet, err := serverSidePacket(args)
	if err != nil {
		return nil, err
	}
	id := newID()
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("packet", packet)
	p, err := a.ask(ctx, cw.TypeServerSideEmit, id, d, a.opts.RequestsTimeout)
	if p == nil {
		return nil, err
	}
	return p.responses, err
}

func serverSidePacket(args []any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("pgadapter: ServerSideEmit needs an event name")
	}
	if _, ok := args[0].(string); !ok {
		return nil, fmt.Errorf("pgadapter: ServerSideEmit: event name is a %T, not a string", args[0])
	}
	tree, err := cw.JSONTree(args)
	if err != nil {
		return nil, fmt.Errorf("pgadapter: ServerSideEmit arguments: %w", err)
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
				tree, err := cw.JSONTree(v)
				if err != nil {
					a.log.Warn("pgadapter: cannot encode server-side ack", "err", err)
					return
				}
				d := &jsvalue.Object{}
				d.Set("requestId", id)
				d.Set("packet", tree)
				a.respond(cw.TypeServerSideEmitResponse, d)
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
// broadcastWithAck): the other nodes relay their client counts and the
// acknowledgements until opts.Flags.Timeout (default
// Options.RequestsTimeout). onClientCount is called once per node that
// delivered it, this one included; onAck once per acknowledgement, from
// any goroutine. A failure to send the packet is logged.
func (a *Adapter) BroadcastWithAck(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions, onClientCount func(n int), onAck func(ack adapter.Ack)) error {
	if !opts.Flags.Local {
		id := newID()
		d, err := cw.BroadcastData(pkt, opts, id)
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
		_ = a.publish(ctx, cw.TypeBroadcast, d)
	}
	onClientCount(a.BroadcastLocalWithAck(pkt, opts, onAck))
	return nil
}

// onAckBroadcast delivers a broadcast of another node that expects
// acknowledgements, and relays the client count and the acknowledgements.
func (a *Adapter) onAckBroadcast(id string, pkt *adapter.Packet, opts adapter.BroadcastOptions) {
	n := a.BroadcastLocalWithAck(pkt, opts, func(ack adapter.Ack) {
		var first any
		if args, err := parser.SplitArray(ack.Args); err == nil && len(args) > 0 {
			first, err = jsvalue.FromJSON(args[0], ack.Attachments)
			if err != nil {
				a.log.Warn("pgadapter: cannot encode acknowledgement", "err", err)
				return
			}
		}
		d := &jsvalue.Object{}
		d.Set("requestId", id)
		d.Set("packet", first)
		a.respond(cw.TypeBroadcastAck, d)
	})
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("clientCount", int64(n))
	a.respond(cw.TypeBroadcastClientCount, d)
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
	case cw.TypeBroadcastClientCount:
		if ar != nil {
			v, _ := m.data.Get("clientCount")
			if n, ok := integer(v); ok {
				ar.onClientCount(int(n))
			}
		}
		return
	case cw.TypeBroadcastAck:
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
	var (
		sockets []adapter.SocketInfo
		resp    json.RawMessage
	)
	switch m.typ {
	case cw.TypeFetchSocketsResponse:
		list, _ := cw.Get[[]any](m.data, "sockets")
		sockets = cw.TreeSockets(list, a.opts.DecodeData, func(sid string, err error) {
			a.log.Warn("pgadapter: cannot decode socket data", "id", sid, "err", err)
		})
	case cw.TypeServerSideEmitResponse:
		v, _ := m.data.Get("packet")
		resp, _ = cw.TreeJSON(v)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.requests[id] != p {
		return // timed out meanwhile
	}
	if _, ok := p.missing[m.uid]; !ok {
		return // not asked, or answered already
	}
	delete(p.missing, m.uid)
	p.sockets = append(p.sockets, sockets...)
	if m.typ == cw.TypeServerSideEmitResponse {
		p.responses = append(p.responses, resp)
	}
	if len(p.missing) == 0 {
		delete(a.requests, id)
		close(p.done)
	}
}

// requestOf returns the request type a response type answers.
func requestOf(resp int) int {
	switch resp {
	case cw.TypeFetchSocketsResponse:
		return cw.TypeFetchSockets
	case cw.TypeServerSideEmitResponse:
		return cw.TypeServerSideEmit
	}
	return -1
}
