package redisstreams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/groupsend"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterreq"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/internal/lograte"
	"github.com/chatd/chatd/socketio/redisadapter"
)

// cluster is what the adapters of one Factory share: the Redis client,
// the options and one reader per stream.
type cluster struct {
	rdb  redis.UniversalClient
	opts Options
	ps   *redisadapter.RedisPubSub

	mu       sync.Mutex
	adapters map[string]map[*Adapter]struct{} // by namespace
	readers  map[string]*reader               // by stream

	adds groupsend.Queue[*addReq] // the XADDs of every adapter (xadd)
}

// newCluster returns the state the adapters of one Factory share.
func newCluster(rdb redis.UniversalClient, opts Options) *cluster {
	c := &cluster{
		rdb:      rdb,
		opts:     opts,
		ps:       redisadapter.NewRedisPubSub(rdb, opts.Logger),
		adapters: make(map[string]map[*Adapter]struct{}),
		readers:  make(map[string]*reader),
	}
	c.adds.Max, c.adds.Send = maxAddBatch, c.sendAdds
	return c
}

// New returns a Factory of adapters sharing rooms, broadcasts and sessions
// through the Redis Streams of rdb, for socketio.Options.Adapter. The
// client stays the caller's: close it after the server. Give each server
// a Factory of its own.
func New(rdb redis.UniversalClient, opts Options) adapter.Factory {
	opts = opts.withDefaults()
	c := newCluster(rdb, opts)
	return func(e adapter.Emitter) adapter.Adapter { return c.newAdapter(e) }
}

// adaptersOf returns the adapters of namespace nsp reading stream.
func (c *cluster) adaptersOf(stream, nsp string) []*Adapter {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Adapter
	for a := range c.adapters[nsp] {
		if a.stream == stream {
			out = append(out, a)
		}
	}
	return out
}

// join registers a and returns the reader of its stream, started if
// needed.
func (c *cluster) join(a *Adapter) *reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	set := c.adapters[a.nsp]
	if set == nil {
		set = make(map[*Adapter]struct{})
		c.adapters[a.nsp] = set
	}
	set[a] = struct{}{}
	r := c.readers[a.stream]
	if r == nil {
		r = newReader(c, a.stream)
		c.readers[a.stream] = r
	}
	r.refs++
	return r
}

// leave unregisters a, stopping the reader of its stream when a was its
// last adapter.
func (c *cluster) leave(a *Adapter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if set := c.adapters[a.nsp]; set != nil {
		delete(set, a)
		if len(set) == 0 {
			delete(c.adapters, a.nsp)
		}
	}
	if r := c.readers[a.stream]; r != nil {
		r.refs--
		if r.refs == 0 {
			r.stop()
			delete(c.readers, a.stream)
		}
	}
}

// Adapter is the adapter of one namespace on one node of a cluster. It
// keeps the rooms of the local sockets in the embedded *adapter.Memory and
// reaches the other nodes through the stream and the channels of the
// namespace.
type Adapter struct {
	*adapter.Memory

	c      *cluster
	r      *reader
	opts   Options
	log    *slog.Logger
	uid    string
	nsp    string
	stream string

	publicChannel  string // "<prefix>#<nsp>#"
	privateChannel string // "<prefix>#<nsp>#<uid>#"

	sub redisadapter.Subscription

	ready chan struct{}      // closed by watchReady
	ctx   context.Context    // ends when the adapter closes
	stop  context.CancelFunc // ends ctx

	// dmu is held, for reading, while a message is handled; Close takes
	// it to wait for the handling under way.
	dmu    sync.RWMutex
	closed atomic.Bool

	mu      sync.Mutex          // guards what follows and the state of req
	req     *clusterreq.Core    // fetchSockets, serverSideEmit, broadcasts with acks
	window  time.Duration       // connection state recovery; 0: off
	offsets map[string]struct{} // offsets of StorePacket awaiting their Broadcast
	fences  map[string]*fence   // restored sockets the reader must leave out
	seen    streamID            // the last broadcast the reader chose recipients for

	// directMu is held while a broadcast that this node delivers itself
	// (its reader not reading) is added to the stream, and by the reader
	// when it meets one of the node's own broadcasts: direct holds the
	// ids of those it must skip.
	directMu sync.Mutex
	direct   map[streamID]struct{}

	// ownMu guards own: the broadcasts of this adapter on their way
	// through the stream, by the data text of their entries (holdOwn).
	ownMu sync.Mutex
	own   map[string]*ownBroadcast

	errs lograte.Limiter
}

