package redisstreams

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// holdFirst is a go-redis hook that holds the first single command until
// release is closed, and counts the commands of each pipeline of XADDs.
type holdFirst struct {
	first     atomic.Bool
	release   chan struct{}
	mu        sync.Mutex
	pipelines []int
}

func (h *holdFirst) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *holdFirst) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "xadd" && h.first.CompareAndSwap(false, true) {
			<-h.release
		}
		return next(ctx, cmd)
	}
}

func (h *holdFirst) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "xadd" { // not a new connection's HELLO
			h.mu.Lock()
			h.pipelines = append(h.pipelines, len(cmds))
			h.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*holdFirst)(nil)

// XADDs that arrive while one is on its way go together, up to
// maxAddBatch a pipeline, each caller getting the id of its own entry; a
// caller whose context ended before its batch left adds nothing.
func TestAddsShareRoundTrips(t *testing.T) {
	base := needRedis(t)
	rdb := redis.NewClient(base.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	h := &holdFirst{release: make(chan struct{})}
	rdb.AddHook(h)
	opts := testOptions(t, base).withDefaults()
	c := newCluster(rdb, opts)
	ctx := context.Background()
	args := func(i int) *redis.XAddArgs {
		return &redis.XAddArgs{Stream: opts.StreamName, Values: []any{"n", fmt.Sprint(i)}}
	}

	const n = 1 + maxAddBatch + 40
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); ids[0], errs[0] = c.xadd(ctx, args(0)) }()
	waitFor(t, func() bool { return h.first.Load() }) // the first XADD is on its way
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); ids[i], errs[i] = c.xadd(ctx, args(i)) }()
	}
	pending := func(k int) func() bool {
		return func() bool { return c.adds.Pending() == k }
	}
	waitFor(t, pending(n-1))
	// One more, last in the queue, given up while it waits.
	gone, cancel := context.WithCancel(ctx)
	var goneErr error
	wg.Add(1)
	go func() { defer wg.Done(); _, goneErr = c.xadd(gone, args(n)) }()
	waitFor(t, pending(n))
	cancel()
	close(h.release)
	wg.Wait()

	if goneErr != context.Canceled {
		t.Errorf("a caller that gave up: %v, want context.Canceled", goneErr)
	}
	h.mu.Lock()
	if fmt.Sprint(h.pipelines) != fmt.Sprint([]int{maxAddBatch, n - 1 - maxAddBatch}) {
		t.Errorf("pipelines of %v XADDs, want [%d %d]", h.pipelines, maxAddBatch, n-1-maxAddBatch)
	}
	h.mu.Unlock()
	entries, err := base.XRange(ctx, opts.StreamName, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d entries, want %d", len(entries), n)
	}
	byID := map[string]string{}
	for _, e := range entries {
		byID[e.ID] = e.Values["n"].(string)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("xadd %d: %v", i, errs[i])
		}
		if got := byID[ids[i]]; got != fmt.Sprint(i) {
			t.Errorf("xadd %d answered %s, the id of entry %q", i, ids[i], got)
		}
	}
	// Whoever sent them stops once nothing is left.
	waitFor(t, c.adds.Idle)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
