package redisadapter

import (
	"context"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
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

// addSocket declares a local socket of e, with a handshake, and makes it
// join its own room and rooms on a.
func addSocket(e *adaptertest.Emitter, a adapter.Adapter, id string, data any, rooms ...string) {
	e.AddSocketInfo(adapter.SocketInfo{
		ID:   id,
		Data: data,
		Handshake: &adapter.Handshake{
			Headers: map[string][]string{"User-Agent": {"test"}},
			Query:   map[string][]string{"EIO": {"4"}},
			Address: "127.0.0.1",
			Auth:    []byte(`{"token":"t"}`),
			Issued:  1700000000000,
		},
		Local: true,
	})
	a.AddAll(id, append([]string{id}, rooms...)...)
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

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