var _ adapter.Adapter = (*Adapter)(nil)

func (c *cluster) newAdapter(e adapter.Emitter) *Adapter {
	nsp := e.Name()
	a := &Adapter{
		Memory:        adapter.NewMemory(e),
		c:             c,
		opts:          c.opts,
		log:           c.opts.Logger.With("nsp", nsp),
		uid:           newID(),
		nsp:           nsp,
		stream:        c.opts.streamOf(nsp),
		publicChannel: c.opts.ChannelPrefix + "#" + nsp + "#",
	}
	a.req = a.newRequests()
	a.privateChannel = a.publicChannel + a.uid + "#"
	a.ready = make(chan struct{})
	a.ctx, a.stop = context.WithCancel(context.Background())
	a.sub = c.ps.Subscribe([]string{a.publicChannel, a.privateChannel}, nil, a.onChannelMessage)
	a.r = c.join(a)
	go a.watchReady()
	return a
}

// watchReady closes a.ready once the subscription is confirmed and the
// reader knows where it reads from, or when the adapter closes.
func (a *Adapter) watchReady() {
	defer close(a.ready)
	select {
	case <-a.sub.Ready():
	case <-a.ctx.Done():
		return
	}
	a.r.waitUntil(a.ctx, -1, func(_ streamID, started bool) bool { return started })
}

// NewAdapter returns the adapter of namespace e on rdb, as the Factory of
// New makes it, with a reader of its own.
func NewAdapter(e adapter.Emitter, rdb redis.UniversalClient, opts Options) *Adapter {
	return New(rdb, opts)(e).(*Adapter)
}

// UID returns the id of this node's adapter in the messages it sends.
func (a *Adapter) UID() string { return a.uid }

// Stream returns the name of the stream of the namespace.
func (a *Adapter) Stream() string { return a.stream }

// Ready is closed when the adapter receives what the other nodes send:
// its channels are subscribed and its stream reader knows where to read
// from (or when the adapter is closed first).
func (a *Adapter) Ready() <-chan struct{} { return a.ready }

// newID returns a random id for nodes and requests, as the reference's.
var newID = clusterreq.NewID

func (a *Adapter) isClosed() bool { return a.closed.Load() }

func (a *Adapter) recovering() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.window > 0
}

// Broadcast implements adapter.Adapter.
//
// Without connection state recovery it delivers pkt to the selected local
// sockets, then adds it to the stream for the other nodes (unless
// opts.Flags.Local is set); a failure to add it is logged, not returned.
//
// With recovery, the packet is added to the stream first and delivered to
// the local sockets by the stream reader, with the entry id as its offset,
// so that the sockets of every node see the broadcasts of all nodes in one
// order, the stream's: Broadcast returns once that is done (or after
// Options.RequestsTimeout). When the stream cannot be written to, or is
// not being read (Redis has been unreachable since the adapter started),
// the packet is delivered to the local sockets at once, without offset, as
// the reference does when it cannot write.
//
// Only a packet that cannot be encoded is an error; then nothing is
// delivered.
func (a *Adapter) Broadcast(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions) error {
	withRecovery := a.recovering()
	if withRecovery {
		pkt = a.takeOffset(pkt)
	}
	if opts.Flags.Local || a.isClosed() {
		a.BroadcastLocal(pkt, opts)
		return nil
	}
	text, fast := broadcastJSON(pkt, opts)
	var fields []any
	if fast {
		fields = []any{"uid", a.uid, "nsp", a.nsp, "type", typeBroadcastField, "data", text}
	} else {
		data, err := clusterwire.BroadcastData(pkt, opts, "")
		if err != nil {
			return err
		}
		if fields, err = entryFields(&message{uid: a.uid, nsp: a.nsp, typ: typeBroadcast, data: data}); err != nil {
			return err
		}
	}
	if !withRecovery {
		a.BroadcastLocal(pkt, opts)
		_, _ = a.add(ctx, fields)
		return nil
	}
	// The reader delivers the packet here, once it knows where it reads
	// from: at once, unless this node has just started.
	if _, started, _ := a.r.position(); !started && (a.r.down.Load() || !a.r.waitStarted(ctx, a.opts.RequestsTimeout)) {
		a.addDirect(ctx, fields)
		a.BroadcastLocal(pkt, opts)
		return nil
	}
	if fast {
		// The reader delivers this packet as it is, without decoding
		// its entry.
		a.holdOwn(text, pkt, opts)
		defer a.dropOwn(text)
	}
	id, err := a.add(ctx, fields)
	if err != nil {
		a.BroadcastLocal(pkt, opts)
		return nil
	}
	if !a.r.waitHandled(ctx, a.opts.RequestsTimeout, id) && ctx.Err() == nil {
		a.errs.Warn(a.log, "redisstreams: broadcast not read back from the stream in time; its local delivery will follow", errors.New("timeout"))
	}
	return nil
}

