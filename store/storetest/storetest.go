// Package storetest provides databases for tests of chatd's storage: a
// fresh SQLite file, or a fresh schema in a PostgreSQL test server, each
// removed when the test ends.
//
// The PostgreSQL server is named by the environment variable DATABASE_URL,
// by default postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When
// it cannot be reached, tests that need it are skipped, or fail when the
// environment variable CI is set (a CI run must not skip them silently).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the PostgreSQL test server used when DATABASE_URL
// is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backend names a storage backend and makes fresh databases for it.
type Backend struct {
	// Name is "sqlite" or "postgres".
	Name string
	// NewDSN returns the -db value of a new, empty database (a file path
	// or a postgres:// URL) that is removed when tb ends. It skips or
	// fails tb when the backend is not available.
	NewDSN func(tb testing.TB) string
}

// Backends lists every storage backend, SQLite first.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", NewDSN: SQLitePath},
		{Name: "postgres", NewDSN: PostgresURL},
	}
}

// SQLitePath returns the path of a database file in a new temporary
// directory of tb.
func SQLitePath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "chatd.db")
}

// ServerURL returns the URL of the PostgreSQL test server: DATABASE_URL, or
// DefaultPostgresURL.
func ServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	reachOnce sync.Once
	reachErr  error
)

// RequirePostgres skips tb (or fails it when CI is set) unless the
// PostgreSQL test server answers.
func RequirePostgres(tb testing.TB) {
	tb.Helper()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			reachErr = err
			return
		}
		reachErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	if reachErr == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("PostgreSQL test server unreachable (DATABASE_URL or %s): %v", DefaultPostgresURL, reachErr)
	}
	tb.Skipf("PostgreSQL test server unreachable (set DATABASE_URL): %v", reachErr)
}

// PostgresURL creates a schema with a unique name on the PostgreSQL test
// server and returns the server URL with search_path set to it; the schema
// and everything in it are dropped when tb ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	RequirePostgres(tb)
	schema := NewSchemaName()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exec(tb, ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		exec(tb, ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	return WithSearchPath(ServerURL(), schema)
}

// NewSchemaName returns a fresh schema name for a test.
func NewSchemaName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "chatd_test_" + hex.EncodeToString(b)
}

// WithSearchPath returns the PostgreSQL URL u with its search_path
// parameter set to schema.
func WithSearchPath(u, schema string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		panic("storetest: bad PostgreSQL URL: " + err.Error())
	}
	q := parsed.Query()
	q.Set("search_path", schema)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// SchemaExists reports whether the named schema exists on the test server.
func SchemaExists(tb testing.TB, schema string) bool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		tb.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
		tb.Fatalf("look up schema %s: %v", schema, err)
	}
	return n == 1
}

// DropSchemaAtCleanup drops the named schema (if it exists) when tb ends.
func DropSchemaAtCleanup(tb testing.TB, schema string) {
	tb.Helper()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		exec(tb, ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
}

func exec(tb testing.TB, ctx context.Context, sql string) {
	tb.Helper()
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		tb.Errorf("connect to PostgreSQL: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Errorf("%s: %v", sql, err)
	}
}
