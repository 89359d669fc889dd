package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// AppendMessage stores msg in one transaction, committed before it returns.
func (d *DB) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	if msg.Time == 0 {
		msg.Time = ms(d.now())
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return chat.Message{}, err
	}
	defer tx.Rollback()
	var roomID int64
	err = tx.QueryRowContext(ctx, d.q(`
		SELECT r.id FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
		WHERE n.endpoint = ? AND r.title = ?`), msg.Namespace, msg.Room).Scan(&roomID)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Message{}, chat.Errorf(chat.ENOTFOUND, "unknown room %q", msg.Room)
	}
	if err != nil {
		return chat.Message{}, err
	}
	err = tx.QueryRowContext(ctx, d.q(`
		INSERT INTO messages (room_id, user_id, username, text, time_ms) VALUES (?, ?, ?, ?, ?)
		RETURNING id`),
		roomID, msg.UserID, msg.Username, msg.Text, msg.Time).Scan(&msg.ID)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: insert message: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Message{}, fmt.Errorf("store: commit message: %w", err)
	}
	return msg, nil
}

// LastMessages returns the last limit messages of a room, oldest first.
func (d *DB) LastMessages(ctx context.Context, namespace, room string, limit int) ([]chat.Message, error) {
	out := []chat.Message{}
	if limit <= 0 {
		return out, nil
	}
	rows, err := d.db.QueryContext(ctx, d.q(`
		SELECT id, user_id, username, text, time_ms FROM (
			SELECT m.id, m.user_id, m.username, m.text, m.time_ms
			FROM messages m
			JOIN rooms r ON r.id = m.room_id
			JOIN namespaces n ON n.id = r.namespace_id
			WHERE n.endpoint = ? AND r.title = ?
			ORDER BY m.id DESC LIMIT ?
		) AS last ORDER BY id`), namespace, room, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		m := chat.Message{Namespace: namespace, Room: room}
		if err := rows.Scan(&m.ID, &m.UserID, &m.Username, &m.Text, &m.Time); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