// maxDirect bounds the ids of broadcasts delivered directly.
const maxDirect = 1024

// addDirect adds the entry of a broadcast that this node delivers itself,
// so that its reader, if it reads it, skips it.
func (a *Adapter) addDirect(ctx context.Context, fields []any) {
	a.directMu.Lock()
	defer a.directMu.Unlock()
	id, err := a.add(ctx, fields)
	if err != nil {
		return
	}
	if a.direct == nil || len(a.direct) >= maxDirect {
		a.direct = make(map[streamID]struct{})
	}
	a.direct[id] = struct{}{}
}

// isDirect reports whether the own broadcast id was delivered directly.
func (a *Adapter) isDirect(id streamID) bool {
	a.directMu.Lock()
	defer a.directMu.Unlock()
	_, ok := a.direct[id]
	delete(a.direct, id)
	return ok
}

// add appends an entry to the stream, trimming it to about MaxLen
// entries, and returns its id. Failures are logged.
func (a *Adapter) add(ctx context.Context, fields []any) (streamID, error) {
	res, err := a.c.xadd(ctx, &redis.XAddArgs{
		Stream: a.stream,
		MaxLen: a.opts.MaxLen,
		Approx: true,
		Values: fields,
	})
	if err != nil {
		a.errs.Warn(a.log, "redisstreams: cannot add to the stream", err)
		return streamID{}, fmt.Errorf("redisstreams: adding to the stream: %w", err)
	}
	id, ok := parseID(res)
	if !ok {
		return streamID{}, fmt.Errorf("redisstreams: XADD answered %q", res)
	}
	return id, nil
}

// publish publishes a message on a channel.
func (a *Adapter) publish(ctx context.Context, channel string, m *message) error {
	b, err := encodeMessage(m)
	if err != nil {
		return err
	}
	if err := a.c.ps.Publish(ctx, channel, b); err != nil {
		a.errs.Warn(a.log, "redisstreams: cannot publish", err)
		return fmt.Errorf("redisstreams: publishing: %w", err)
	}
	return nil
}

// onEntry handles an entry of the stream (on the reader's goroutine).
func (a *Adapter) onEntry(id streamID, m *message) {
	a.dmu.RLock()
	defer a.dmu.RUnlock()
	if a.isClosed() || m.nsp != a.nsp {
		return
	}
	own := m.uid == a.uid
	ctx := context.Background()
	switch m.typ {
	case typeBroadcast:
		fenced, withRecovery := a.fenced(id)
		// Without recovery, this node delivered its broadcasts itself.
		if (own && (!withRecovery || a.isDirect(id))) || m.data == nil {
			return
		}
		if _, ok := m.data.Get("requestId"); ok {
			return // acknowledged broadcasts go over the channels
		}
		p, _ := m.data.Get("packet")
		pkt, err := clusterwire.TreePacket(p, m.nsp)
		if err != nil {
			a.log.Debug("redisstreams: ignoring malformed broadcast", "id", id.String(), "err", err)
			return
		}
		o, _ := m.data.Get("opts")
		// Sockets that were just restored (fenced) got this packet
		// with their missed packets.
		a.deliver(id, pkt, clusterwire.TreeOpts(o), fenced, withRecovery)
	case typeSocketsJoin, typeSocketsLeave, typeDisconnectSockets:
		if own || m.data == nil {
			return
		}
		o, _ := m.data.Get("opts")
		opts := clusterwire.TreeOpts(o)
		switch m.typ {
		case typeSocketsJoin:
			_ = a.Memory.AddSockets(ctx, opts, clusterwire.StringList(m.data, "rooms"))
		case typeSocketsLeave:
			_ = a.Memory.DelSockets(ctx, opts, clusterwire.StringList(m.data, "rooms"))
		default:
			_ = a.Memory.DisconnectSockets(ctx, opts, clusterwire.Truthy(m.data, "close"))
		}
	}
}

