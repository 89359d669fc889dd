package store

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/chat"
)

var _ chat.ReadMarkerStore = (*DB)(nil)

// markReadSQL moves a marker forward in one statement: the new value is
// the asked id capped at the room's newest message (read from the end of
// the (room_id, id) index), and the upsert keeps the higher of the old
// and new values. An unknown room selects no row and inserts nothing.
const (
	markReadSQLite = `
	INSERT INTO read_markers (user_id, room_id, last_read_id)
	SELECT ?, r.id, MIN(?, COALESCE((SELECT MAX(m.id) FROM messages m WHERE m.room_id = r.id), 0))
	FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
	WHERE n.endpoint = ? AND r.title = ?
	ON CONFLICT (user_id, room_id) DO UPDATE SET last_read_id = excluded.last_read_id
	WHERE excluded.last_read_id > read_markers.last_read_id`

	markReadPostgres = `
	INSERT INTO read_markers (user_id, room_id, last_read_id)
	SELECT ?, r.id, LEAST(?::bigint, COALESCE((SELECT MAX(m.id) FROM messages m WHERE m.room_id = r.id), 0))
	FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
	WHERE n.endpoint = ? AND r.title = ?
	ON CONFLICT (user_id, room_id) DO UPDATE SET last_read_id = excluded.last_read_id
	WHERE excluded.last_read_id > read_markers.last_read_id`
)

func (d *DB) markReadSQL() string {
	if d.dialect == postgresDialect {
		return markReadPostgres
	}
	return markReadSQLite
}

// MarkRead implements chat.ReadMarkerStore.
func (d *DB) MarkRead(ctx context.Context, userID int64, namespace, room string, id int64) error {
	if id <= 0 {
		return nil // at or below every marker
	}
	st, err := d.stmt(ctx, d.markReadSQL())
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	if _, err := st.ExecContext(ctx, userID, id, namespace, room); err != nil {
		return fmt.Errorf("store: mark read in %s %s: %w", namespace, room, err)
	}
	return nil
}

// MarkReadMany implements chat.ReadMarkerStore: one transaction (one
// commit) for all of marks.
func (d *DB) MarkReadMany(ctx context.Context, marks []chat.ReadMark) error {
	st, err := d.stmt(ctx, d.markReadSQL())
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	defer tx.Rollback()
	tst := tx.StmtContext(ctx, st)
	for _, m := range marks {
		if m.ID <= 0 {
			continue
		}
		if _, err := tst.ExecContext(ctx, m.UserID, m.ID, m.Namespace, m.Room); err != nil {
			return fmt.Errorf("store: mark read in %s %s: %w", m.Namespace, m.Room, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	return nil
}

// The count of one room's unread messages reads at most limit entries of
// the (room_id, id) index after the marker (plus the user's own messages
// among them, skipped): COUNT over a LIMIT subquery, never the whole
// room. On PostgreSQL the room is an array of one and the order is asked
// as (room_id, id), for the reason given at lastMessagesPostgres: only
// that index then gives the order, and a generic plan cannot choose to
// walk the primary key past the messages of other rooms.
const (
	unreadRoomsSQL = `
	SELECT r.id, r.title, COALESCE(rm.last_read_id, 0)
	FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
	LEFT JOIN read_markers rm ON rm.room_id = r.id AND rm.user_id = ?
	WHERE n.endpoint = ?
	ORDER BY r.id`

	unreadCountSQLite = `
	SELECT COUNT(*) FROM (
		SELECT 1 FROM messages m
		WHERE m.room_id = ? AND m.id > ? AND m.user_id <> ?
		ORDER BY m.id LIMIT ?
	) AS unread`

	unreadCountPostgres = `
	SELECT COUNT(*) FROM (
		SELECT 1 FROM messages m
		WHERE m.room_id = ANY (ARRAY[?::bigint]) AND m.id > ? AND m.user_id <> ?
		ORDER BY m.room_id, m.id LIMIT ?
	) AS unread`
)

func (d *DB) unreadCountSQL() string {
	if d.dialect == postgresDialect {
		return unreadCountPostgres
	}
	return unreadCountSQLite
}

// roomMarker is a room of a namespace with a user's marker in it.
type roomMarker struct {
	id, marker int64
	title      string
}

// roomMarkers reads the rooms of the namespace with the user's markers,
// by id, in one query.
func (d *DB) roomMarkers(ctx context.Context, userID int64, namespace string) ([]roomMarker, error) {
	st, err := d.stmt(ctx, unreadRoomsSQL)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, userID, namespace)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rooms []roomMarker
	for rows.Next() {
		var r roomMarker
		if err := rows.Scan(&r.id, &r.title, &r.marker); err != nil {
			return nil, err
		}
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// Markers implements chat.ReadMarkerStore: one query, the rooms of the
// namespace with the user's markers.
func (d *DB) Markers(ctx context.Context, userID int64, namespace string) (map[string]int64, error) {
	rooms, err := d.roomMarkers(ctx, userID, namespace)
	if err != nil {
		return nil, fmt.Errorf("store: read markers: %w", err)
	}
	out := make(map[string]int64, len(rooms))
	for _, r := range rooms {
		out[r.title] = r.marker
	}
	return out, nil
}

// UnreadCounts implements chat.ReadMarkerStore: one query for the rooms
// and their markers, then one bounded count per room.
func (d *DB) UnreadCounts(ctx context.Context, userID int64, namespace string, limit int) (map[string]int, error) {
	rooms, err := d.roomMarkers(ctx, userID, namespace)
	if err != nil {
		return nil, fmt.Errorf("store: unread counts: %w", err)
	}
	out := make(map[string]int, len(rooms))
	if limit <= 0 {
		for _, r := range rooms {
			out[r.title] = 0
		}
		return out, nil
	}
	cst, err := d.stmt(ctx, d.unreadCountSQL())
	if err != nil {
		return nil, fmt.Errorf("store: unread counts: %w", err)
	}
	for _, r := range rooms {
		var n int
		if err := cst.QueryRowContext(ctx, r.id, r.marker, userID, limit).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: unread count of %s %s: %w", namespace, r.title, err)
		}
		out[r.title] = n
	}
	return out, nil
}
