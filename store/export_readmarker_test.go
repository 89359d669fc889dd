package store

import "context"

// ExplainUnreadCount returns the query plan of the count of one room's
// unread messages (tests only).
func (d *DB) ExplainUnreadCount(ctx context.Context, namespace, room string, marker, userID int64, limit int) (string, error) {
	var roomID int64
	if err := d.db.QueryRowContext(ctx, d.q(`
		SELECT r.id FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
		WHERE n.endpoint = ? AND r.title = ?`), namespace, room).Scan(&roomID); err != nil {
		return "", err
	}
	return d.explain(ctx, d.q(d.unreadCountSQL()), roomID, marker, userID, limit)
}
