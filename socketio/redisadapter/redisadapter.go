package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterreq"
	"github.com/chatd/chatd/socketio/internal/lograte"
)

// Adapter is the adapter of one namespace on one node of a cluster. It
// keeps the rooms of the local sockets in the embedded *adapter.Memory and
// reaches the other nodes through a PubSub.
type Adapter struct {
	*adapter.Memory

	ps   PubSub
	opts Options
	log  *slog.Logger
	uid  string
	nsp  string

	channel                 string // "<key>#<nsp>#"
	requestChannel          string // "<key>-request#<nsp>#"
	responseChannel         string // "<key>-response#<nsp>#"
	specificResponseChannel string // "<key>-response#<nsp>#<uid>#"

	sub Subscription

	mu       sync.Mutex
	closed   bool
	requests map[string]*pending    // by request id
	acks     map[string]*ackRequest // by request id

	publishErrors lograte.Limiter
	// publishDownUntil (Unix ns) is set after a failed broadcast publish:
	// until then broadcasts are not published, so that while Redis is
	// unreachable senders are not held up by connection attempts.
	publishDownUntil atomic.Int64

	stats [reqBroadcastAck + 1]requestStats // by request type, see RequestStats
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns a Factory of adapters that share rooms and broadcasts through
// ps, for socketio.Options.Adapter.
func New(ps PubSub, opts Options) adapter.Factory {
	opts = opts.withDefaults()
	return func(e adapter.Emitter) adapter.Adapter { return NewAdapter(e, ps, opts) }
}

// NewRedis is New with the PubSub of a go-redis client. The client stays
// the caller's: close it after the server.
func NewRedis(client redis.UniversalClient, opts Options) adapter.Factory {
	opts = opts.withDefaults()
	return New(NewRedisPubSub(client, opts.Logger), opts)
}

// NewAdapter returns the adapter of namespace e, subscribed to its
// channels. It returns before the subscription is confirmed (see Ready), so
// that a server starts even while Redis is unreachable.
func NewAdapter(e adapter.Emitter, ps PubSub, opts Options) *Adapter {
	opts = opts.withDefaults()
	nsp := e.Name()
	a := &Adapter{
		Memory:          adapter.NewMemory(e),
		ps:              ps,
		opts:            opts,
		log:             opts.Logger.With("nsp", nsp),
		uid:             newID(),
		nsp:             nsp,
		channel:         opts.Key + "#" + nsp + "#",
		requestChannel:  opts.Key + "-request#" + nsp + "#",
		responseChannel: opts.Key + "-response#" + nsp + "#",
		requests:        make(map[string]*pending),
		acks:            make(map[string]*ackRequest),
	}
	a.specificResponseChannel = a.responseChannel + a.uid + "#"
	a.sub = ps.Subscribe(
		[]string{a.requestChannel, a.responseChannel, a.specificResponseChannel},
		[]string{a.channel + "*"},
		a.onMessage,
	)
	return a
}

// ErrRecoveryAcrossNodes is returned by EnableRecovery: connection state
// recovery over this adapter is refused until it works across nodes.
var ErrRecoveryAcrossNodes = fmt.Errorf("redisadapter: %w: a socket resumed on one node would miss the packets the other nodes sent while it was away", adapter.ErrRecoveryUnsupported)

// EnableRecovery implements adapter.Adapter by refusing: the sessions
// and packets kept for recovery are those of this node only, so a client
// resuming here would be told it recovered while missing what the other
// nodes sent. socketio.NewServer therefore refuses
// Options.ConnectionStateRecovery with this adapter.
func (a *Adapter) EnableRecovery(time.Duration) error { return ErrRecoveryAcrossNodes }

// UID returns the id of this node's adapter in the messages it sends.
func (a *Adapter) UID() string { return a.uid }

// Ready is closed when the subscriptions of the adapter are first
// confirmed; until then the adapter receives nothing from other nodes.
func (a *Adapter) Ready() <-chan struct{} { return a.sub.Ready() }

// newID returns a random id for nodes and requests.
var newID = clusterreq.NewID

// Broadcast implements adapter.Adapter. It delivers pkt to the selected
// local sockets first, then publishes it for the other nodes unless
// opts.Flags.Local is set. A failure to publish does not undo or fail the
// local delivery: it is logged (at most one line per 10 s while it lasts)
// and Broadcast returns nil; for a second after a failure, broadcasts are
// not published at all, so that senders are not held up while Redis is
// unreachable. Only a packet that cannot be encoded for the
// other nodes is an error, and then nothing is delivered.
func (a *Adapter) Broadcast(ctx context.Context, pkt *adapter.Packet, opts adapter.BroadcastOptions) error {
	if opts.Flags.Local {
		a.BroadcastLocal(pkt, opts)
		return nil
	}
	msg, err := encodeBroadcast(a.uid, pkt, opts)
	if err != nil {
		return err
	}
	a.BroadcastLocal(pkt, opts)
	if a.isClosed() {
		return nil
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	a.publishBroadcast(ctx, channel, msg)
	return nil
}

// publishDownPause is how long broadcasts are not published after a
// failure to publish one.
const publishDownPause = time.Second

var errPublishPaused = errors.New("redisadapter: publishing paused after a failure")

// publishBroadcast publishes a broadcast, logging failures.
func (a *Adapter) publishBroadcast(ctx context.Context, channel string, msg []byte) {
	if until := a.publishDownUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		a.publishErrors.Warn(a.log, "redisadapter: broadcast not published to the other nodes", errPublishPaused)
		return
	}
	if err := a.ps.Publish(ctx, channel, msg); err != nil {
		a.publishDownUntil.Store(time.Now().Add(publishDownPause).UnixNano())
		a.publishErrors.Warn(a.log, "redisadapter: broadcast not published to the other nodes", err)
		return
	}
	a.publishDownUntil.Store(0)
}

// Sockets implements adapter.Adapter: the ids of the selected sockets of
// every node. On a timeout the ids gathered so far are returned with an
// error wrapping ErrTimeout.
func (a *Adapter) Sockets(ctx context.Context, opts adapter.BroadcastOptions) ([]string, error) {
	local, _ := a.Memory.Sockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	others, err := a.otherServers(ctx)
	if err != nil || others == 0 {
		return local, err
	}
	if len(opts.Except) > 0 {
		// The reference's SOCKETS request has no except list.
		infos, err := a.fetchRemote(ctx, opts, others)
		for _, in := range infos {
			local = append(local, in.ID)
		}
		return local, err
	}
	req := &request{UID: a.uid, RequestID: newID(), Type: reqSockets, Rooms: nonNil(opts.Rooms)}
	p, err := a.ask(ctx, req, others)
	if p != nil {
		local = append(local, p.ids...)
	}
	return local, err
}

// FetchSockets implements adapter.Adapter: the selected sockets of every
// node. On a timeout the sockets gathered so far (the local ones and those
// of the nodes that answered) are returned with an error wrapping
// ErrTimeout; when Redis cannot be reached, the local ones with that error.
func (a *Adapter) FetchSockets(ctx context.Context, opts adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	local := a.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	others, err := a.otherServers(ctx)
	if err != nil || others == 0 {
		return local, err
	}
	remote, err := a.fetchRemote(ctx, opts, others)
	return append(local, remote...), err
}

func (a *Adapter) fetchRemote(ctx context.Context, opts adapter.BroadcastOptions, others int) ([]adapter.SocketInfo, error) {
	req := &request{UID: a.uid, RequestID: newID(), Type: reqRemoteFetch, Opts: toWireOpts(opts)}
	p, err := a.ask(ctx, req, others)
	if p == nil {
		return nil, err
	}
	return p.sockets, err
}

// AddSockets implements adapter.Adapter: the selected local sockets join
// the rooms at once; the request to the other nodes is published and not
// waited for (as in the reference). A publish failure is returned.
func (a *Adapter) AddSockets(ctx context.Context, opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.AddSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.publishRequest(ctx, &request{UID: a.uid, Type: reqRemoteJoin, Opts: toWireOpts(opts), Rooms: nonNil(rooms)})
}

// DelSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DelSockets(ctx context.Context, opts adapter.BroadcastOptions, rooms []string) error {
	_ = a.Memory.DelSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	return a.publishRequest(ctx, &request{UID: a.uid, Type: reqRemoteLeave, Opts: toWireOpts(opts), Rooms: nonNil(rooms)})
}

// DisconnectSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DisconnectSockets(ctx context.Context, opts adapter.BroadcastOptions, close bool) error {
	_ = a.Memory.DisconnectSockets(ctx, opts, close)
	if opts.Flags.Local {
		return nil
	}
	return a.publishRequest(ctx, &request{UID: a.uid, Type: reqRemoteDisconnect, Opts: toWireOpts(opts), Close: &close})
}

// ServerCount implements adapter.Adapter: the number of subscribers of the
// namespace's request channel (PUBSUB NUMSUB), at least 1.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if a.isClosed() {
		return 0, adapter.ErrClosed
	}
	n, err := a.ps.NumSub(ctx, a.requestChannel)
	if err != nil {
		return 0, fmt.Errorf("redisadapter: counting servers: %w", err)
	}
	return max(n, 1), nil
}

// otherServers returns the number of other nodes subscribed to the
// namespace.
func (a *Adapter) otherServers(ctx context.Context) (int, error) {
	n, err := a.ServerCount(ctx)
	if err != nil {
		return 0, err
	}
	return n - 1, nil
}

// AllRooms returns the rooms of every node (the reference's allRooms). On a
// timeout the rooms gathered so far are returned with an error wrapping
// ErrTimeout.
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	rooms := a.localRooms()
	others, err := a.otherServers(ctx)
	if err != nil || others == 0 {
		return rooms, err
	}
	p, err := a.ask(ctx, &request{UID: a.uid, RequestID: newID(), Type: reqAllRooms}, others)
	if p != nil {
		seen := make(map[string]bool, len(rooms))
		for _, r := range rooms {
			seen[r] = true
		}
		for _, r := range p.rooms {
			if !seen[r] {
				seen[r] = true
				rooms = append(rooms, r)
			}
		}
	}
	return rooms, err
}

