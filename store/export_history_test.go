package store

import (
	"context"
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

// ExplainMessagesBefore returns the query plan of MessagesBefore (tests
// only).
func (d *DB) ExplainMessagesBefore(ctx context.Context, namespace, room string, beforeID int64, limit int) (string, error) {
	return d.explain(ctx, d.messagesBeforeSQL(), namespace, room, beforeID, limit)
}
