package redispresence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/groupsend"
)

// ErrClosed is returned by the methods of a Presence after Close.
var ErrClosed = errors.New("redispresence: closed")

// Limits of the work of one script call.
const (
	sweepBatch   = 2000 // entries removed per sweep call
	restoreBatch = 500  // entries added per restore call
	claimMax     = 64   // incarnations claimed per claim call
)

// Presence is the chat.Presence of a cluster of nodes sharing a Redis
// server; see the package documentation. It is safe for concurrent use.
type Presence struct {
	rdb  redis.UniversalClient
	opts Options
	pfx  string   // "{" + Prefix + "}"
	keys []string // the liveness and the sweep key
	ttl  int64    // opts.TTL in milliseconds

	// reg is held shared by Add and Remove for their round trip and
	// exclusively by resync, so that a re-registration sees every local
	// change made before it and none is made while it runs. It guards
	// inc, the incarnation this node's entries belong to.
	reg sync.RWMutex
	inc string

	mu       sync.Mutex
	local    map[chat.RoomID]map[string]chat.UserRef // this node's entries
	retiring []string                                // earlier incarnations to retire
	notes    []note                                  // callbacks to make

	dirty   atomic.Bool // an Add or Remove failed: Redis may differ from local
	closed  atomic.Bool
	failing bool // the last background round failed; used by run only

	// Adds of concurrent joins share one script call (addBatched).
	adds groupsend.Queue[*addReq]

	kick     chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// note is a callback to make: OnExpire (expire) or OnRestore.
type note struct {
	room   chat.RoomID
	users  []string
	expire bool
}

var _ chat.Presence = (*Presence)(nil)

// New returns the Presence of this node on rdb. It registers the node and
// starts the goroutine that refreshes the node's liveness and sweeps dead
// nodes every opts.Interval; Close stops it. When Redis does not answer,
// New still succeeds (the error is logged): the node registers at the
// first heartbeat that reaches Redis. Errors are only for invalid options.
func New(rdb redis.UniversalClient, opts Options) (*Presence, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	pfx := "{" + opts.Prefix + "}"
	p := &Presence{
		rdb:   rdb,
		opts:  opts,
		pfx:   pfx,
		keys:  []string{pfx + "live", pfx + "sweep"},
		ttl:   max(opts.TTL.Milliseconds(), 1),
		local: make(map[chat.RoomID]map[string]chat.UserRef),
		kick:  make(chan struct{}, 1),
	}
	p.adds.Max, p.adds.Send = maxBatch, p.runAdds
	p.inc = p.newIncarnation()
	ctx, cancel := context.WithTimeout(context.Background(), opts.TTL)
	defer cancel()
	if err := registerScript.Run(ctx, rdb, p.keys[:1], p.inc, p.ttl).Err(); err != nil {
		// Redis is down: the node starts anyway (its sockets are
		// recorded locally) and registers at the first heartbeat that
		// reaches Redis, with every entry it holds by then.
		p.failing = true
		p.opts.Logger.Warn("redispresence: cannot register the node; retrying every interval", "node", p.inc, "err", err)
	} else {
		loadScripts(ctx, rdb)
	}
	p.start()
	return p, nil
}

// loadScripts puts the scripts of joins and leaves in Redis' script
// cache, so that the first wave of them (on a fresh Redis) does not send
// each script's text once per call. A failure is harmless: a call whose
// script is missing sends its text (Script.Run). Not in a pipeline:
// Script.Load takes the hash from the answer at once, which a pipelined
// command does not have yet.
func loadScripts(ctx context.Context, rdb redis.UniversalClient) {
	for _, sc := range []*redis.Script{addScript, removeScript, statsScript, usersScript} {
		if sc.Load(ctx, rdb).Err() != nil {
			return
		}
	}
}

// start starts the goroutine.
func (p *Presence) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan struct{})
	go p.run(ctx, p.done)
}

// halt stops the goroutine and waits for it to end.
func (p *Presence) halt() {
	p.cancel()
	<-p.done
}

// NodeID returns the node id of the options (the random one if none was
// given).
func (p *Presence) NodeID() string { return p.opts.NodeID }

func (p *Presence) newIncarnation() string { return p.opts.NodeID + "-" + randomHex(4) }

