package store

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/chatd/chatd/migrations"
	"github.com/pressly/goose/v3"
)

// MigrateDownTo rolls the schema back to version v (tests only).
func (d *DB) MigrateDownTo(ctx context.Context, v int64) error {
	goDialect, fsys := goose.DialectSQLite3, fs.FS(migrations.FS)
	if d.dialect == postgresDialect {
		goDialect, fsys = goose.DialectPostgres, migrations.Postgres
	}
	p, err := goose.NewProvider(goDialect, d.db, fsys)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, v)
	return err
}

// MigrateUp applies the pending migrations again (tests only).
func (d *DB) MigrateUp(ctx context.Context) error {
	return d.migrateOnce(ctx, slog.New(slog.DiscardHandler), nil)
}

// ExplainSearch returns the query plan of SearchMessages in the rooms of
// the namespace with id nsID (tests only); on PostgreSQL, planned without
// sequential scans.
func (d *DB) ExplainSearch(ctx context.Context, nsID int64, words []string) (string, error) {
	query, match := d.searchSQL(false, words)
	if d.dialect != postgresDialect {
		return d.explain(ctx, query, match, nsID, 50)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		return "", err
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN "+query, match, nsID, 50)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), rows.Err()
}

// GenerateMessages stores n messages in the given room in one
// transaction, text(i) the text of the i-th, with multi-row inserts (for
// benchmarks that need a room of a million messages; tests only). The
// search index follows (triggers, generated column); on PostgreSQL the
// table statistics are then refreshed, as autovacuum would.
func (d *DB) GenerateMessages(ctx context.Context, namespace, room string, userID int64, n int, text func(i int) string) error {
	const rowsPerInsert = 500
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
	var stmt *sql.Stmt
	for start := 0; start < n; start += rowsPerInsert {
		k := min(rowsPerInsert, n-start)
		if stmt == nil || k != rowsPerInsert {
			var b strings.Builder
			b.WriteString(`INSERT INTO messages (room_id, user_id, username, text, time_ms) VALUES `)
			for i := range k {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?)")
			}
			if stmt != nil {
				stmt.Close()
			}
			if stmt, err = tx.PrepareContext(ctx, d.q(b.String())); err != nil {
				return err
			}
		}
		args := make([]any, 0, 5*k)
		for i := start; i < start+k; i++ {
			args = append(args, roomID, userID, "bulk", text(i), int64(i))
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	if stmt != nil {
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if d.dialect == postgresDialect {
		_, err = d.db.ExecContext(ctx, `VACUUM ANALYZE messages`)
	}
	return err
}
