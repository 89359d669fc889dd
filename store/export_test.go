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
