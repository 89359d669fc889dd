package redisadapter

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

// redisServer is a redis-server process of the test's own.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedisServer starts redis-server on a free loopback port, without
// persistence.
func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	s := newRedisServer(t)
	s.start()
	return s
}

// newRedisServer chooses a free loopback port for a redis-server, which
// start starts.
func newRedisServer(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &redisServer{t: t, port: port, dir: t.TempDir()}
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	testutil.Eventually(s.t, 10*time.Second, "redis-server answering", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
}

// stop ends the server (it is ours: we started it) and waits for it.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

func TestRedisOutage(t *testing.T) {
	rs := startRedisServer(t)
	checkGoroutines(t)
	key := testKey()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	nodeAt := func(name string) (*Adapter, *adaptertest.Emitter) {
		c := redis.NewClient(&redis.Options{
			Addr:        rs.addr(),
			DialTimeout: 300 * time.Millisecond,
			ReadTimeout: time.Second,
			MaxRetries:  1,
		})
		e := adaptertest.NewEmitter("/")
		a := NewAdapter(e, NewRedisPubSub(c, logger), Options{Key: key, RequestsTimeout: 500 * time.Millisecond, Logger: logger})
		t.Cleanup(func() {
			_ = a.Close()
			_ = c.Close()
		})
		addSocket(e, a, name, nil)
		return a, e
	}
	a, ea := nodeAt("a1")
	b, eb := nodeAt("b1")
	waitReady(t, a, b)
	ctx := context.Background()
	syncNode(t, a, eb, "b1")
	syncNode(t, b, ea, "a1")

	rs.stop()
	outageStart := time.Now()
	i := 0
	for time.Since(outageStart) < 3*time.Second {
		data := fmt.Sprintf(`["during",%d]`, i)
		start := time.Now()
		if err := a.Broadcast(ctx, event("/", data), adapter.BroadcastOptions{}); err != nil {
			t.Fatalf("Broadcast during the outage: %v", err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("Broadcast took %v during the outage", el)
		}
		// Local delivery happened before Broadcast returned.
		if got := received(ea, "a1"); !slices.Contains(got, data) {
			t.Fatalf("local socket missed %s during the outage", data)
		}
		i++
		time.Sleep(100 * time.Millisecond)
	}
	infos, err := a.FetchSockets(ctx, adapter.BroadcastOptions{})
	if err == nil || len(infos) != 1 || infos[0].ID != "a1" {
		t.Fatalf("FetchSockets during the outage: %v, %v", infos, err)
	}
	if _, err := a.ServerCount(ctx); err == nil {
		t.Fatal("ServerCount succeeded without Redis")
	}
	t.Logf("%d broadcasts delivered locally during the outage", i)

	rs.start()
	// Cross-node delivery resumes by itself, both ways.
	for _, dir := range []struct {
		from *Adapter
		to   *adaptertest.Emitter
		id   string
	}{{a, eb, "b1"}, {b, ea, "a1"}} {
		n := 0
		testutil.Eventually(t, 10*time.Second, "delivery to "+dir.id+" after the outage", func() bool {
			data := fmt.Sprintf(`["after",%d]`, n)
			n++
			if err := dir.from.Broadcast(ctx, event("/", data), adapter.BroadcastOptions{Rooms: []string{dir.id}}); err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(received(dir.to, dir.id), func(p string) bool { return len(p) > 9 && p[:9] == `["after",` })
		})
	}
	waitServerCount(t, a, 2)
	ids, err := a.Sockets(ctx, adapter.BroadcastOptions{})
	if err != nil || !slices.Equal(sorted(ids), []string{"a1", "b1"}) {
		t.Fatalf("Sockets after the outage: %v, %v", ids, err)
	}
	for _, want := range []string{"subscription connection lost", "subscription restored", "broadcast not published"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the logs:\n%s", want, logs.String())
		}
	}
}

func TestStartWithoutRedis(t *testing.T) {
	rs := newRedisServer(t)
	checkGoroutines(t)
	t.Cleanup(rs.stop) // before the goroutine check: the server's waiter ends with it
	key := testKey()
	nodeAt := func(name string) (*Adapter, *adaptertest.Emitter) {
		c := redis.NewClient(&redis.Options{Addr: rs.addr(), DialTimeout: 300 * time.Millisecond, MaxRetries: 1})
		e := adaptertest.NewEmitter("/")
		a := NewAdapter(e, NewRedisPubSub(c, nil), Options{Key: key})
		t.Cleanup(func() {
			_ = a.Close()
			_ = c.Close()
		})
		addSocket(e, a, name, nil)
		return a, e
	}
	a, ea := nodeAt("a1")
	b, eb := nodeAt("b1")
	select {
	case <-a.Ready():
		t.Fatal("subscriptions confirmed without Redis")
	default:
	}
	if err := a.Broadcast(context.Background(), event("/", `["early"]`), adapter.BroadcastOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := received(ea, "a1"); !slices.Equal(got, []string{`["early"]`}) {
		t.Fatalf("local delivery without Redis: %v", got)
	}
	rs.start()
	waitReady(t, a, b)
	// Broadcasts are not published for a moment after a failure.
	testutil.Eventually(t, 10*time.Second, "cross-node delivery", func() bool {
		_ = a.Broadcast(context.Background(), event("/", `["late"]`), adapter.BroadcastOptions{Rooms: []string{"b1"}})
		return len(received(eb, "b1")) > 0
	})
	if got := received(eb, "b1")[0]; got != `["late"]` {
		t.Fatalf("b1 received %s", got)
	}
}
