package redisstreams

import (
	"context"
	"errors"
	"testing"
	"time"

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

func newPair(t *testing.T, recover bool) *pair {
	t.Helper()
	rdb := needRedis(t)
	opts := testOptions(t, rdb)
	p := &pair{ea: adaptertest.NewEmitter("/"), eb: adaptertest.NewEmitter("/")}
	p.a = newTestAdapter(t, p.ea, rdb, opts)
	p.b = newTestAdapter(t, p.eb, rdb, opts)
	if recover {
		_ = p.a.EnableRecovery(time.Minute)
		_ = p.b.EnableRecovery(time.Minute)
	}
	clustertest.AddPairSockets(clustertest.Pair{EA: p.ea, EB: p.eb, A: p.a, B: p.b})
	waitServerCount(t, p.a, 2)
	waitServerCount(t, p.b, 2)
	return p
}

// TestCluster checks every cross-node operation between two nodes.
func TestCluster(t *testing.T) {
	checkGoroutines(t)
	p := newPair(t, false)
	ctx := context.Background()

	clustertest.RunPair(t, clustertest.Pair{EA: p.ea, EB: p.eb, A: p.a, B: p.b})

	t.Run("Timeout", func(t *testing.T) {
		// A third node that never answers (its namespace is another
		// one's channel subscriber only): fetchSockets times out with
		// what it got.
		rdb := needRedis(t)
		sub := rdb.Subscribe(ctx, p.a.publicChannel)
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		waitServerCount(t, p.a, 3)
		short := adapter.BroadcastOptions{Flags: adapter.Flags{Timeout: 300 * time.Millisecond}}
		infos, err := p.a.FetchSockets(ctx, short)
		if !errors.Is(err, ErrTimeout) || len(infos) != 4 {
			t.Fatalf("FetchSockets: %d sockets, %v", len(infos), err)
		}
	})
}

// TestClose checks that a closed adapter refuses requests and that its
// reader ends.
func TestClose(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	e := adaptertest.NewEmitter("/")
	a := NewAdapter(e, rdb, testOptions(t, rdb))
	waitReady(t, a)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ServerCount(context.Background()); !errors.Is(err, adapter.ErrClosed) {
		t.Fatalf("ServerCount after Close: %v", err)
	}
	if err := a.AddSockets(context.Background(), adapter.BroadcastOptions{}, []string{"x"}); !errors.Is(err, adapter.ErrClosed) {
		t.Fatalf("AddSockets after Close: %v", err)
	}
	select {
	case <-a.r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("reader still running")
	}
}

// TestStreamCount checks that with several streams a namespace goes to the
// one the reference picks, and that broadcasts cross on it.
func TestStreamCount(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	opts := testOptions(t, rdb)
	opts.StreamCount = 3
	ea, eb := adaptertest.NewEmitter("/"), adaptertest.NewEmitter("/")
	a := newTestAdapter(t, ea, rdb, opts)
	b := newTestAdapter(t, eb, rdb, opts)
	if a.Stream() != opts.StreamName+"-2" {
		t.Fatalf("stream %s", a.Stream())
	}
	addSocket(eb, b, "b1", nil)
	if err := a.Broadcast(context.Background(), event("/", `["x"]`), adapter.BroadcastOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "b1 receives", func() bool { return len(eb.Delivered("b1")) == 1 })
	if n, err := rdb.XLen(context.Background(), opts.StreamName+"-2").Result(); err != nil || n != 1 {
		t.Fatalf("entries in the namespace's stream: %d, %v", n, err)
	}
}
