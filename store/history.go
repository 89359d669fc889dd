package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/chatd/chatd/chat"
)

// MessagesBefore returns the newest limit messages of a room with ids
// below beforeID, oldest first.
func (d *DB) MessagesBefore(ctx context.Context, namespace, room string, beforeID int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return []chat.Message{}, nil
	}
	rows, err := d.db.QueryContext(ctx, d.lastMessagesSQL(), namespace, room, beforeID, limit)
	if err != nil {
		return nil, err
	}
	return scanRoomMessages(rows, namespace, room)
}

// findMessageSQL reads one message with its namespace and room.
const findMessageSQL = `
	SELECT m.id, m.user_id, m.username, m.text, m.time_ms, m.edited_ms, n.endpoint, r.title
	FROM messages m JOIN rooms r ON r.id = m.room_id JOIN namespaces n ON n.id = r.namespace_id
	WHERE m.id = ?`

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// findMessage reads the message id through q; forUpdate locks its row
// until the end of the transaction on PostgreSQL (a SQLite write
// transaction holds the database's write lock from its start).
func (d *DB) findMessage(ctx context.Context, q queryRower, id int64, forUpdate bool) (chat.Message, error) {
	query := findMessageSQL
	if forUpdate && d.dialect == postgresDialect {
		query += " FOR UPDATE OF m"
	}
	var m chat.Message
	err := q.QueryRowContext(ctx, d.q(query), id).Scan(&m.ID, &m.UserID, &m.Username, &m.Text, &m.Time, &m.Edited, &m.Namespace, &m.Room)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Message{}, chat.Errorf(chat.ENOTFOUND, "no message %d", id)
	}
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: find message: %w", err)
	}
	return m, nil
}

// FindMessage returns the message with the given id.
func (d *DB) FindMessage(ctx context.Context, id int64) (chat.Message, error) {
	return d.findMessage(ctx, d.db, id, false)
}

// EditMessage replaces the text and the edit time of message id.
func (d *DB) EditMessage(ctx context.Context, id int64, text string, edited int64) (chat.Message, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, d.q(`UPDATE messages SET text = ?, edited_ms = ? WHERE id = ?`), text, edited, id)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: edit message: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return chat.Message{}, err
	} else if n == 0 {
		return chat.Message{}, chat.Errorf(chat.ENOTFOUND, "no message %d", id)
	}
	m, err := d.findMessage(ctx, tx, id, false)
	if err != nil {
		return chat.Message{}, err
	}
	if err := tx.Commit(); err != nil {
		return chat.Message{}, fmt.Errorf("store: commit edit: %w", err)
	}
	return m, nil
}

// DeleteMessage removes message id, writing a Deletion first when by is
// not its author.
func (d *DB) DeleteMessage(ctx context.Context, id int64, by chat.User) (chat.Message, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	m, err := d.findMessage(ctx, tx, id, true)
	if err != nil {
		return chat.Message{}, err
	}
	if m.UserID != by.ID {
		if _, err := tx.ExecContext(ctx, d.q(`
			INSERT INTO message_deletions (message_id, namespace, room, author_id, author,
				deleter_id, deleter, text, posted_ms, deleted_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			m.ID, m.Namespace, m.Room, m.UserID, m.Username, by.ID, by.Name, m.Text, m.Time, ms(d.now())); err != nil {
			return chat.Message{}, fmt.Errorf("store: audit a deletion: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM messages WHERE id = ?`), id); err != nil {
		return chat.Message{}, fmt.Errorf("store: delete message: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Message{}, fmt.Errorf("store: commit deletion: %w", err)
	}
	return m, nil
}

// Deletions returns the newest limit audit records of messages deleted
// by someone other than their author, newest first.
func (d *DB) Deletions(ctx context.Context, limit int) ([]chat.Deletion, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`
		SELECT message_id, namespace, room, author_id, author, deleter_id, deleter, text, posted_ms, deleted_ms
		FROM message_deletions ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Deletion{}
	for rows.Next() {
		var x chat.Deletion
		if err := rows.Scan(&x.MessageID, &x.Namespace, &x.Room, &x.AuthorID, &x.Author,
			&x.DeleterID, &x.Deleter, &x.Text, &x.Posted, &x.Deleted); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// The queries of SearchMessages, newest first, in one room ("m.room_id =
// ?") or in the rooms of a namespace ("r.namespace_id = ?"). SQLite reads
// the FTS5 index of the words, from the newest rowid down (CROSS JOIN
// keeps that table first), and stops after limit rows in scope.
// PostgreSQL matches the GIN-indexed tsvector.
const (
	searchSQLite = `
	SELECT m.id, m.user_id, m.username, m.text, m.time_ms, m.edited_ms, r.title
	FROM messages_fts f CROSS JOIN messages m CROSS JOIN rooms r
	WHERE messages_fts MATCH ? AND m.id = f.rowid AND r.id = m.room_id AND %s
	ORDER BY f.rowid DESC LIMIT ?`

	searchPostgres = `
	SELECT m.id, m.user_id, m.username, m.text, m.time_ms, m.edited_ms, r.title
	FROM messages m JOIN rooms r ON r.id = m.room_id
	WHERE m.search @@ plainto_tsquery('simple', ?) AND %s
	ORDER BY m.id DESC LIMIT ?`
)

// searchSQL returns the query of SearchMessages for the database and
// scope, and the match argument of words.
func (d *DB) searchSQL(inRoom bool, words []string) (string, string) {
	scope := "r.namespace_id = ?"
	if inRoom {
		scope = "m.room_id = ?"
	}
	if d.dialect == postgresDialect {
		// plainto_tsquery takes text, not syntax: its words are ANDed.
		return d.q(fmt.Sprintf(searchPostgres, scope)), strings.Join(words, " ")
	}
	// Each word a string (FTS5 phrase) of its own, so that nothing in it
	// is syntax; the phrases are ANDed.
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return fmt.Sprintf(searchSQLite, scope), strings.Join(quoted, " ")
}

// SearchMessages returns up to limit messages of the namespace (or of its
// room) holding every one of words, newest first.
func (d *DB) SearchMessages(ctx context.Context, namespace, room string, words []string, limit int) ([]chat.Message, error) {
	out := []chat.Message{}
	var scopeID int64
	if room != "" {
		r, err := d.FindRoom(ctx, namespace, room)
		if err != nil {
			return nil, err
		}
		scopeID = r.ID
	} else {
		ns, err := d.FindNamespace(ctx, namespace)
		if chat.ErrorCode(err) == chat.ENOTFOUND {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		scopeID = ns.ID
	}
	if len(words) == 0 || limit <= 0 {
		return out, nil
	}
	query, match := d.searchSQL(room != "", words)
	rows, err := d.db.QueryContext(ctx, query, match, scopeID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m := chat.Message{Namespace: namespace}
		if err := rows.Scan(&m.ID, &m.UserID, &m.Username, &m.Text, &m.Time, &m.Edited, &m.Room); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
