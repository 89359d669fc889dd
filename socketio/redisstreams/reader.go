package redisstreams

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// reader reads one stream for the adapters of a Factory: XREAD BLOCK from
// the last entry handled, so that after a Redis outage or a lost
// connection it resumes where it left off and every entry still in the
// stream is handled once, in order.
type reader struct {
	c      *cluster
	stream string
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	refs   int // adapters reading it, under cluster.mu

	// down is set while the reader cannot reach Redis.
	down atomic.Bool

	mu      sync.Mutex
	started bool          // pos is known
	pos     streamID      // the last entry handled
	moved   chan struct{} // closed (and replaced) when pos moves or is first known
}

// Timing of the reader's retries after a Redis error.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 2 * time.Second
)

func newReader(c *cluster, stream string) *reader {
	ctx, cancel := context.WithCancel(context.Background())
	r := &reader{
		c:      c,
		stream: stream,
		log:    c.opts.Logger.With("stream", stream),
		cancel: cancel,
		done:   make(chan struct{}),
		moved:  make(chan struct{}),
	}
	go r.run(ctx)
	return r
}

// stop ends the reader without waiting: its goroutine ends when the XREAD
// under way returns, and dispatches nothing more.
func (r *reader) stop() { r.cancel() }

func (r *reader) run(ctx context.Context) {
	defer close(r.done)
	pause := retryFirst
	failing := false
	fail := func(what string, err error) {
		if !failing {
			r.log.Warn("redisstreams: "+what, "err", err)
			failing = true
			r.down.Store(true)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, retryMax)
	}
	for ctx.Err() == nil {
		r.mu.Lock()
		started, pos := r.started, r.pos
		r.mu.Unlock()
		if !started {
			id, err := r.tail(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fail("cannot find the end of the stream", err)
				}
				continue
			}
			r.advance(id, true)
			pos = id
		}
		res, err := r.c.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{r.stream, pos.String()},
			Count:   r.c.opts.ReadCount,
			Block:   r.c.opts.BlockTime,
		}).Result()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			fail("reading the stream", err)
			continue
		}
		if failing {
			r.log.Info("redisstreams: reading the stream again", "from", pos.String())
			failing = false
			r.down.Store(false)
		}
		pause = retryFirst
		// The waiters (waitHandled) hear of the position once per XREAD
		// answer, not once per entry: with many broadcasts waiting, a
		// wake-up per entry woke every one of them for each entry.
		var last streamID
		handled := false
		for _, s := range res {
			for _, m := range s.Messages {
				if ctx.Err() != nil {
					return
				}
				if id, ok := r.handle(m); ok {
					last, handled = id, true
				}
			}
		}
		if handled {
			r.advance(last, false)
		}
	}
}

// tail returns the id of the last entry of the stream (0-0 when it has
// none): the reader starts after it, as the reference starts at "$".
func (r *reader) tail(ctx context.Context) (streamID, error) {
	msgs, err := r.c.rdb.XRevRangeN(ctx, r.stream, "+", "-", 1).Result()
	if err != nil {
		return streamID{}, err
	}
	if len(msgs) == 0 {
		return streamID{}, nil
	}
	id, ok := parseID(msgs[0].ID)
	if !ok {
		return streamID{}, errors.New("redisstreams: unexpected entry id " + msgs[0].ID)
	}
	return id, nil
}

// handle dispatches one entry to the adapters of its namespace and
// returns its id (false for an entry id it cannot parse); the caller
// advances the position.
func (r *reader) handle(m redis.XMessage) (streamID, bool) {
	id, ok := parseID(m.ID)
	if !ok {
		return streamID{}, false
	}
	// A broadcast of this node's, still held by its Broadcast, is
	// delivered from memory: its entry need not be decoded.
	if typ, _ := m.Values["type"].(string); typ == typeBroadcastField {
		nsp, _ := m.Values["nsp"].(string)
		uid, _ := m.Values["uid"].(string)
		text, _ := m.Values["data"].(string)
		if nsp != "" && text != "" {
			as := r.c.adaptersOf(r.stream, nsp)
			rest := as[:0]
			for _, a := range as {
				if !a.onKnownBroadcast(id, uid, text) {
					rest = append(rest, a)
				}
			}
			if rest = skipUnselected(id, uid, text, rest); len(rest) == 0 {
				return id, true
			}
			r.dispatch(id, m, rest)
			return id, true
		}
	}
	r.dispatch(id, m, nil)
	return id, true
}

// dispatch decodes an entry and hands it to adapters (those of its
// namespace when adapters is nil).
func (r *reader) dispatch(id streamID, m redis.XMessage, adapters []*Adapter) {
	msg, err := decodeEntry(m.Values)
	if err != nil {
		r.log.Debug("redisstreams: ignoring malformed entry", "id", m.ID, "err", err)
	} else {
		if adapters == nil {
			adapters = r.c.adaptersOf(r.stream, msg.nsp)
		}
		for _, a := range adapters {
			a.onEntry(id, msg)
		}
	}
}

// advance records that the entries up to id were handled.
func (r *reader) advance(id streamID, start bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if start {
		r.started = true
	}
	if r.pos.less(id) || start {
		r.pos = id
	}
	close(r.moved)
	r.moved = make(chan struct{})
}

// position returns the last entry handled, and whether it is known yet.
func (r *reader) position() (streamID, bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos, r.started, r.moved
}

// waitStarted waits until the reader knows where it reads from.
func (r *reader) waitStarted(ctx context.Context, timeout time.Duration) bool {
	return r.waitUntil(ctx, timeout, func(_ streamID, started bool) bool { return started })
}

// waitHandled waits until the entry id has been handled.
func (r *reader) waitHandled(ctx context.Context, timeout time.Duration, id streamID) bool {
	return r.waitUntil(ctx, timeout, func(pos streamID, started bool) bool { return started && !pos.less(id) })
}

// waitUntil waits until cond holds of the reader's position, for timeout
// at most (none when negative).
func (r *reader) waitUntil(ctx context.Context, timeout time.Duration, cond func(streamID, bool) bool) bool {
	var timer <-chan time.Time
	for {
		pos, started, moved := r.position()
		if cond(pos, started) {
			return true
		}
		if timer == nil && timeout >= 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-moved:
		case <-timer:
			return false
		case <-ctx.Done():
			return false
		case <-r.done:
			return false
		}
	}
}

// skipUnselected returns the adapters of as that have a socket the
// broadcast entry (uid, JSON data text) selects, reading only its opts:
// the packet of a broadcast that no socket of this node gets (a packet
// for another node's socket, or its room) is not decoded. An entry whose
// opts cannot be read this way goes to every adapter, which decode it in
// full.
func skipUnselected(id streamID, uid, text string, as []*Adapter) []*Adapter {
	if len(as) == 0 || text[0] != '{' {
		return as
	}
	vals, ok := objectFields(text, "opts", "requestId")
	if !ok || vals[0] == "" || vals[1] != "" {
		return as
	}
	v, err := jsvalue.FromPlainJSON([]byte(vals[0]))
	if err != nil {
		return as
	}
	opts := clusterwire.TreeOpts(v)
	keep := as[:0]
	for _, a := range as {
		if !a.skipBroadcast(id, uid, opts) {
			keep = append(keep, a)
		}
	}
	return keep
}
