package store_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

func TestIsPostgresURLAndRedact(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db":         true,
		"postgresql://u:p@h:1/db":   true,
		"chatd.db":                  false,
		"/var/lib/chatd/chatd.db":   false,
		"postgres.db":               false,
		"file:postgres://x":         false,
		"mysql://u@h/db":            false,
		"./postgres:/weird/path.db": false,
	} {
		if got := store.IsPostgresURL(dsn); got != want {
			t.Errorf("IsPostgresURL(%q) = %v, want %v", dsn, got, want)
		}
	}
	if got := store.Redact("postgres://chatd:s3cret@db:5432/chatd?sslmode=require"); strings.Contains(got, "s3cret") || !strings.Contains(got, "chatd:xxxxx@db:5432/chatd") {
		t.Errorf("Redact = %q", got)
	}
	if got := store.Redact("chatd.db"); got != "chatd.db" {
		t.Errorf("Redact(file) = %q", got)
	}
}

func TestOpenPostgresUnreachableHidesPassword(t *testing.T) {
	// A port nothing listens on: take a free one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = store.Open(ctx, "postgres://chatd:s3cret@"+addr+"/chatd?sslmode=disable&connect_timeout=5", store.Options{})
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, err := store.OpenPostgres(ctx, "chatd.db", store.Options{}); err == nil {
		t.Error("OpenPostgres accepted a file path")
	}
	if _, err := store.Open(ctx, "postgres://u:s3cret@host:notaport/db", store.Options{}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("invalid URL: err = %v", err)
	}
}

func TestOpenPostgresCreatesSearchPathSchema(t *testing.T) {
	storetest.RequirePostgres(t)
	schema := storetest.NewSchemaName()
	storetest.DropSchemaAtCleanup(t, schema)
	if storetest.SchemaExists(t, schema) {
		t.Fatalf("schema %s exists before Open", schema)
	}
	db := mustOpenPath(t, storetest.WithSearchPath(storetest.ServerURL(), schema))
	if !storetest.SchemaExists(t, schema) {
		t.Fatalf("schema %s missing after Open", schema)
	}
	ctx := context.Background()
	if v, err := db.SchemaVersion(ctx); err != nil || v != latestMigration(t) {
		t.Errorf("schema version = %d, %v", v, err)
	}
	// The tables are in that schema: a second schema starts empty.
	u := mustCreateUser(t, db, "ivan", chat.RoleUser)
	other := mustOpenPath(t, storetest.PostgresURL(t))
	if _, err := other.FindUserByName(ctx, u.Name); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("user of one schema found in another: err = %v", err)
	}
}

// Nodes starting together on a new schema all open it.
func TestOpenPostgresConcurrentSchemaCreation(t *testing.T) {
	storetest.RequirePostgres(t)
	schema := storetest.NewSchemaName()
	storetest.DropSchemaAtCleanup(t, schema)
	url := storetest.WithSearchPath(storetest.ServerURL(), schema)
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			db, err := store.Open(context.Background(), url, store.Options{})
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
	}
}
