package storetest

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Every backend gives a fresh database name per call.
func TestBackends(t *testing.T) {
	bs := Backends()
	if len(bs) != 2 || bs[0].Name != "sqlite" || bs[1].Name != "postgres" {
		t.Fatalf("Backends() = %v", bs)
	}
	a, b := SQLitePath(t), SQLitePath(t)
	if a == b || filepath.Base(a) != "chatd.db" {
		t.Fatalf("SQLitePath: %q, %q", a, b)
	}
}

// PostgresURL makes a schema that its URL selects, and drops it when the
// test ends; SchemaExists and DropSchemaAtCleanup see and drop schemas.
func TestPostgresSchema(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		u := PostgresURL(t)
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		schema = parsed.Query().Get("search_path")
		if !SchemaExists(t, schema) {
			t.Fatalf("schema %q of %s does not exist", schema, u)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var current string
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&current); err != nil || current != schema {
			t.Fatalf("current_schema() = %q, %v; want %q", current, err, schema)
		}
	})
	if schema == "" || SchemaExists(t, schema) {
		t.Fatalf("schema %q left behind", schema)
	}

	other := NewSchemaName()
	if other == schema || len(other) <= len("chatd_test_") {
		t.Fatalf("NewSchemaName() = %q", other)
	}
	t.Run("drop", func(t *testing.T) {
		DropSchemaAtCleanup(t, other)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		exec(t, ctx, "CREATE SCHEMA "+pgx.Identifier{other}.Sanitize())
	})
	if SchemaExists(t, other) {
		t.Fatalf("DropSchemaAtCleanup left %q", other)
	}
}

func TestServerURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	if ServerURL() != DefaultPostgresURL {
		t.Fatalf("ServerURL() = %q", ServerURL())
	}
	t.Setenv("DATABASE_URL", "postgres://elsewhere/db")
	if ServerURL() != "postgres://elsewhere/db" {
		t.Fatalf("DATABASE_URL not used: %q", ServerURL())
	}
	if got := WithSearchPath("postgres://h/db?sslmode=disable", "s1"); got != "postgres://h/db?search_path=s1&sslmode=disable" {
		t.Fatalf("WithSearchPath = %q", got)
	}
}