// Add implements chat.Presence in one round trip (the counts come with
// it), shared with the Adds made at the same time: they go to Redis in
// one script call, bounded by Options.TTL; ctx is checked before the Add is
// queued, not while it is on its way. When Redis answers that
// this node is not alive (it was declared dead, or Redis lost its data),
// Add first registers the node again with all its entries, then adds.
// On an error the socket is still recorded locally and Redis is brought
// in line at the next heartbeat.
func (p *Presence) Add(ctx context.Context, room chat.RoomID, sid string, user chat.UserRef) (bool, chat.PresenceStats, error) {
	if p.closed.Load() {
		return false, chat.PresenceStats{}, ErrClosed
	}
	renc := encodeRoom(room)
	for attempt := 0; ; attempt++ {
		p.reg.RLock()
		inc := p.inc
		res, err := p.addBatched(ctx, inc, renc, sid, user)
		if err == nil && (len(res) == 0 || res[0] < 0) {
			p.reg.RUnlock()
			if attempt == 0 {
				if err = p.resync(ctx, inc); err == nil {
					p.wake()
					continue
				}
			} else {
				err = fmt.Errorf("node %s is not alive after registering again", p.opts.NodeID)
			}
			p.reg.RLock()
		}
		if err == nil && len(res) != 3 {
			err = fmt.Errorf("unexpected answer %v", res)
		}
		p.addLocal(room, sid, user)
		if err != nil {
			p.dirty.Store(true)
		}
		p.reg.RUnlock()
		if err != nil {
			return false, chat.PresenceStats{}, fmt.Errorf("redispresence: add %q to %s: %w", sid, roomString(room), err)
		}
		return res[0] == 1, chat.PresenceStats{Clients: int(res[1]), Users: int(res[2])}, nil
	}
}

// Remove implements chat.Presence in one round trip. On an error the
// socket is still removed locally and Redis is brought in line at the
// next heartbeat.
func (p *Presence) Remove(ctx context.Context, room chat.RoomID, sid string) (string, bool, error) {
	if p.closed.Load() {
		return "", false, ErrClosed
	}
	p.reg.RLock()
	res, err := removeScript.Run(ctx, p.rdb, p.keys[:1], p.pfx, encodeRoom(room), sid).Slice()
	p.removeLocal(room, sid)
	if err != nil {
		p.dirty.Store(true)
	}
	p.reg.RUnlock()
	if err != nil {
		return "", false, fmt.Errorf("redispresence: remove %q from %s: %w", sid, roomString(room), err)
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("redispresence: remove %q from %s: unexpected reply %v", sid, roomString(room), res)
	}
	name, _ := res[0].(string)
	left, _ := res[1].(int64)
	return name, left == 1, nil
}

// Stats implements chat.Presence in one round trip.
func (p *Presence) Stats(ctx context.Context, room chat.RoomID) (chat.PresenceStats, error) {
	res, err := statsScript.Run(ctx, p.rdb, p.keys[:1], p.pfx, encodeRoom(room)).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return chat.PresenceStats{}, fmt.Errorf("redispresence: stats of %s: %w", roomString(room), err)
	}
	return chat.PresenceStats{Clients: int(res[0]), Users: int(res[1])}, nil
}

// Users implements chat.Presence in one round trip.
func (p *Presence) Users(ctx context.Context, room chat.RoomID, limit int) ([]chat.UserRef, int, error) {
	res, err := usersScript.Run(ctx, p.rdb, p.keys[:1], p.pfx, encodeRoom(room), max(limit, 0)).Slice()
	if err == nil && (len(res) == 0 || len(res)%2 != 1) {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("redispresence: users of %s: %w", roomString(room), err)
	}
	total, _ := res[0].(int64)
	users := make([]chat.UserRef, 0, (len(res)-1)/2)
	for i := 1; i+1 < len(res); i += 2 {
		name, _ := res[i].(string)
		role, _ := res[i+1].(string)
		users = append(users, chat.UserRef{Name: name, Role: chat.Role(role)})
	}
	return users, int(total), nil
}

