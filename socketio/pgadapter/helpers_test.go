package pgadapter

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/adaptertest/clustertest"
)

// testDSN is the test database: PG_DSN, or the local "test" database.
func testDSN() string {
	if d := os.Getenv("PG_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// needPool returns a pool on the test database, closed when t ends; it
// skips t when the database does not answer (fails it under CI).
func needPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testDSN())
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL: %v", err)
		}
		t.Skipf("PostgreSQL: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// testOptions returns options with a table and channels of the test's own
// (the table dropped when it ends) and short heartbeats.
func testOptions(t testing.TB, pool *pgxpool.Pool) Options {
	t.Helper()
	name := "sio_test_" + newID()
	if err := CreateTable(context.Background(), pool, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+name) })
	return Options{
		TableName:         name,
		ChannelPrefix:     name,
		HeartbeatInterval: 500 * time.Millisecond,
		HeartbeatTimeout:  3 * time.Second,
		RequestsTimeout:   3 * time.Second,
	}
}

// newTestAdapter returns an adapter for e, closed when t ends, and waits
// until it is ready.
func newTestAdapter(t *testing.T, e adapter.Emitter, pool *pgxpool.Pool, opts Options) *Adapter {
	t.Helper()
	a := NewAdapter(e, pool, opts)
	t.Cleanup(func() { _ = a.Close() })
	waitReady(t, a)
	return a
}

// waitReady waits until the adapters receive what other nodes send.
func waitReady(t *testing.T, as ...*Adapter) {
	t.Helper()
	for _, a := range as {
		select {
		case <-a.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("adapter not ready")
		}
	}
}

var (
	waitServerCount = clustertest.WaitServerCount
	addSocket       = clustertest.AddSocket
	event           = clustertest.Event
	sorted          = clustertest.Sorted
)

func checkGoroutines(t *testing.T) { leakcheck.Check(t) }
