package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatd/chatd/chat"
)

// CreateRoom adds a public room to the namespace with the given endpoint.
// The unique index on the title without regard to case (migration 00003)
// refuses a taken title.
func (d *DB) CreateRoom(ctx context.Context, endpoint, title string) (chat.Room, error) {
	r := chat.Room{Title: title, Namespace: endpoint}
	err := d.db.QueryRowContext(ctx, d.q(`
		INSERT INTO rooms (namespace_id, title, private)
		SELECT n.id, CAST(? AS TEXT), FALSE FROM namespaces n WHERE n.endpoint = ?
		RETURNING id`), title, endpoint).Scan(&r.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chat.Room{}, chat.Errorf(chat.ENOTFOUND, "unknown namespace %q", endpoint)
	case isUniqueViolation(err):
		return chat.Room{}, chat.Errorf(chat.ECONFLICT, "room title %q is taken", title)
	case err != nil:
		return chat.Room{}, fmt.Errorf("store: create room: %w", err)
	}
	return r, nil
}

// DeleteRoom removes the room whose title matches title without regard to
// case; its messages go with it (ON DELETE CASCADE, which the triggers of
// the SQLite search index follow).
func (d *DB) DeleteRoom(ctx context.Context, endpoint, title string) (chat.Room, error) {
	match := "r.title = ? COLLATE NOCASE"
	if d.dialect == postgresDialect {
		match = "lower(r.title) = lower(?)"
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	var r chat.Room
	err = tx.QueryRowContext(ctx, d.q(`
		SELECT r.id, r.title, n.endpoint, r.private
		FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
		WHERE n.endpoint = ? AND `+match), endpoint, title).Scan(&r.ID, &r.Title, &r.Namespace, &r.Private)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Room{}, chat.Errorf(chat.ENOTFOUND, "unknown room %q", title)
	}
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: find room: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM rooms WHERE id = ?`), r.ID); err != nil {
		return chat.Room{}, fmt.Errorf("store: delete room: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Room{}, fmt.Errorf("store: commit room deletion: %w", err)
	}
	return r, nil
}