// Close stops the goroutine and removes this node's entries from Redis,
// calling OnExpire for the rooms where users left. If that fails (the
// error is returned), the entries are removed by another node once this
// node's liveness expires. Close is idempotent; after it the other methods
// return ErrClosed.
func (p *Presence) Close(ctx context.Context) error {
	if !p.stop() {
		return nil
	}
	p.reg.Lock()
	inc := p.inc
	p.reg.Unlock()
	p.mu.Lock()
	p.retiring = append(p.retiring, inc)
	p.local = nil
	p.mu.Unlock()
	err := p.retireOld(ctx)
	p.notify()
	return err
}

// stop stops the goroutine, once; it reports whether this call did.
func (p *Presence) stop() bool {
	did := false
	p.stopOnce.Do(func() {
		did = true
		p.closed.Store(true)
		p.halt()
	})
	return did
}

// wake makes the goroutine do its pending work (retire, callbacks) now.
func (p *Presence) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run is the goroutine: a heartbeat and a sweep every Interval, and the
// pending work when woken.
func (p *Presence) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		beat := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			beat = true
		case <-p.kick:
		}
		p.round(ctx, beat)
	}
}

// round does one heartbeat (if beat), the retirement of earlier
// incarnations, one sweep (if beat), and the callbacks.
func (p *Presence) round(ctx context.Context, beat bool) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.TTL)
	defer cancel()
	var errs []error
	if beat {
		errs = append(errs, p.heartbeat(ctx))
	}
	errs = append(errs, p.retireOld(ctx))
	if beat {
		errs = append(errs, p.sweepExpired(ctx))
	}
	p.notify()
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return // closing
	}
	switch err := errors.Join(errs...); {
	case err != nil && !p.failing:
		p.failing = true
		p.opts.Logger.Warn("redispresence: heartbeat or sweep failed; retrying every interval", "node", p.opts.NodeID, "err", err)
	case err != nil:
		p.opts.Logger.Debug("redispresence: heartbeat or sweep failed", "node", p.opts.NodeID, "err", err)
	case p.failing:
		p.failing = false
		p.opts.Logger.Info("redispresence: heartbeat and sweep work again", "node", p.opts.NodeID)
	}
}

// heartbeat extends this node's liveness; when Redis no longer knows the
// node, or an Add or Remove failed since the last one, it registers the
// node again with all its entries.
func (p *Presence) heartbeat(ctx context.Context) error {
	p.reg.RLock()
	inc := p.inc
	p.reg.RUnlock()
	alive, err := heartbeatScript.Run(ctx, p.rdb, p.keys[:1], inc, p.ttl).Int()
	if err != nil {
		return fmt.Errorf("redispresence: heartbeat of node %s: %w", inc, err)
	}
	switch {
	case alive == 0:
		p.opts.Logger.Warn("redispresence: node was declared dead; adding its entries again", "node", inc)
	case p.dirty.Load():
		p.opts.Logger.Info("redispresence: an update failed; adding the node's entries again", "node", inc)
	default:
		return nil
	}
	return p.resync(ctx, inc)
}

// resync registers a new incarnation of the node and adds every local
// entry for it, unless the incarnation is no longer seen (another resync
// replaced it). Sockets still held by seen are taken over; seen is then
// retired, which removes the sockets it holds that are no longer local.
func (p *Presence) resync(ctx context.Context, seen string) error {
	p.reg.Lock()
	defer p.reg.Unlock()
	if p.inc != seen {
		return nil
	}
	if p.closed.Load() {
		return ErrClosed
	}
	p.dirty.Store(false)
	inc := p.newIncarnation()
	if err := registerScript.Run(ctx, p.rdb, p.keys[:1], inc, p.ttl).Err(); err != nil {
		p.dirty.Store(true)
		return fmt.Errorf("redispresence: register node %s: %w", inc, err)
	}
	p.inc = inc

	p.mu.Lock()
	args := make([]any, 0, 2+4*p.count())
	for room, socks := range p.local {
		renc := encodeRoom(room)
		for sid, u := range socks {
			args = append(args, renc, sid, u.Name, string(u.Role))
		}
	}
	p.mu.Unlock()
	rooms := make(map[string][]string)
	for i := 0; i < len(args); i += 4 * restoreBatch {
		batch := append([]any{p.pfx, inc}, args[i:min(i+4*restoreBatch, len(args))]...)
		res, err := restoreScript.Run(ctx, p.rdb, p.keys[:1], batch...).Slice()
		if err != nil {
			p.dirty.Store(true)
			p.queue(rooms, false)
			return fmt.Errorf("redispresence: restore entries of node %s: %w", inc, err)
		}
		collect(rooms, res)
	}
	p.queue(rooms, false)
	p.mu.Lock()
	p.retiring = append(p.retiring, seen)
	p.mu.Unlock()
	return nil
}

