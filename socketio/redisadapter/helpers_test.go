package redisadapter

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio/internal/adaptertest/clustertest"
)

// redisAddr is the Redis server the tests use.
func redisAddr() string { return redistest.Addr() }

// needRedis returns a client of the test Redis server, skipping the test
// when it does not answer (failing it under CI).
func needRedis(t *testing.T) *redis.Client { return redistest.Client(t) }

// testKey returns a channel prefix of its own for a test.
func testKey() string { return "chatd-test-" + newID() }

// checkGoroutines fails the test if goroutines it started are still
// running once it is over (see internal/leakcheck).
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }

var (
	addSocket = clustertest.AddSocket
	sorted    = clustertest.Sorted
)

// waitReady waits for the subscriptions of the adapters.
func waitReady(t *testing.T, as ...*Adapter) {
	t.Helper()
	for _, a := range as {
		select {
		case <-a.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("adapter subscriptions not confirmed")
		}
	}
}

// quietRedisLog drops the go-redis client's own log lines (connection
// refusals during the outage test).
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedisLog{})
	os.Exit(m.Run())
}
