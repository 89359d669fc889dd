package pgadapter

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/internal/adaptertest/clustertest"
)

// pair is two nodes of one cluster, each with the namespace "/" and its
// sockets: a1 (rooms r1, r2) and a2 (r1) on A, b1 (r1) and b2 (r3) on B.
type pair struct {
	ea, eb *adaptertest.Emitter
	a, b   *Adapter
}

func newPair(t *testing.T) (*pair, *pgxpool.Pool, Options) {
	t.Helper()
	pool := needPool(t)
	opts := testOptions(t, pool)
	p := &pair{ea: adaptertest.NewEmitter("/"), eb: adaptertest.NewEmitter("/")}
	p.a = newTestAdapter(t, p.ea, pool, opts)
	p.b = newTestAdapter(t, p.eb, pool, opts)
	clustertest.AddPairSockets(clustertest.Pair{EA: p.ea, EB: p.eb, A: p.a, B: p.b})
	waitServerCount(t, p.a, 2)
	waitServerCount(t, p.b, 2)
	return p, pool, opts
}

// TestCluster checks every cross-node operation between two nodes.
func TestCluster(t *testing.T) {
	checkGoroutines(t)
	p, pool, opts := newPair(t)
	ctx := context.Background()

	clustertest.RunPair(t, clustertest.Pair{EA: p.ea, EB: p.eb, A: p.a, B: p.b})

	t.Run("LargePayload", func(t *testing.T) {
		big := `["big","` + strings.Repeat("x", 9000) + `"]`
		before := p.eb.Delivered("b2")
		if err := p.a.Broadcast(ctx, event("/", big), adapter.BroadcastOptions{Rooms: []string{"r3"}}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "b2 receives the large event", func() bool { return len(p.eb.Delivered("b2")) == len(before)+1 })
		if got := p.eb.Delivered("b2"); got[len(got)-1] != big {
			t.Fatalf("b2 got %d bytes", len(got[len(got)-1]))
		}
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+opts.TableName).Scan(&n); err != nil || n == 0 {
			t.Fatalf("attachments: %d, %v", n, err)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		// A third node that never answers: its heartbeat only.
		ghost := &message{uid: "ghost", nsp: "/", typ: 2}
		if err := p.a.c.publish(ctx, ghost); err != nil {
			t.Fatal(err)
		}
		waitServerCount(t, p.a, 3)
		short := adapter.BroadcastOptions{Flags: adapter.Flags{Timeout: 300 * time.Millisecond}}
		infos, err := p.a.FetchSockets(ctx, short)
		if !errors.Is(err, ErrTimeout) || len(infos) != 4 {
			t.Fatalf("FetchSockets: %d sockets, %v", len(infos), err)
		}
		// It goes silent and is forgotten after HeartbeatTimeout.
		waitServerCount(t, p.a, 2)
	})

	t.Run("AdapterClose", func(t *testing.T) {
		ec := adaptertest.NewEmitter("/")
		c := NewAdapter(ec, pool, opts)
		waitReady(t, c)
		waitServerCount(t, p.a, 3)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		waitServerCount(t, p.a, 2)
	})
}

// TestCleanup checks that old attachments are removed.
func TestCleanup(t *testing.T) {
	checkGoroutines(t)
	pool := needPool(t)
	opts := testOptions(t, pool)
	opts.CleanupInterval = 200 * time.Millisecond
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO "+opts.TableName+" (payload, created_at) VALUES ('\\x80', now() - interval '1 hour')"); err != nil {
		t.Fatal(err)
	}
	newTestAdapter(t, adaptertest.NewEmitter("/"), pool, opts)
	testutil.Eventually(t, 10*time.Second, "old row removed", func() bool {
		var n int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM "+opts.TableName).Scan(&n)
		return err == nil && n == 0
	})
}

// TestReconnect checks that a node whose listening connection is
// terminated LISTENs again and receives the broadcasts of the others.
func TestReconnect(t *testing.T) {
	checkGoroutines(t)
	p, pool, _ := newPair(t)
	ctx := context.Background()
	// The listeners of this test only (the last query of their backend).
	tag, err := pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query = $1", `LISTEN "`+p.b.Channel()+`"`)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("terminating the listeners: %v, %v", tag, err)
	}
	// Broadcast until b1 receives again (the broadcasts sent while B
	// reconnects are lost, as with the reference).
	testutil.Eventually(t, 20*time.Second, "b1 receives after the reconnection", func() bool {
		_ = p.a.Broadcast(ctx, event("/", `["again"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}})
		time.Sleep(100 * time.Millisecond)
		return slices.Contains(p.eb.Delivered("b1"), `["again"]`)
	})
	infos, err := p.b.FetchSockets(ctx, adapter.BroadcastOptions{})
	if err != nil || len(infos) != 4 {
		t.Fatalf("FetchSockets after the reconnection: %d, %v", len(infos), err)
	}
}