// LocalSize implements chat.PresenceSizer: the entries of this node, from
// its local copy.
func (p *Presence) LocalSize() chat.PresenceSize {
	p.mu.Lock()
	defer p.mu.Unlock()
	return chat.PresenceSize{Rooms: len(p.local), Sockets: p.count()}
}

// count returns the number of local entries; p.mu is held.
func (p *Presence) count() int {
	n := 0
	for _, socks := range p.local {
		n += len(socks)
	}
	return n
}

// retireOld retires the earlier incarnations of this node and removes
// their entries.
func (p *Presence) retireOld(ctx context.Context) error {
	p.mu.Lock()
	olds := p.retiring
	p.retiring = nil
	p.mu.Unlock()
	for i, old := range olds {
		n, err := retireScript.Run(ctx, p.rdb, p.keys, old, p.ttl).Int()
		if err != nil {
			p.mu.Lock()
			p.retiring = append(p.retiring, olds[i:]...)
			p.mu.Unlock()
			return fmt.Errorf("redispresence: retire node %s: %w", old, err)
		}
		if n == 1 {
			if err := p.sweepNode(ctx, old); err != nil {
				return err // its lease expires and any node finishes it
			}
		}
	}
	return nil
}

// sweepExpired claims the nodes whose liveness (or whose sweeper's lease)
// expired and removes their entries.
func (p *Presence) sweepExpired(ctx context.Context) error {
	for {
		claimed, err := claimScript.Run(ctx, p.rdb, p.keys, p.ttl, claimMax).StringSlice()
		if err != nil {
			return fmt.Errorf("redispresence: claim dead nodes: %w", err)
		}
		for _, inc := range claimed {
			p.opts.Logger.Info("redispresence: removing the entries of a dead node", "node", inc, "by", p.opts.NodeID)
			if err := p.sweepNode(ctx, inc); err != nil {
				return err
			}
		}
		if len(claimed) < claimMax {
			return nil
		}
	}
}

// sweepNode removes the entries of incarnation inc, which this node has
// claimed, a batch per call, and queues OnExpire for the rooms touched.
func (p *Presence) sweepNode(ctx context.Context, inc string) error {
	rooms := make(map[string][]string)
	defer p.queue(rooms, true)
	for {
		res, err := sweepScript.Run(ctx, p.rdb, p.keys, p.pfx, inc, sweepBatch, p.ttl).Slice()
		if err == nil && len(res) == 0 {
			err = errors.New("empty reply")
		}
		if err != nil {
			return fmt.Errorf("redispresence: remove entries of node %s: %w", inc, err)
		}
		collect(rooms, res[1:])
		if done, _ := res[0].(int64); done == 1 {
			return nil
		}
	}
}

// collect adds the rooms of a script reply ({room, users...} arrays) to
// rooms.
func collect(rooms map[string][]string, res []any) {
	for _, r := range res {
		arr, _ := r.([]any)
		if len(arr) == 0 {
			continue
		}
		renc, _ := arr[0].(string)
		users := rooms[renc]
		if users == nil {
			users = []string{}
		}
		for _, u := range arr[1:] {
			if s, ok := u.(string); ok {
				users = append(users, s)
			}
		}
		rooms[renc] = users
	}
}

// queue records the callbacks for rooms.
func (p *Presence) queue(rooms map[string][]string, expire bool) {
	if len(rooms) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for renc, users := range rooms {
		room, ok := decodeRoom(renc)
		if !ok {
			p.opts.Logger.Warn("redispresence: malformed room key", "room", renc)
			continue
		}
		slices.Sort(users)
		p.notes = append(p.notes, note{room: room, users: users, expire: expire})
	}
}