// localRooms returns the rooms of the local sockets.
func (a *Adapter) localRooms() []string {
	ids, _ := a.Memory.Sockets(context.Background(), adapter.BroadcastOptions{})
	seen := make(map[string]bool)
	var out []string
	for _, id := range ids {
		for _, r := range a.SocketRooms(id) {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// ServerSideEmit sends an event to the other nodes of the cluster (the
// reference's serverSideEmit): args holds the event name then its
// arguments, which must marshal to JSON. The other nodes receive it in
// their namespaces' OnServerSideEmit handlers (adapter.Emitter's
// ReceiveServerSideEmit).
func (a *Adapter) ServerSideEmit(ctx context.Context, args ...any) error {
	data, err := serverSideData(args)
	if err != nil {
		return err
	}
	return a.publishRequest(ctx, &request{UID: a.uid, Type: reqServerSideEmit, Data: data})
}

// ServerSideEmitWithAck is ServerSideEmit waiting for one answer from each
// other node. On a timeout the answers received so far are returned with an
// error wrapping ErrTimeout.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, args ...any) ([]json.RawMessage, error) {
	data, err := serverSideData(args)
	if err != nil {
		return nil, err
	}
	others, err := a.otherServers(ctx)
	if err != nil || others == 0 {
		return nil, err
	}
	p, err := a.ask(ctx, &request{UID: a.uid, RequestID: newID(), Type: reqServerSideEmit, Data: data}, others)
	if p == nil {
		return nil, err
	}
	return p.responses, err
}

func serverSideData(args []any) (json.RawMessage, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("redisadapter: ServerSideEmit needs an event name")
	}
	if _, ok := args[0].(string); !ok {
		return nil, fmt.Errorf("redisadapter: ServerSideEmit: event name is a %T, not a string", args[0])
	}
	data, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: ServerSideEmit arguments: %w", err)
	}
	return data, nil
}

// publishRequest publishes a request that expects no answer.
func (a *Adapter) publishRequest(ctx context.Context, req *request) error {
	if a.isClosed() {
		return adapter.ErrClosed
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := a.ps.Publish(ctx, a.requestChannel, body); err != nil {
		return fmt.Errorf("redisadapter: publishing request: %w", err)
	}
	return nil
}

// Close implements adapter.Adapter: it ends the subscriptions and fails
// the requests still waiting with adapter.ErrClosed. The PubSub (and its
// Redis client) stays open.
func (a *Adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	for id, p := range a.requests {
		delete(a.requests, id)
		p.err = adapter.ErrClosed
		close(p.done)
	}
	for id, ar := range a.acks {
		delete(a.acks, id)
		ar.timer.Stop()
	}
	a.mu.Unlock()
	return a.sub.Close()
}

func (a *Adapter) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// onMessage dispatches a message of one of the adapter's channels.
func (a *Adapter) onMessage(channel string, payload []byte) {
	switch {
	case strings.HasPrefix(channel, a.channel):
		a.onBroadcast(channel, payload)
	case channel == a.requestChannel:
		a.onRequest(payload)
	case strings.HasPrefix(channel, a.responseChannel):
		a.onResponse(payload)
	}
}

// onBroadcast delivers a broadcast of another node to the local sockets.
func (a *Adapter) onBroadcast(channel string, payload []byte) {
	room := channel[len(a.channel):]
	if room != "" {
		room = room[:len(room)-1]
		if a.RoomSize(room) == 0 {
			return // no local socket in the room
		}
	}
	uid, pkt, opts, err := decodeBroadcast(payload)
	if err != nil {
		a.log.Debug("redisadapter: ignoring malformed broadcast", "err", err)
		return
	}
	if uid == a.uid || pkt.Namespace != a.nsp {
		return
	}
	opts.Flags.Local = true
	a.BroadcastLocal(pkt, opts)
}
