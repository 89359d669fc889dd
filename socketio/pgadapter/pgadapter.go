package pgadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterreq"
	cw "github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// ErrTimeout is wrapped by the error of a request whose answers did not all
// arrive in time.
var ErrTimeout = errors.New("pgadapter: timeout reached while waiting for responses")

// ErrRecovery is returned by EnableRecovery: the reference adapter keeps
// no packets for connection state recovery, and neither does this one.
var ErrRecovery = fmt.Errorf("pgadapter: %w: packets are not kept across nodes", adapter.ErrRecoveryUnsupported)

// Adapter is the adapter of one namespace on one node of a cluster. It
// keeps the rooms of the local sockets in the embedded *adapter.Memory and
// reaches the other nodes through the namespace's NOTIFY channel.
type Adapter struct {
	*adapter.Memory

	c       *cluster
	opts    Options
	log     *slog.Logger
	uid     string
	nsp     string
	channel string

	ready     chan struct{} // closed once the channel is LISTENed to
	readyOnce sync.Once
	kick      chan struct{} // a message was published: heartbeat later
	beatNow   chan struct{} // answer an initial heartbeat
	ctx       context.Context
	stop      context.CancelFunc
	runDone   chan struct{}

	dmu    sync.RWMutex // held (read) while a message is handled
	closed atomic.Bool

	mu    sync.Mutex           // guards nodes and the state of req
	nodes map[string]time.Time // other nodes, by uid: last message
	req   *clusterreq.Core
}

var _ adapter.Adapter = (*Adapter)(nil)

func (c *cluster) newAdapter(e adapter.Emitter) *Adapter {
	nsp := e.Name()
	a := &Adapter{
		Memory:  adapter.NewMemory(e),
		c:       c,
		opts:    c.opts,
		log:     c.opts.Logger.With("nsp", nsp),
		uid:     newID(),
		nsp:     nsp,
		channel: c.opts.channelOf(nsp),
		ready:   make(chan struct{}),
		kick:    make(chan struct{}, 1),
		beatNow: make(chan struct{}, 1),
		runDone: make(chan struct{}),
		nodes:   make(map[string]time.Time),
	}
	a.req = a.newRequests()
	a.ctx, a.stop = context.WithCancel(context.Background())
	go a.run()
	c.join(a)
	return a
}

// newID returns a random id for nodes and requests, as the reference's.
var newID = clusterreq.NewID

// UID returns the id of this node's adapter in the messages it sends.
func (a *Adapter) UID() string { return a.uid }

// Channel returns the NOTIFY channel of the namespace.
func (a *Adapter) Channel() string { return a.channel }

// Ready is closed once the adapter receives what the other nodes send
// (its channel is LISTENed to) and it has announced itself to them.
func (a *Adapter) Ready() <-chan struct{} { return a.ready }

// markReady is called by the listener once the channel is LISTENed to.
func (a *Adapter) markReady() {
	a.readyOnce.Do(func() {
		select {
		case a.beatNow <- struct{}{}:
		default:
		}
	})
}

func (a *Adapter) isClosed() bool { return a.closed.Load() }

// run sends the heartbeats and forgets the nodes that went silent.
func (a *Adapter) run() {
	defer close(a.runDone)
	beat := time.NewTimer(a.opts.HeartbeatInterval)
	defer beat.Stop()
	prune := time.NewTicker(min(time.Second, a.opts.HeartbeatTimeout/4))
	defer prune.Stop()
	initial := true
	for {
		select {
		case <-a.ctx.Done():
			if initial {
				close(a.ready)
			}
			return
		case <-a.kick:
			beat.Reset(a.opts.HeartbeatInterval)
			continue
		case <-a.beatNow:
			typ := cw.TypeHeartbeat
			if initial {
				typ, initial = cw.TypeInitialHeartbeat, false
			}
			_ = a.publish(a.ctx, typ, nil)
			if typ == cw.TypeInitialHeartbeat {
				close(a.ready)
			}
		case <-beat.C:
			_ = a.publish(a.ctx, cw.TypeHeartbeat, nil)
		case <-prune.C:
			a.pruneNodes()
		}
	}
}

// pruneNodes forgets the nodes silent for longer than HeartbeatTimeout.
func (a *Adapter) pruneNodes() {
	now := time.Now()
	a.mu.Lock()
	var gone []string
	for uid, seen := range a.nodes {
		if now.Sub(seen) > a.opts.HeartbeatTimeout {
			gone = append(gone, uid)
		}
	}
	a.mu.Unlock()
	for _, uid := range gone {
		a.removeNode(uid)
	}
}

// removeNode forgets a node, completing the requests that waited for it
// alone.
func (a *Adapter) removeNode(uid string) {
	a.mu.Lock()
	delete(a.nodes, uid)
	a.mu.Unlock()
	a.req.NodeGone(uid)
}

// publish sends a message of this adapter.
func (a *Adapter) publish(ctx context.Context, typ int, data *jsvalue.Object) error {
	select {
	case a.kick <- struct{}{}:
	default:
	}
	return a.c.publish(ctx, &message{uid: a.uid, nsp: a.nsp, typ: typ, data: data})
}

// respond publishes an answer (on the namespace's channel, as the
// reference: the request id designates the requester).
func (a *Adapter) respond(typ int, data *jsvalue.Object) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	_ = a.publish(ctx, typ, data)
}