// notify makes the queued callbacks. It runs in the goroutine, or in
// Close once the goroutine is over, so never twice at once.
func (p *Presence) notify() {
	p.mu.Lock()
	notes := p.notes
	p.notes = nil
	p.mu.Unlock()
	for _, n := range notes {
		if n.expire && p.opts.OnExpire != nil {
			p.opts.OnExpire(n.room, n.users)
		}
		if !n.expire && p.opts.OnRestore != nil {
			p.opts.OnRestore(n.room, n.users)
		}
	}
}

// addLocal records a socket in the local copy, unless it is there.
func (p *Presence) addLocal(room chat.RoomID, sid string, user chat.UserRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.local == nil {
		return // closed
	}
	socks := p.local[room]
	if socks == nil {
		socks = make(map[string]chat.UserRef)
		p.local[room] = socks
	}
	if _, ok := socks[sid]; !ok {
		socks[sid] = user
	}
}

// removeLocal removes a socket from the local copy.
func (p *Presence) removeLocal(room chat.RoomID, sid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	socks := p.local[room]
	delete(socks, sid)
	if len(socks) == 0 {
		delete(p.local, room)
	}
}

// encodeRoom returns the key part of room: len(namespace) ":" namespace
// room.
func encodeRoom(room chat.RoomID) string {
	return strconv.Itoa(len(room.Namespace)) + ":" + room.Namespace + room.Room
}

// decodeRoom reverses encodeRoom.
func decodeRoom(s string) (chat.RoomID, bool) {
	ns, rest, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 0 || n > len(rest) {
		return chat.RoomID{}, false
	}
	return chat.RoomID{Namespace: rest[:n], Room: rest[n:]}, true
}

// roomString names room in errors.
func roomString(room chat.RoomID) string {
	return fmt.Sprintf("room %q of %s", room.Room, room.Namespace)
}

// addReq is one Add waiting in a batch.
type addReq struct {
	inc  string // the node's incarnation when the Add was made
	args [4]any // room, sid, user, role
	res  []int64
	err  error
	done chan struct{}
}

// maxBatch bounds the Adds of one script call.
const maxBatch = 128

// addBatched runs addScript for one socket, in one call with the Adds
// queued at the same time: like a group commit, a lone call goes at once,
// and calls that arrive while a call is on its way go together in the
// next (internal/groupsend).
func (p *Presence) addBatched(ctx context.Context, inc, renc, sid string, user chat.UserRef) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // given up before it was sent
	}
	r := &addReq{inc: inc, args: [4]any{renc, sid, user.Name, string(user.Role)}, done: make(chan struct{})}
	p.adds.Add(r)
	<-r.done
	return r.res, r.err
}

// runAdds adds the sockets of batch in one call of addScript per
// incarnation (one, unless the node registered again meanwhile) and hands
// each Add its answer.
func (p *Presence) runAdds(batch []*addReq) {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.TTL)
	defer cancel()
	for len(batch) > 0 {
		n := 1
		for n < len(batch) && batch[n].inc == batch[0].inc {
			n++
		}
		p.addMany(ctx, batch[:n])
		batch = batch[n:]
	}
}

// addMany adds the sockets of batch, all of one incarnation, in one call
// of addScript.
func (p *Presence) addMany(ctx context.Context, batch []*addReq) {
	args := make([]any, 0, 2+4*len(batch))
	args = append(args, p.pfx, batch[0].inc)
	for _, r := range batch {
		args = append(args, r.args[:]...)
	}
	// EvalSha, then Eval when the script is not in Redis' cache (its
	// first use, or a restarted Redis), which caches it.
	res, err := addScript.Run(ctx, p.rdb, p.keys[:1], args...).Int64Slice()
	switch {
	case err == nil && len(res) == 1 && res[0] == -1:
		// The node is not alive: every Add of the batch hears it.
	case err == nil && len(res) != 3*len(batch):
		err = fmt.Errorf("%d values in the answer for %d sockets", len(res), len(batch))
	}
	for i, r := range batch {
		switch {
		case err != nil:
			r.err = err
		case len(res) == 1:
			r.res = res
		default:
			r.res = res[3*i : 3*i+3 : 3*i+3]
		}
		close(r.done)
	}
}
