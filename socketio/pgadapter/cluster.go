package pgadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/internal/lograte"
)

// CreateTable creates the attachments table of the reference adapter if it
// does not exist: an id (bigserial), the creation time and the MessagePack
// payload of a message. name is Options.TableName ("" for the default).
func CreateTable(ctx context.Context, pool *pgxpool.Pool, name string) error {
	if name == "" {
		name = Options{}.withDefaults().TableName
	}
	_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+tableSQL(name)+` (
	id          bigserial UNIQUE,
	created_at  timestamptz DEFAULT NOW(),
	payload     bytea
)`)
	if err != nil {
		return fmt.Errorf("pgadapter: creating table %s: %w", name, err)
	}
	return nil
}

// cluster is what the adapters of one Factory share: the pool, the
// listening connection and the cleanup of the table.
type cluster struct {
	pool  *pgxpool.Pool
	opts  Options
	table string
	log   *slog.Logger
	errs  lograte.Limiter

	mu       sync.Mutex
	adapters map[string]*Adapter // by namespace
	dirty    bool                // channels were added since the last LISTEN
	wake     context.CancelFunc  // interrupts the wait for notifications
	stop     context.CancelFunc  // ends the listener and the cleanup
	done     chan struct{}       // closed when they have ended
}

// New returns a Factory of adapters sharing rooms and broadcasts through
// the PostgreSQL database of pool (LISTEN/NOTIFY and the table
// Options.TableName, which must exist: see CreateTable), for
// socketio.Options.Adapter. The pool stays the caller's: close it after
// the server. Give each server a Factory of its own.
func New(pool *pgxpool.Pool, opts Options) adapter.Factory {
	opts = opts.withDefaults()
	c := &cluster{
		pool:     pool,
		opts:     opts,
		table:    tableSQL(opts.TableName),
		log:      opts.Logger,
		adapters: make(map[string]*Adapter),
	}
	return func(e adapter.Emitter) adapter.Adapter { return c.newAdapter(e) }
}

// NewAdapter returns the adapter of namespace e on pool, as the Factory of
// New makes it, with a listening connection of its own.
func NewAdapter(e adapter.Emitter, pool *pgxpool.Pool, opts Options) *Adapter {
	return New(pool, opts)(e).(*Adapter)
}

// join registers a, starting the listener with the first adapter.
func (c *cluster) join(a *Adapter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.adapters[a.nsp] = a
	c.dirty = true
	if c.wake != nil {
		c.wake()
	}
	if c.stop == nil {
		ctx, stop := context.WithCancel(context.Background())
		c.stop, c.done = stop, make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); c.listen(ctx) }()
		go func() { defer wg.Done(); c.cleanup(ctx) }()
		done := c.done
		go func() { wg.Wait(); close(done) }()
	}
}

// leave unregisters a, stopping the listener with the last adapter.
func (c *cluster) leave(a *Adapter) {
	c.mu.Lock()
	if c.adapters[a.nsp] == a {
		delete(c.adapters, a.nsp)
	}
	var done chan struct{}
	if len(c.adapters) == 0 && c.stop != nil {
		c.stop()
		done = c.done
		c.stop, c.done = nil, nil
	}
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

// isOwn reports whether uid is that of one of the cluster's adapters.
func (c *cluster) isOwn(uid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.adapters {
		if a.uid == uid {
			return true
		}
	}
	return false
}

// listen keeps a connection LISTENing to the channels of the namespaces,
// connecting again, after a pause, when it is lost.
func (c *cluster) listen(ctx context.Context) {
	delay := time.Duration(0)
	for {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		err := c.serve(ctx)
		if ctx.Err() != nil {
			return
		}
		c.errs.Warn(c.log, "pgadapter: listening connection lost; connecting again", err)
		delay = min(max(2*delay, 100*time.Millisecond), 2*time.Second)
	}
}

// serve acquires a connection, LISTENs and dispatches the notifications
// until the connection fails or ctx ends.
func (c *cluster) serve(ctx context.Context) error {
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: it keeps its LISTENs.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	listened := make(map[string]bool)
	for {
		c.mu.Lock()
		c.dirty = false
		var fresh []*Adapter
		for _, a := range c.adapters {
			if !listened[a.channel] {
				fresh = append(fresh, a)
			}
		}
		c.mu.Unlock()
		for _, a := range fresh {
			if !listened[a.channel] {
				if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{a.channel}.Sanitize()); err != nil {
					return err
				}
				listened[a.channel] = true
			}
			a.markReady()
		}
		wctx, cancel := context.WithCancel(ctx)
		c.mu.Lock()
		if c.dirty {
			c.mu.Unlock()
			cancel()
			continue
		}
		c.wake = cancel
		c.mu.Unlock()
		n, err := conn.WaitForNotification(wctx)
		c.mu.Lock()
		c.wake = nil
		c.mu.Unlock()
		woken := wctx.Err() != nil
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if woken && !conn.IsClosed() {
				continue
			}
			return err
		}
		c.dispatch(ctx, n)
	}
}