// onMessage handles a message of another node (on the listener's
// goroutine).
func (a *Adapter) onMessage(m *message) {
	a.dmu.RLock()
	defer a.dmu.RUnlock()
	if a.isClosed() || m.uid == a.uid || m.nsp != a.nsp {
		return
	}
	if m.uid != "" && m.uid != uidEmitter {
		a.mu.Lock()
		a.nodes[m.uid] = time.Now()
		a.mu.Unlock()
	}
	switch m.typ {
	case cw.TypeInitialHeartbeat:
		select {
		case a.beatNow <- struct{}{}:
		default:
		}
		return
	case cw.TypeHeartbeat:
		return
	case cw.TypeAdapterClose:
		a.removeNode(m.uid)
		return
	}
	if m.data == nil {
		return
	}
	ctx := context.Background()
	switch m.typ {
	case cw.TypeBroadcast:
		p, _ := m.data.Get("packet")
		pkt, err := cw.TreePacket(p, m.nsp)
		if err != nil {
			a.log.Debug("pgadapter: ignoring malformed broadcast", "err", err)
			return
		}
		o, _ := m.data.Get("opts")
		opts := cw.TreeOpts(o)
		opts.Flags.Local = true
		if id, ok := m.data.GetString("requestId"); ok {
			a.req.OnAckBroadcast(m.uid, id, pkt, opts)
			return
		}
		a.BroadcastLocal(pkt, opts)
	case cw.TypeSocketsJoin:
		o, _ := m.data.Get("opts")
		_ = a.Memory.AddSockets(ctx, cw.TreeOpts(o), cw.StringList(m.data, "rooms"))
	case cw.TypeSocketsLeave:
		o, _ := m.data.Get("opts")
		_ = a.Memory.DelSockets(ctx, cw.TreeOpts(o), cw.StringList(m.data, "rooms"))
	case cw.TypeDisconnectSockets:
		o, _ := m.data.Get("opts")
		_ = a.Memory.DisconnectSockets(ctx, cw.TreeOpts(o), cw.Truthy(m.data, "close"))
	case cw.TypeFetchSockets:
		a.req.OnFetchSockets(m.uid, m.data)
	case cw.TypeServerSideEmit:
		a.req.OnServerSideEmit(m.uid, m.data)
	case cw.TypeFetchSocketsResponse, cw.TypeServerSideEmitResponse, cw.TypeBroadcastClientCount, cw.TypeBroadcastAck:
		a.req.OnResponse(m.uid, m.typ, m.data)
	}
}

// Broadcast implements adapter.Adapter: it delivers pkt to the selected
// local sockets, then sends it to the other nodes unless opts.Flags.Local
// is set. A failure to send it is logged, not returned; only a packet
// that cannot be encoded is an error.
func (a *Adapter) Broadcast(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions) error {
	if opts.Flags.Local || a.isClosed() {
		a.BroadcastLocal(pkt, opts)
		return nil
	}
	d, err := cw.BroadcastData(pkt, opts, "")
	if err != nil {
		return err
	}
	a.BroadcastLocal(pkt, opts)
	_ = a.publish(ctx, cw.TypeBroadcast, d)
	return nil
}

// AddSockets implements adapter.Adapter: the selected local sockets join
// the rooms at once, and the request goes to the other nodes. A failure to
// send it is returned.
func (a *Adapter) AddSockets(ctx context.Context, opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.AddSockets(ctx, opts, rooms)
	return a.sendRequest(ctx, cw.TypeSocketsJoin, opts, "rooms", cw.NonNil(rooms))
}

// DelSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DelSockets(ctx context.Context, opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.DelSockets(ctx, opts, rooms)
	return a.sendRequest(ctx, cw.TypeSocketsLeave, opts, "rooms", cw.NonNil(rooms))
}

// DisconnectSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DisconnectSockets(ctx context.Context, opts adapter.BroadcastOptions, close bool) error {
	_ = a.Memory.DisconnectSockets(ctx, opts, close)
	return a.sendRequest(ctx, cw.TypeDisconnectSockets, opts, "close", close)
}

func (a *Adapter) sendRequest(ctx context.Context, typ int, opts adapter.BroadcastOptions, key string, v any) error {
	if opts.Flags.Local {
		return nil
	}
	if a.isClosed() {
		return adapter.ErrClosed
	}
	d := &jsvalue.Object{}
	d.Set("opts", cw.OptsTree(opts))
	d.Set(key, v)
	return a.publish(ctx, typ, d)
}

// ServerCount implements adapter.Adapter as the reference does: this node
// and the others heard from within HeartbeatTimeout.
func (a *Adapter) ServerCount(context.Context) (int, error) {
	if a.isClosed() {
		return 0, adapter.ErrClosed
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return 1 + len(a.nodes), nil
}

// EnableRecovery implements adapter.Adapter by refusing with ErrRecovery.
func (a *Adapter) EnableRecovery(time.Duration) error { return ErrRecovery }

// Close implements adapter.Adapter: it tells the other nodes that this
// one leaves, stops the heartbeats (and the listening connection when no
// other adapter of the Factory uses it), and fails the requests still
// waiting with adapter.ErrClosed. Once it has returned, the adapter calls
// its Emitter no more. The pool stays open.
func (a *Adapter) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	_ = a.c.publish(ctx, &message{uid: a.uid, nsp: a.nsp, typ: cw.TypeAdapterClose})
	cancel()
	a.stop()
	<-a.runDone
	a.req.Close()
	a.dmu.Lock()
	a.dmu.Unlock() //nolint:staticcheck // waits for the handlers under way
	a.c.leave(a)
	return nil
}
