package redisstreams

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/adaptertest/clustertest"
)

// needRedis returns a client of the test Redis server, skipping the test
// when it does not answer (failing it under CI).
func needRedis(t *testing.T) *redis.Client { return redistest.Client(t) }

// testOptions returns options with a stream, channels and session keys of
// the test's own, deleted when it ends, and a short BlockTime so that
// readers stop soon after the adapters close.
func testOptions(t *testing.T, rdb *redis.Client) Options {
	name := "chatd-test-" + newID()
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, name+"*").Result()
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return Options{
		StreamName:       name,
		ChannelPrefix:    name,
		SessionKeyPrefix: name + ":session:",
		BlockTime:        200 * time.Millisecond,
		RequestsTimeout:  3 * time.Second,
	}
}

// newTestAdapter returns an adapter for e on rdb, closed when t ends, and
// waits until it is ready.
func newTestAdapter(t *testing.T, e adapter.Emitter, rdb *redis.Client, opts Options) *Adapter {
	t.Helper()
	a := NewAdapter(e, rdb, opts)
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

// checkGoroutines fails the test if goroutines it started are still
// running once it is over.
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }

// quietRedisLog drops the go-redis client's own log lines (connection
// losses of the outage test).
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedisLog{})
	os.Exit(m.Run())
}
