package store

import (
	"context"
	"math"
	"strings"
)

// Pragma returns the value of a PRAGMA on a pooled connection (tests only).
func (d *DB) Pragma(ctx context.Context, name string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// RawSessionKeys returns the stored session keys (tests only).
func (d *DB) RawSessionKeys(ctx context.Context) ([][]byte, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT token_hash FROM sessions`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// InsertMessages stores n messages "bulk message" in the given room in
// one transaction, for benchmarks that need a large room (tests only; see
// GenerateMessages).
func (d *DB) InsertMessages(ctx context.Context, namespace, room string, userID int64, n int) error {
	return d.GenerateMessages(ctx, namespace, room, userID, n, func(int) string { return "bulk message" })
}

// ExplainLastMessages returns the query plan of the query of LastMessages,
// one line per step (tests only).
func (d *DB) ExplainLastMessages(ctx context.Context, namespace, room string, limit int) (string, error) {
	return d.explain(ctx, d.lastMessagesSQL(), namespace, room, int64(math.MaxInt64), limit)
}

// explain returns the plan of query, written for the database.
func (d *DB) explain(ctx context.Context, query string, args ...any) (string, error) {
	prefix, cols := "EXPLAIN ", 1
	if d.dialect == sqliteDialect {
		prefix, cols = "EXPLAIN QUERY PLAN ", 4 // id, parent, notused, detail
	}
	rows, err := d.db.QueryContext(ctx, prefix+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, cols)
		var line string
		for i := range vals {
			vals[i] = new(any)
		}
		vals[cols-1] = &line
		if err := rows.Scan(vals...); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), rows.Err()
}

// MessageCommits returns how many message transactions the DB has
// committed (tests only).
func (d *DB) MessageCommits() int64 { return d.appends.commits.Load() }

// MaxBatch is the most messages stored in one transaction.
const MaxBatch = maxBatch

// AppendHooks are called by the group commit of AppendMessage (tests only).
// Each may be nil.
type AppendHooks struct {
	// Queued is called by AppendMessage once its message is queued.
	Queued func()
	// Batch is called by the writer with the number of messages of a
	// batch, before it stores them; they are then stored whether or
	// not their callers give up.
	Batch func(n int)
	// Closing is called by Close once new appends fail, before it waits
	// for the queued ones.
	Closing func()
}

// SetAppendHooks installs hooks; call it before the first AppendMessage.
func (d *DB) SetAppendHooks(h AppendHooks) {
	d.appends.mu.Lock()
	defer d.appends.mu.Unlock()
	d.appends.onQueued, d.appends.onBatch, d.appends.onClosing = h.Queued, h.Batch, h.Closing
}
