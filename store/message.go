package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/chatd/chatd/chat"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Group commit. AppendMessage does not run a transaction of its own: it
// queues the message and waits. One writer goroutine, started when a
// message is queued and none is running and ending when the queue is
// empty, takes up to maxBatch queued messages at a time and stores them in
// one transaction, so concurrent appends share a commit (and its fsync)
// instead of queueing for the write lock one by one. A lone message is
// taken at once: nothing waits for company, the batches are what queued
// while the previous commit ran.
//
// Each message gets its own result. The room is looked up by the insert
// itself (INSERT ... SELECT), so an unknown room is a message without a
// row, not an error in the transaction, and only its caller gets
// ENOTFOUND. Any other failed insert (an unknown user, say) aborts a
// PostgreSQL transaction; the batch is then rolled back, with nothing
// stored, and its messages are stored again one transaction each, so that
// only the failing one gets the error.
//
// Context: a caller whose ctx ends while its message is queued gets
// ctx.Err() and the message is not stored (the writer skips it). Once the
// writer has taken it into a batch, the message is stored with the batch
// if the batch commits, although its caller may have given up already and
// got ctx.Err(): a caller that gets ctx.Err() does not know whether its
// message was stored (as with a single transaction whose commit is cut
// short). A message is never stored twice. The batch transaction is
// cancelled only when every caller in it has given up.
//
// Close stops new appends (ErrClosed) and waits for the writer to store
// what is queued.
//
// The batches are those of one DB: several processes on one SQLite file
// each have their own writer, and they take turns for the write lock
// (busy timeout) as before.

// maxBatch bounds the messages stored in one transaction.
const maxBatch = 128

// ErrClosed is the error of an AppendMessage called once Close has begun.
var ErrClosed = errors.New("store: database closed")

// appendReq is one queued AppendMessage call.
type appendReq struct {
	ctx  context.Context
	msg  chat.Message
	done chan appendResult // buffered: the writer never waits for the caller
}

type appendResult struct {
	msg chat.Message
	err error
}

// appender is the queue of a DB's message writer.
type appender struct {
	mu      sync.Mutex
	queue   []*appendReq
	running bool // a writer goroutine runs; it ends when queue is empty
	closed  bool
	writer  sync.WaitGroup // the running writer

	commits atomic.Int64 // message transactions committed

	// Test hooks (export_test.go), nil otherwise; set before use.
	onQueued  func()      // an AppendMessage has queued its message
	onBatch   func(n int) // the writer is about to store a batch of n messages
	onClosing func()      // Close has stopped new appends and waits for the writer
}

// AppendMessage stores msg, in a transaction shared with the messages
// appended concurrently (see "Group commit" at the top of message.go), and
// returns once that transaction has committed.
func (d *DB) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	if err := ctx.Err(); err != nil {
		return chat.Message{}, err
	}
	if msg.Time == 0 {
		msg.Time = ms(d.now())
	}
	req := &appendReq{ctx: ctx, msg: msg, done: make(chan appendResult, 1)}
	a := &d.appends
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return chat.Message{}, ErrClosed
	}
	a.queue = append(a.queue, req)
	if !a.running {
		a.running = true
		a.writer.Add(1)
		go d.writeMessages()
	}
	a.mu.Unlock()
	if a.onQueued != nil {
		a.onQueued()
	}
	select {
	case r := <-req.done:
		return r.msg, r.err
	case <-ctx.Done():
		select {
		case r := <-req.done: // stored (or failed) all the same
			return r.msg, r.err
		default:
			return chat.Message{}, ctx.Err()
		}
	}
}

// closeAppends stops new appends and waits until the writer has stored the
// queued ones.
func (d *DB) closeAppends() {
	a := &d.appends
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	if a.onClosing != nil {
		a.onClosing()
	}
	a.writer.Wait()
}

// writeMessages is the writer goroutine: it stores the queued messages,
// up to maxBatch per transaction, until the queue is empty.
func (d *DB) writeMessages() {
	a := &d.appends
	defer a.writer.Done()
	batch := make([]*appendReq, 0, maxBatch)
	for {
		a.mu.Lock()
		if len(a.queue) == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		n := min(len(a.queue), maxBatch)
		batch = append(batch[:0], a.queue[:n]...)
		left := copy(a.queue, a.queue[n:])
		clear(a.queue[left:])
		a.queue = a.queue[:left]
		a.mu.Unlock()
		d.storeBatch(batch)
		clear(batch)
	}
}

