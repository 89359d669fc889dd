package store

import "context"

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

// InsertMessages stores n messages in the given room in one transaction,
// for benchmarks that need a large room (tests only). On PostgreSQL the
// table statistics are then refreshed, as autovacuum would.
func (d *DB) InsertMessages(ctx context.Context, namespace, room string, userID int64, n int) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var roomID int64
	if err := tx.QueryRowContext(ctx, d.q(`
		SELECT r.id FROM rooms r JOIN namespaces n ON n.id = r.namespace_id
		WHERE n.endpoint = ? AND r.title = ?`), namespace, room).Scan(&roomID); err != nil {
		return err
	}
	for i := range n {
		if _, err := tx.ExecContext(ctx, d.q(`
			INSERT INTO messages (room_id, user_id, username, text, time_ms) VALUES (?, ?, ?, ?, ?)`),
			roomID, userID, "bulk", "bulk message", int64(i)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if d.dialect == postgresDialect {
		_, err = d.db.ExecContext(ctx, `ANALYZE messages`)
	}
	return err
}
