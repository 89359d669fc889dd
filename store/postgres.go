package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// postgresMaxConns bounds the connections one server opens to PostgreSQL,
// so that several nodes stay well below the server's max_connections
// (100 by default).
const postgresMaxConns = 16

// OpenPostgres opens the PostgreSQL database at dsn, a postgres:// or
// postgresql:// URL as understood by pgx (for example
// postgres://chatd:secret@db.internal:5432/chatd?sslmode=require), and
// applies every pending migration before returning.
//
// Query parameters that are not connection settings are sent to the server
// as run-time parameters; search_path=NAME keeps chatd's tables in schema
// NAME, which is created if it does not exist yet (several chatd
// installations, or tests, can then share one database). Migrations hold
// a PostgreSQL advisory lock specific to the schema, so nodes starting
// together apply them once.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	redacted := Redact(dsn)
	if !IsPostgresURL(dsn) {
		return nil, fmt.Errorf("store: not a postgres:// URL: %q", redacted)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("store: invalid PostgreSQL URL %s", redacted)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(postgresMaxConns)
	// As many idle as open: a burst of queries (a reconnect storm) must
	// not close and reopen connections, each a new server process.
	sqlDB.SetMaxIdleConns(postgresMaxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{db: sqlDB, path: redacted, dialect: postgresDialect, now: opts.Now}
	if d.now == nil {
		d.now = time.Now
	}
	fail := func(err error) (*DB, error) {
		sqlDB.Close()
		return nil, err
	}
	if err := d.db.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("store: open %s: %w", redacted, err))
	}
	if name := cfg.RuntimeParams["search_path"]; isPlainSchemaName(name) {
		// Nodes starting together may race to create it: PostgreSQL's
		// IF NOT EXISTS does not cover that, and the loser sees a unique
		// violation, which means the schema exists.
		if _, err := d.db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil && !isPostgresUniqueViolation(err) {
			return fail(fmt.Errorf("store: create schema %s: %w", name, err))
		}
	}
	var schema sql.NullString
	if err := d.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fail(fmt.Errorf("store: open %s: %w", redacted, err))
	}
	if !schema.Valid {
		return fail(fmt.Errorf("store: open %s: no schema of the search_path exists", redacted))
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(schemaLockID(schema.String)),
		lock.WithLockTimeout(1, 300), // try every second, for up to 5 minutes
	)
	if err != nil {
		return fail(fmt.Errorf("store: migration lock: %w", err))
	}
	if err := d.migrate(ctx, opts.Logger, []goose.ProviderOption{goose.WithSessionLocker(locker)}); err != nil {
		return fail(err)
	}
	return d, nil
}

// isPlainSchemaName reports whether search_path value s is a single schema
// name (not a list, not quoted, not a variable such as "$user").
func isPlainSchemaName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != "public" && !strings.HasPrefix(s, "pg_")
}

// schemaLockID derives the advisory lock of the migrations of one schema.
func schemaLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("chatd migrations\x00" + schema))
	return int64(h.Sum64() >> 1)
}

// isPostgresUniqueViolation reports whether err is PostgreSQL's
// unique_violation (SQLSTATE 23505).
func isPostgresUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