// storeBatch stores the messages of reqs whose callers still wait, in one
// transaction, and answers every caller.
func (d *DB) storeBatch(reqs []*appendReq) {
	live := make([]*appendReq, 0, len(reqs))
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- appendResult{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if d.appends.onBatch != nil {
		d.appends.onBatch(len(live))
	}
	ctx, cancel := batchContext(live)
	results, err := d.insertMessages(ctx, live)
	cancel()
	var ie *insertError
	switch {
	case err == nil:
		for i, r := range live {
			r.done <- results[i]
		}
	case errors.As(err, &ie) && len(live) > 1:
		// Rolled back, nothing stored: store each message alone, so
		// that only the failing one gets an error.
		for _, r := range live {
			d.storeBatch([]*appendReq{r})
		}
	default:
		if ie != nil {
			err = ie.err
		}
		for _, r := range live {
			r.done <- appendResult{err: err}
		}
	}
}

// batchContext returns the context of the transaction of a batch: it is
// cancelled once the contexts of all its callers are done (never when one
// of them cannot be), or by cancel.
func batchContext(reqs []*appendReq) (context.Context, context.CancelFunc) {
	for _, r := range reqs {
		if r.ctx.Done() == nil { // a caller that never gives up
			return context.Background(), func() {}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waiting atomic.Int64
	waiting.Store(int64(len(reqs)))
	stops := make([]func() bool, len(reqs))
	for i, r := range reqs {
		stops[i] = context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// insertError is an insert that failed inside a batch transaction, which
// is then rolled back.
type insertError struct{ err error }

func (e *insertError) Error() string { return e.err.Error() }

// insertMessageSQL inserts a message into the room it names, or nothing
// when there is no such room. The casts give PostgreSQL the types of the
// parameters, which a SELECT list does not.
const insertMessageSQL = `
	INSERT INTO messages (room_id, user_id, username, text, time_ms)
	SELECT r.id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
	FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
	WHERE n.endpoint = ? AND r.title = ?
	RETURNING id`

// insertMessages stores the messages of reqs in one transaction and
// returns their results: the message with its ID, or ENOTFOUND for an
// unknown room. An error means nothing was stored, or, from the commit,
// that it is not known whether anything was; an *insertError means an
// insert failed and the transaction was rolled back.
func (d *DB) insertMessages(ctx context.Context, reqs []*appendReq) ([]appendResult, error) {
	if d.dialect == postgresDialect {
		return d.insertMessagesPostgres(ctx, reqs)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	query := insertMessageSQL // SQLite: no placeholders to rewrite
	queryRow := func(args ...any) *sql.Row { return tx.QueryRowContext(ctx, query, args...) }
	if len(reqs) > 1 {
		// Parse the statement once for the batch.
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return nil, &insertError{fmt.Errorf("store: insert message: %w", err)}
		}
		defer stmt.Close()
		queryRow = func(args ...any) *sql.Row { return stmt.QueryRowContext(ctx, args...) }
	}
	results := make([]appendResult, len(reqs))
	stored := 0
	for i, r := range reqs {
		m := r.msg
		err := queryRow(m.UserID, m.Username, m.Text, m.Time, m.Namespace, m.Room).Scan(&m.ID)
		if err := insertResult(&results[i], m, err); err != nil {
			return nil, err
		}
		if results[i].err == nil {
			stored++
		}
	}
	if stored == 0 {
		return results, nil // nothing to commit; the deferred rollback ends it
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: commit messages: %w", err)
	}
	d.appends.commits.Add(1)
	return results, nil
}

// insertResult sets *res to the result of the insert of m, given the error
// of its row, or returns an *insertError.
func insertResult(res *appendResult, m chat.Message, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows): // pgx.ErrNoRows is one too
		res.err = chat.Errorf(chat.ENOTFOUND, "unknown room %q", m.Room)
	case err != nil:
		return &insertError{fmt.Errorf("store: insert message: %w", err)}
	default:
		res.msg = m
	}
	return nil
}

// insertMessagesPostgres is insertMessages on PostgreSQL. The inserts go
// to the server in one pipelined batch, so that a transaction takes three
// round trips (begin, the inserts, commit) whatever the number of its
// messages. database/sql has no batches: this uses the pgx connection
// under it.
func (d *DB) insertMessagesPostgres(ctx context.Context, reqs []*appendReq) ([]appendResult, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	defer conn.Close()
	results := make([]appendResult, len(reqs))
	err = conn.Raw(func(driverConn any) error {
		tx, err := driverConn.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		// A failed rollback closes the connection, which database/sql
		// then discards; so does one left in a transaction.
		defer tx.Rollback(ctx)
		query := d.q(insertMessageSQL)
		var batch pgx.Batch
		for _, r := range reqs {
			m := r.msg
			batch.Queue(query, m.UserID, m.Username, m.Text, m.Time, m.Namespace, m.Room)
		}
		br := tx.SendBatch(ctx, &batch)
		stored := 0
		for i, r := range reqs {
			m := r.msg
			err := br.QueryRow().Scan(&m.ID)
			if err := insertResult(&results[i], m, err); err != nil {
				br.Close()
				return err
			}
			if results[i].err == nil {
				stored++
			}
		}
		if err := br.Close(); err != nil {
			return &insertError{fmt.Errorf("store: insert message: %w", err)}
		}
		if stored == 0 {
			return nil // nothing to commit; the deferred rollback ends it
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("store: commit messages: %w", err)
		}
		d.appends.commits.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// The queries of LastMessages and MessagesBefore select the last messages
// of a room below an id (the largest int64 for LastMessages), newest
// first, then order them oldest first. Both must read the (room_id, id)
// index backwards from that id and stop after limit rows, whatever the
// size of the room, and both look the room up first, in a subquery:
// joined to rooms, PostgreSQL reads and sorts every message of the room.
//
// SQLite reads "room_id = x AND id < y ORDER BY id DESC" from the index.
// PostgreSQL may as well read the primary key backwards and skip the
// messages of other rooms, which is as fast for the room with the newest
// messages and reads nearly the whole table for a small room whose
// messages are older (its generic plans do not know which room it is).
// Asking for the order (room_id, id), with the room as an array of one (an
// equality would make the first key redundant), leaves the (room_id, id)
// index as the only one that gives that order.
const (
	lastMessagesSQLite = `
	SELECT id, user_id, username, text, time_ms, edited_ms FROM (
		SELECT m.id, m.user_id, m.username, m.text, m.time_ms, m.edited_ms
		FROM messages m
		WHERE m.room_id = (
			SELECT r.id FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
			WHERE n.endpoint = ? AND r.title = ?)
		AND m.id < ?
		ORDER BY m.id DESC LIMIT ?
	) AS last ORDER BY id`

	lastMessagesPostgres = `
	SELECT id, user_id, username, text, time_ms, edited_ms FROM (
		SELECT m.id, m.user_id, m.username, m.text, m.time_ms, m.edited_ms
		FROM messages m
		WHERE m.room_id = ANY (ARRAY(
			SELECT r.id FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
			WHERE n.endpoint = ? AND r.title = ?))
		AND m.id < ?
		ORDER BY m.room_id DESC, m.id DESC LIMIT ?
	) AS last ORDER BY id`
)

// lastMessagesSQL returns the query of LastMessages and MessagesBefore
// for the database.
func (d *DB) lastMessagesSQL() string {
	if d.dialect == postgresDialect {
		return d.q(lastMessagesPostgres)
	}
	return lastMessagesSQLite
}

// LastMessages returns the last limit messages of a room, oldest first.
func (d *DB) LastMessages(ctx context.Context, namespace, room string, limit int) ([]chat.Message, error) {
	return d.MessagesBefore(ctx, namespace, room, math.MaxInt64, limit)
}

// scanRoomMessages reads rows of (id, user_id, username, text, time_ms,
// edited_ms), the messages of one room, and closes them; never nil.
func scanRoomMessages(rows *sql.Rows, namespace, room string) ([]chat.Message, error) {
	defer rows.Close()
	out := []chat.Message{}
	for rows.Next() {
		m := chat.Message{Namespace: namespace, Room: room}
		if err := rows.Scan(&m.ID, &m.UserID, &m.Username, &m.Text, &m.Time, &m.Edited); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
