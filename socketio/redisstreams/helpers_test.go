package redisstreams

import (
	"context"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/parser"
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

// waitServerCount waits until the adapter counts n servers.
func waitServerCount(t *testing.T, a *Adapter, n int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "server count", func() bool {
		got, err := a.ServerCount(context.Background())
		return err == nil && got == n
	})
}

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

// event returns an event packet of namespace nsp.
func event(nsp, data string) *adapter.Packet {
	return &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: nsp, Data: []byte(data)}}
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

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
