package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/chatd/chatd/chat"
)

// ListNamespaces returns the namespaces role may enter, ordered by id.
func (d *DB) ListNamespaces(ctx context.Context, role chat.Role) ([]chat.Namespace, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT id, title, img, endpoint, min_role FROM namespaces ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Namespace{}
	for rows.Next() {
		var ns chat.Namespace
		if err := rows.Scan(&ns.ID, &ns.Title, &ns.Img, &ns.Endpoint, &ns.MinRole); err != nil {
			return nil, err
		}
		if role.MayEnter(ns) {
			out = append(out, ns)
		}
	}
	return out, rows.Err()
}

// FindNamespace returns the namespace with the given endpoint.
func (d *DB) FindNamespace(ctx context.Context, endpoint string) (chat.Namespace, error) {
	var ns chat.Namespace
	err := d.db.QueryRowContext(ctx, d.q(
		`SELECT id, title, img, endpoint, min_role FROM namespaces WHERE endpoint = ?`), endpoint).
		Scan(&ns.ID, &ns.Title, &ns.Img, &ns.Endpoint, &ns.MinRole)
	if errors.Is(err, sql.ErrNoRows) {
		return ns, chat.Errorf(chat.ENOTFOUND, "unknown namespace %q", endpoint)
	}
	return ns, err
}

// ListRooms returns the rooms of the namespace with the given endpoint,
// ordered by id.
func (d *DB) ListRooms(ctx context.Context, endpoint string) ([]chat.Room, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`
		SELECT r.id, r.title, n.endpoint, r.private
		FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
		WHERE n.endpoint = ? ORDER BY r.id`), endpoint)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.Room{}
	for rows.Next() {
		var r chat.Room
		if err := rows.Scan(&r.ID, &r.Title, &r.Namespace, &r.Private); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindRoom returns the room with the given title in the namespace with the
// given endpoint.
func (d *DB) FindRoom(ctx context.Context, endpoint, title string) (chat.Room, error) {
	var r chat.Room
	err := d.db.QueryRowContext(ctx, d.q(`
		SELECT r.id, r.title, n.endpoint, r.private
		FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
		WHERE n.endpoint = ? AND r.title = ?`), endpoint, title).
		Scan(&r.ID, &r.Title, &r.Namespace, &r.Private)
	if errors.Is(err, sql.ErrNoRows) {
		return r, chat.Errorf(chat.ENOTFOUND, "unknown room %q", title)
	}
	return r, err
}
