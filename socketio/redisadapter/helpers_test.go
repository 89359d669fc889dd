package redisadapter

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/adapter"
)

// redisAddr is the Redis server the tests use.
func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// needRedis returns a client of the test Redis server, skipping the test
// when it does not answer (failing it under CI).
func needRedis(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), DialTimeout: time.Second, MaxRetries: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s: %v", redisAddr(), err)
		}
		t.Skipf("Redis at %s: %v", redisAddr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testKey returns a channel prefix of its own for a test.
func testKey() string { return "chatd-test-" + newID() }

// checkGoroutines fails the test if goroutines it started are still
// running once it is over (see internal/leakcheck).
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }

// emitter stands for a namespace's local sockets: it records the packets
// delivered to them and the disconnections, and acknowledges packets with
// an ack id when ackWith is set.
type emitter struct {
	name string

	mu           sync.Mutex
	sockets      map[string]adapter.SocketInfo
	delivered    map[string][]*adapter.Packet
	disconnected map[string]bool
	ackWith      func(sid string) adapter.Ack
	ackWG        sync.WaitGroup
	serverSide   func(args []json.RawMessage, ack func(any))
}

func newEmitter(name string) *emitter {
	return &emitter{
		name:         name,
		sockets:      map[string]adapter.SocketInfo{},
		delivered:    map[string][]*adapter.Packet{},
		disconnected: map[string]bool{},
	}
}

// add declares a local socket and makes it join its own room and rooms.
func (e *emitter) add(a adapter.Adapter, id string, data any, rooms ...string) {
	e.mu.Lock()
	e.sockets[id] = adapter.SocketInfo{
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
	}
	e.mu.Unlock()
	a.AddAll(id, append([]string{id}, rooms...)...)
}

func (e *emitter) Name() string { return e.name }

func (e *emitter) Deliver(pkt *adapter.Packet, ids []string, _ adapter.Flags) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := e.sockets[id]; ok {
			e.delivered[id] = append(e.delivered[id], pkt)
			n++
		}
	}
	return n
}

func (e *emitter) DeliverWithAck(pkt *adapter.Packet, ids []string, flags adapter.Flags, onAck func(string, adapter.Ack)) int {
	n := e.Deliver(pkt, ids, flags)
	e.mu.Lock()
	ackWith := e.ackWith
	var acking []string
	for _, id := range ids {
		if _, ok := e.sockets[id]; ok {
			acking = append(acking, id)
		}
	}
	e.mu.Unlock()
	if ackWith != nil {
		for _, id := range acking {
			e.ackWG.Add(1)
			go func() {
				defer e.ackWG.Done()
				onAck(id, ackWith(id))
			}()
		}
	}
	return n
}

func (e *emitter) Socket(id string) (adapter.SocketInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.sockets[id]
	return info, ok
}

func (e *emitter) DisconnectSocket(id string, _ bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.disconnected[id] = true
}

// ReceiveServerSideEmit implements adapter.Emitter: it calls the handler
// set by onServerSide, if any.
func (e *emitter) ReceiveServerSideEmit(args []json.RawMessage, ack func(any)) {
	e.mu.Lock()
	h := e.serverSide
	e.mu.Unlock()
	if h != nil {
		h(args, ack)
	}
}

// onServerSide sets the handler of server-side events.
func (e *emitter) onServerSide(h func(args []json.RawMessage, ack func(any))) {
	e.mu.Lock()
	e.serverSide = h
	e.mu.Unlock()
}

// payloads returns the JSON payloads delivered to a socket.
func (e *emitter) payloads(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, p := range e.delivered[id] {
		out = append(out, string(p.Data))
	}
	return out
}

func (e *emitter) packets(id string) []*adapter.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.delivered[id])
}

func (e *emitter) isDisconnected(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.disconnected[id]
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
