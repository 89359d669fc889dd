// Package clusterreq holds the requests of socket.io-adapter's
// ClusterAdapter that wait for the answers of the other nodes, which the
// cluster adapters share: fetchSockets, serverSideEmit with an
// acknowledgement and broadcasts with acknowledgements, their answers,
// their timeouts and the counting of the nodes that owe one.
//
// An adapter keeps its transport: it tells a Core how to publish a
// message to every node and how to answer one node, and hands it the
// requests and answers of the other nodes that it receives.
package clusterreq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	cw "github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// Config tells a Core about its adapter.
type Config struct {
	// Name prefixes the log messages and errors ("pgadapter").
	Name string
	// Memory is the adapter's local part.
	Memory *adapter.Memory
	// Log receives the warnings.
	Log *slog.Logger
	// Mu guards the Core's requests; the adapter may guard its own state
	// with it too (Nodes is called with it held).
	Mu *sync.Mutex
	// Closed reports whether the adapter is closed.
	Closed func() bool
	// Timeout is the wait of a request whose options give none
	// (Options.RequestsTimeout).
	Timeout time.Duration
	// ErrTimeout is wrapped by the error of a request that timed out.
	ErrTimeout error
	// DecodeData decodes the data of a remote socket.
	DecodeData func(json.RawMessage) (any, error)

	// Publish sends a message of this node to all the others.
	Publish func(ctx context.Context, typ int, data *jsvalue.Object) error
	// Respond sends an answer to the node whose uid is requester.
	Respond func(requester string, typ int, data *jsvalue.Object)

	// Exactly one of Nodes and Count tells which nodes a request waits
	// for. Nodes, called with Mu held, returns their uids: an answer
	// counts once per node asked, and NodeGone stops the wait for a node.
	// Count, called without it, returns their number (an error is
	// returned by the request): every answer counts.
	Nodes func() []string
	Count func(ctx context.Context) (int, error)
}

// Core runs the requests of one adapter.
type Core struct {
	cfg      Config
	requests map[string]*pending    // by request id, under cfg.Mu
	acks     map[string]*ackRequest // by request id, under cfg.Mu
}

// New returns the Core of an adapter.
func New(cfg Config) *Core {
	return &Core{cfg: cfg, requests: make(map[string]*pending), acks: make(map[string]*ackRequest)}
}

// pending is a request waiting for the answers of the other nodes. Its
// fields are written under Config.Mu while it is in Core.requests; once
// removed from there it is read by the requester alone.
type pending struct {
	typ     int
	expect  int
	got     int
	missing map[string]struct{} // nodes yet to answer, with Config.Nodes
	done    chan struct{}
	err     error

	sockets   []adapter.SocketInfo
	responses []json.RawMessage
}

// ackRequest is a broadcast of this node whose acknowledgements other nodes
// relay.
type ackRequest struct {
	onClientCount func(n int)
	onAck         func(ack adapter.Ack)
	timer         *time.Timer
}

// NewID returns a random id for nodes and requests, as the reference's.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (c *Core) timeout(opts adapter.BroadcastOptions) time.Duration {
	if opts.Flags.Timeout > 0 {
		return opts.Flags.Timeout
	}
	return c.cfg.Timeout
}