// appendOffset adds a last element, the string off, to a JSON array.
func appendOffset(data []byte, off string) []byte {
	out := make([]byte, 0, len(data)+len(off)+3)
	out = append(out, data[:len(data)-1]...)
	if len(data) > 2 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, off...)
	return append(out, '"', ']')
}

// onChannelMessage handles a message of the namespace's channels (on the
// subscription's goroutine).
func (a *Adapter) onChannelMessage(_ string, payload []byte) {
	a.dmu.RLock()
	defer a.dmu.RUnlock()
	if a.isClosed() {
		return
	}
	m, err := decodeMessage(payload)
	if err != nil {
		a.log.Debug("redisstreams: ignoring malformed message", "err", err)
		return
	}
	if m.uid == a.uid || m.nsp != a.nsp || m.data == nil {
		return
	}
	switch m.typ {
	case typeBroadcast:
		a.onAckBroadcast(m)
	case typeFetchSockets:
		a.req.OnFetchSockets(m.uid, m.data)
	case typeServerSideEmit:
		a.req.OnServerSideEmit(m.uid, m.data)
	case typeFetchSocketsResponse, typeServerSideEmitResponse, typeBroadcastClientCount, typeBroadcastAck:
		a.req.OnResponse(m.uid, m.typ, m.data)
	}
}

// AddSockets implements adapter.Adapter: the selected local sockets join
// the rooms at once, and the request goes to the other nodes through the
// stream. A failure to add it to the stream is returned.
func (a *Adapter) AddSockets(ctx context.Context, opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.AddSockets(ctx, opts, rooms)
	return a.addRequest(ctx, typeSocketsJoin, opts, "rooms", clusterwire.NonNil(rooms))
}

// DelSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DelSockets(ctx context.Context, opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.DelSockets(ctx, opts, rooms)
	return a.addRequest(ctx, typeSocketsLeave, opts, "rooms", clusterwire.NonNil(rooms))
}

// DisconnectSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DisconnectSockets(ctx context.Context, opts adapter.BroadcastOptions, close bool) error {
	_ = a.Memory.DisconnectSockets(ctx, opts, close)
	return a.addRequest(ctx, typeDisconnectSockets, opts, "close", close)
}

// addRequest adds a socketsJoin, socketsLeave or disconnectSockets
// request to the stream, unless it is local.
func (a *Adapter) addRequest(ctx context.Context, typ int, opts adapter.BroadcastOptions, key string, v any) error {
	if opts.Flags.Local {
		return nil
	}
	if a.isClosed() {
		return adapter.ErrClosed
	}
	d := &jsvalue.Object{}
	d.Set("opts", clusterwire.OptsTree(opts))
	d.Set(key, v)
	fields, err := entryFields(&message{uid: a.uid, nsp: a.nsp, typ: typ, data: d})
	if err != nil {
		return err
	}
	_, err = a.add(ctx, fields)
	return err
}

// ServerCount implements adapter.Adapter as the reference does: the
// number of subscribers of the namespace's channel (PUBSUB NUMSUB), at
// least 1.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if a.isClosed() {
		return 0, adapter.ErrClosed
	}
	n, err := a.c.ps.NumSub(ctx, a.publicChannel)
	if err != nil {
		return 0, fmt.Errorf("redisstreams: counting servers: %w", err)
	}
	return max(n, 1), nil
}

// Close implements adapter.Adapter: it ends the subscriptions (and the
// stream reader when no other adapter of the Factory reads the stream),
// and fails the requests still waiting with adapter.ErrClosed. Once it has
// returned, the adapter calls its Emitter no more. The Redis client stays
// open.
func (a *Adapter) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	a.stop()
	a.req.Close()
	a.waitHandlers()
	a.c.leave(a)
	return a.sub.Close()
}

// waitHandlers waits until no message is being handled: those that start
// later see the adapter closed.
func (a *Adapter) waitHandlers() {
	a.dmu.Lock()
	defer a.dmu.Unlock()
}