// dispatch decodes a notification and hands it to the adapter of its
// namespace.
func (c *cluster) dispatch(ctx context.Context, n *pgconn.Notification) {
	m, err := c.decode(ctx, []byte(n.Payload))
	if err != nil {
		c.log.Debug("pgadapter: ignoring notification", "channel", n.Channel, "err", err)
		return
	}
	if m == nil {
		return // own message
	}
	c.mu.Lock()
	a := c.adapters[m.nsp]
	c.mu.Unlock()
	if a != nil {
		a.onMessage(m)
	}
}

// decode decodes a notification payload, fetching the message from the
// table when the payload refers to it. It returns nil for a message of
// this cluster's own adapters.
func (c *cluster) decode(ctx context.Context, payload []byte) (*message, error) {
	m, uid, att, err := parsePayload(payload)
	if err != nil || c.isOwn(uid) {
		return nil, err
	}
	if m != nil {
		return m, nil
	}
	var b []byte
	qctx, cancel := context.WithTimeout(ctx, c.opts.RequestsTimeout)
	defer cancel()
	err = c.pool.QueryRow(qctx, "SELECT payload FROM "+c.table+" WHERE id = $1", att).Scan(&b)
	if err != nil {
		return nil, fmt.Errorf("pgadapter: reading attachment %d: %w", att, err)
	}
	m, err = decodeRow(b)
	if err != nil {
		return nil, fmt.Errorf("pgadapter: attachment %d: %w", att, err)
	}
	return m, nil
}

// parsePayload decodes the JSON payload of a notification: the message,
// or, when the payload refers to a row of the table, its id (and a nil
// message). uid is the sender's.
func parsePayload(payload []byte) (m *message, uid string, att int64, err error) {
	v, err := jsvalue.FromPlainJSON(payload)
	if err != nil {
		return nil, "", 0, err
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, "", 0, errors.New("pgadapter: payload is not an object")
	}
	uid, _ = o.GetString("uid")
	if a, ok := o.Get("attachmentId"); ok {
		att, err = attachmentID(a)
		return nil, uid, att, err
	}
	m, err = messageOf(o)
	return m, uid, 0, err
}

// decodeRow decodes the MessagePack payload of a row of the table.
func decodeRow(b []byte) (*message, error) {
	v, err := jsvalue.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("pgadapter: row payload is not a map")
	}
	return messageOf(o)
}

// attachmentID reads the attachmentId of a payload: a string (as node-pg
// returns bigint values) or a number.
func attachmentID(v any) (int64, error) {
	switch x := v.(type) {
	case string:
		return strconv.ParseInt(x, 10, 64)
	default:
		if n, ok := integer(v); ok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("pgadapter: attachmentId %v", v)
}

// publish sends a message on the channel of its namespace: as the JSON
// payload of a NOTIFY, or, when it holds binary values or is too large, in
// a row of the table whose id the NOTIFY carries.
func (c *cluster) publish(ctx context.Context, m *message) error {
	obj := m.tree()
	text, atts, err := jsvalue.JSON(obj)
	if err != nil {
		return err
	}
	channel := c.opts.channelOf(m.nsp)
	if len(atts) > 0 || len(text) > c.opts.PayloadThreshold || len(text) >= maxNotifyPayload {
		b, err := jsvalue.Marshal(obj)
		if err != nil {
			return err
		}
		var id int64
		if err := c.pool.QueryRow(ctx, "INSERT INTO "+c.table+" (payload) VALUES ($1) RETURNING id", b).Scan(&id); err != nil {
			c.errs.Warn(c.log, "pgadapter: cannot store a message", err)
			return fmt.Errorf("pgadapter: storing a message: %w", err)
		}
		h := &jsvalue.Object{}
		h.Set("uid", m.uid)
		h.Set("type", int64(m.typ))
		h.Set("attachmentId", strconv.FormatInt(id, 10))
		text, _, err = jsvalue.JSON(h)
		if err != nil {
			return err
		}
	}
	if _, err := c.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(text)); err != nil {
		c.errs.Warn(c.log, "pgadapter: cannot notify", err)
		return fmt.Errorf("pgadapter: notifying: %w", err)
	}
	return nil
}

// cleanup removes the old rows of the table every CleanupInterval.
func (c *cluster) cleanup(ctx context.Context) {
	t := time.NewTicker(c.opts.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := c.pool.Exec(ctx, "DELETE FROM "+c.table+" WHERE created_at < now() - $1 * interval '1 millisecond'", c.opts.CleanupInterval.Milliseconds())
		if err != nil && ctx.Err() == nil {
			c.errs.Warn(c.log, "pgadapter: cannot remove old attachments", err)
		}
	}
}