// ask sends a request to the other nodes and waits for the answer of each
// (or for its leaving, with Config.Nodes), timeout or the end of ctx. It
// returns nil and no error when there is no other node, nil and the error
// when the request could not be sent.
func (c *Core) ask(ctx context.Context, typ int, id string, data *jsvalue.Object, timeout time.Duration) (*pending, error) {
	p := &pending{typ: typ, done: make(chan struct{})}
	if c.cfg.Count != nil {
		n, err := c.cfg.Count(ctx)
		if err != nil || n <= 0 {
			return nil, err
		}
		p.expect = n
	}
	c.cfg.Mu.Lock()
	if c.cfg.Closed() {
		c.cfg.Mu.Unlock()
		return nil, adapter.ErrClosed
	}
	if c.cfg.Nodes != nil {
		p.missing = make(map[string]struct{})
		for _, uid := range c.cfg.Nodes() {
			p.missing[uid] = struct{}{}
		}
		p.expect = len(p.missing)
	}
	if p.expect == 0 {
		c.cfg.Mu.Unlock()
		return nil, nil
	}
	c.requests[id] = p
	c.cfg.Mu.Unlock()

	if err := c.cfg.Publish(ctx, typ, data); err != nil {
		c.forget(id)
		return nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-p.done:
		return p, p.err
	case <-timer.C:
		err = fmt.Errorf("%w: %s: %d of %d responses", c.cfg.ErrTimeout, requestName(typ), c.forget(id), p.expect)
	case <-ctx.Done():
		c.forget(id)
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
// received (with Config.Nodes, of the nodes asked that answered or left).
func (c *Core) forget(id string) int {
	c.cfg.Mu.Lock()
	defer c.cfg.Mu.Unlock()
	p := c.requests[id]
	if p == nil {
		return 0
	}
	delete(c.requests, id)
	if p.missing != nil {
		return p.expect - len(p.missing)
	}
	return p.got
}

// complete reports whether p has all its answers.
func (p *pending) complete() bool {
	if p.missing != nil {
		return len(p.missing) == 0
	}
	return p.got >= p.expect
}

// NodeGone stops the wait of the requests for the node uid (with
// Config.Nodes), completing those that waited for it alone. It takes
// Config.Mu; the adapter calls it once the node is no more among Nodes.
func (c *Core) NodeGone(uid string) {
	c.cfg.Mu.Lock()
	defer c.cfg.Mu.Unlock()
	for id, p := range c.requests {
		if _, ok := p.missing[uid]; !ok {
			continue
		}
		delete(p.missing, uid)
		if p.complete() {
			delete(c.requests, id)
			close(p.done)
		}
	}
}

// Close fails the requests still waiting with adapter.ErrClosed and stops
// waiting for acknowledgements. It takes Config.Mu.
func (c *Core) Close() {
	c.cfg.Mu.Lock()
	defer c.cfg.Mu.Unlock()
	for id, p := range c.requests {
		delete(c.requests, id)
		p.err = adapter.ErrClosed
		close(p.done)
	}
	for id, ar := range c.acks {
		delete(c.acks, id)
		ar.timer.Stop()
	}
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

// Sockets returns the ids of the selected sockets of every node (through
// fetchSockets, as the reference has no request for ids alone).
func (c *Core) Sockets(ctx context.Context, opts adapter.BroadcastOptions) ([]string, error) {
	if opts.Flags.Local {
		return c.cfg.Memory.Sockets(ctx, opts)
	}
	infos, err := c.FetchSockets(ctx, opts)
	ids := make([]string, 0, len(infos))
	for _, in := range infos {
		ids = append(ids, in.ID)
	}
	return ids, err
}

// FetchSockets returns the selected sockets of every node. On a timeout
// the sockets gathered so far (the local ones and those of the nodes that
// answered) are returned with an error wrapping Config.ErrTimeout; when
// the request cannot be sent, the local ones with that error. The wait is
// opts.Flags.Timeout, or Config.Timeout.
func (c *Core) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local := c.cfg.Memory.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	id := NewID()
	d := &jsvalue.Object{}
	d.Set("opts", cw.OptsTree(opts))
	d.Set("requestId", id)
	p, err := c.ask(ctx, cw.TypeFetchSockets, id, d, c.timeout(opts))
	if p != nil {
		local = append(local, p.sockets...)
	}
	return local, err
}

// OnFetchSockets answers the fetchSockets request of the node requester.
func (c *Core) OnFetchSockets(requester string, data *jsvalue.Object) {
	id, _ := data.GetString("requestId")
	o, _ := data.Get("opts")
	opts := cw.TreeOpts(o)
	opts.Flags = adapter.Flags{}
	sockets := cw.SocketsTree(c.cfg.Memory.FetchLocal(opts), c.cfg.Memory.SocketRooms, func(sid string, err error) {
		c.cfg.Log.Warn(c.cfg.Name+": socket data cannot be sent to other nodes", "id", sid, "err", err)
	})
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("sockets", sockets)
	c.cfg.Respond(requester, cw.TypeFetchSocketsResponse, d)
}

// ServerSideEmit sends an event to the other nodes (the reference's
// serverSideEmit): args holds the event name then its arguments, which
// must marshal to JSON.
func (c *Core) ServerSideEmit(ctx context.Context, args ...any) error {
	packet, err := c.serverSidePacket(args)
	if err != nil {
		return err
	}
	if c.cfg.Closed() {
		return adapter.ErrClosed
	}
	d := &jsvalue.Object{}
	d.Set("packet", packet)
	return c.cfg.Publish(ctx, cw.TypeServerSideEmit, d)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from each
// other node, for Config.Timeout at most. On a timeout the answers
// received so far are returned with an error wrapping Config.ErrTimeout.
func (c *Core) ServerSideEmitWithAck(ctx context.Context, args ...any) ([]json.RawMessage, error) {
	packet, err := c.serverSidePacket(args)
	if err != nil {
		return nil, err
	}
	id := NewID()
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("packet", packet)
	p, err := c.ask(ctx, cw.TypeServerSideEmit, id, d, c.cfg.Timeout)
	if p == nil {
		return nil, err
	}
	return p.responses, err
}

func (c *Core) serverSidePacket(args []any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New(c.cfg.Name + ": ServerSideEmit needs an event name")
	}
	if _, ok := args[0].(string); !ok {
		return nil, fmt.Errorf("%s: ServerSideEmit: event name is a %T, not a string", c.cfg.Name, args[0])
	}
	tree, err := cw.JSONTree(args)
	if err != nil {
		return nil, fmt.Errorf("%s: ServerSideEmit arguments: %w", c.cfg.Name, err)
	}
	return tree, nil
}

// OnServerSideEmit hands an event of the node requester to the namespace.
func (c *Core) OnServerSideEmit(requester string, data *jsvalue.Object) {
	p, _ := data.Get("packet")
	args, err := SplitArgs(p)
	if err != nil || len(args) == 0 {
		return
	}
	var ack func(any)
	if id, ok := data.GetString("requestId"); ok {
		var once sync.Once
		ack = func(v any) {
			once.Do(func() {
				tree, err := cw.JSONTree(v)
				if err != nil {
					c.cfg.Log.Warn(c.cfg.Name+": cannot encode server-side ack", "err", err)
					return
				}
				d := &jsvalue.Object{}
				d.Set("requestId", id)
				d.Set("packet", tree)
				c.cfg.Respond(requester, cw.TypeServerSideEmitResponse, d)
			})
		}
	}
	c.cfg.Memory.Emitter().ReceiveServerSideEmit(args, ack)
}

// SplitArgs splits the JSON array of a value tree.
func SplitArgs(v any) ([]json.RawMessage, error) {
	text, err := cw.TreeJSON(v)
	if err != nil {
		return nil, err
	}
	return parser.SplitArray(text)
}

// BroadcastWithAck delivers pkt to the selected sockets (the reference's
// broadcastWithAck): the other nodes relay their client counts and the
// acknowledgements until opts.Flags.Timeout (default Config.Timeout).
// onClientCount is called once per node that delivered it, this one
// included; onAck once per acknowledgement, from any goroutine. A failure
// to publish the packet is not returned (Config.Publish logs it).
func (c *Core) BroadcastWithAck(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions, onClientCount func(n int), onAck func(ack adapter.Ack)) error {
	if !opts.Flags.Local {
		id := NewID()
		d, err := cw.BroadcastData(pkt, opts, id)
		if err != nil {
			return err
		}
		timeout := c.timeout(opts)
		ar := &ackRequest{onClientCount: onClientCount, onAck: onAck}
		c.cfg.Mu.Lock()
		if c.cfg.Closed() {
			c.cfg.Mu.Unlock()
			return adapter.ErrClosed
		}
		c.acks[id] = ar
		ar.timer = time.AfterFunc(timeout, func() {
			c.cfg.Mu.Lock()
			delete(c.acks, id)
			c.cfg.Mu.Unlock()
		})
		c.cfg.Mu.Unlock()
		_ = c.cfg.Publish(ctx, cw.TypeBroadcast, d)
	}
	onClientCount(c.cfg.Memory.BroadcastLocalWithAck(pkt, opts, onAck))
	return nil
}

// OnAckBroadcast delivers a broadcast of the node requester that expects
// acknowledgements (request id), and relays the client count and the
// acknowledgements.
func (c *Core) OnAckBroadcast(requester, id string, pkt *adapter.Packet, opts adapter.BroadcastOptions) {
	n := c.cfg.Memory.BroadcastLocalWithAck(pkt, opts, func(ack adapter.Ack) {
		var first any
		if args, err := parser.SplitArray(ack.Args); err == nil && len(args) > 0 {
			first, err = jsvalue.FromJSON(args[0], ack.Attachments)
			if err != nil {
				c.cfg.Log.Warn(c.cfg.Name+": cannot encode acknowledgement", "err", err)
				return
			}
		}
		d := &jsvalue.Object{}
		d.Set("requestId", id)
		d.Set("packet", first)
		c.cfg.Respond(requester, cw.TypeBroadcastAck, d)
	})
	d := &jsvalue.Object{}
	d.Set("requestId", id)
	d.Set("clientCount", int64(n))
	c.cfg.Respond(requester, cw.TypeBroadcastClientCount, d)
}

// IsResponse reports whether messages of type typ are answers, for
// OnResponse.
func IsResponse(typ int) bool {
	switch typ {
	case cw.TypeFetchSocketsResponse, cw.TypeServerSideEmitResponse, cw.TypeBroadcastClientCount, cw.TypeBroadcastAck:
		return true
	}
	return false
}

// OnResponse records an answer of the node from to one of this node's
// requests.
func (c *Core) OnResponse(from string, typ int, data *jsvalue.Object) {
	id, _ := data.GetString("requestId")
	if id == "" {
		return
	}
	c.cfg.Mu.Lock()
	ar := c.acks[id]
	p := c.requests[id]
	c.cfg.Mu.Unlock()
	switch typ {
	case cw.TypeBroadcastClientCount:
		if ar != nil {
			v, _ := data.Get("clientCount")
			if n, ok := cw.Integer(v); ok {
				ar.onClientCount(int(n))
			}
		}
		return
	case cw.TypeBroadcastAck:
		if ar != nil {
			v, _ := data.Get("packet")
			text, atts, err := jsvalue.JSON([]any{v})
			if err == nil {
				ar.onAck(adapter.Ack{Args: text, Attachments: atts})
			}
		}
		return
	}
	if p == nil || p.typ != requestOf(typ) {
		return
	}
	// Decode outside the lock (DecodeData is the application's code).
	var (
		sockets []adapter.SocketInfo
		resp    json.RawMessage
	)
	switch typ {
	case cw.TypeFetchSocketsResponse:
		list, _ := cw.Get[[]any](data, "sockets")
		sockets = cw.TreeSockets(list, c.cfg.DecodeData, func(sid string, err error) {
			c.cfg.Log.Warn(c.cfg.Name+": cannot decode socket data", "id", sid, "err", err)
		})
	case cw.TypeServerSideEmitResponse:
		v, _ := data.Get("packet")
		resp, _ = cw.TreeJSON(v)
	}
	c.cfg.Mu.Lock()
	defer c.cfg.Mu.Unlock()
	if c.requests[id] != p {
		return // timed out meanwhile
	}
	if p.missing != nil {
		if _, ok := p.missing[from]; !ok {
			return // not asked, or answered already
		}
		delete(p.missing, from)
	}
	p.sockets = append(p.sockets, sockets...)
	if typ == cw.TypeServerSideEmitResponse {
		p.responses = append(p.responses, resp)
	}
	p.got++
	if p.complete() {
		delete(c.requests, id)
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
