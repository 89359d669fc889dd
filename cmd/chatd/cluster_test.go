package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/client"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
	"github.com/redis/go-redis/v9"
)

// redisTestURL is the Redis of the cluster tests: REDIS_URL, or the local
// default.
func redisTestURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// requireRedis skips t (fails it when CI is set) unless Redis answers.
func requireRedis(t *testing.T) string {
	t.Helper()
	u := redisTestURL()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis unreachable at %s: %v", u, err)
		}
		t.Skipf("Redis unreachable at %s (set REDIS_URL): %v", u, err)
	}
	return u
}

// uniquePrefix returns a Redis channel prefix no other test run uses, so
// that concurrent runs on one Redis do not see each other.
func uniquePrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "chatd-test-" + hex.EncodeToString(b)
}

// noRedirects is an HTTP client that returns redirects instead of
// following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// account posts the sign-up or log-in form (page "/signup" or "/login") to
// the server at base and returns the session cookie header.
func account(t *testing.T, base, page, name, password string) string {
	t.Helper()
	req, err := http.NewRequest("POST", base+page, strings.NewReader(url.Values{"username": {name}, "password": {password}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s at %s: status %d: %.300s", page, name, base, res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == chat.SessionCookieName {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("%s %s: no session cookie", page, name)
	return ""
}

// logout posts the log-out form of the server at base with cookie.
func logout(t *testing.T, base, cookie string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Origin", base)
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-out at %s: status %d", base, res.StatusCode)
	}
}

// dialErr tries a connection to namespace nsp with cookie and returns why
// it failed (nil if it succeeded; it is then closed).
func dialErr(base, nsp, cookie string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, base+nsp, &client.Options{
		Header:              http.Header{"Cookie": {cookie}},
		Transports:          []string{client.TransportWebSocket},
		ForceNew:            true,
		DisableReconnection: true,
	})
	if err == nil {
		s.Close()
	}
	return err
}

// chatClient is a Socket.IO connection to a chat namespace that records
// what it receives.
type chatClient struct {
	s       *client.Socket
	mu      sync.Mutex
	members map[string]int // last updateMembers count per room
	msgs    []chat.Message // comPeRoom messages, in order
	history [][]chat.Message
}

// dialChat connects to namespace nsp of the server at base with cookie,
// over WebSocket only, and closes the connection when t ends.
func dialChat(t *testing.T, base, nsp, cookie string) *chatClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &chatClient{members: map[string]int{}}
	s, err := client.Dial(ctx, base+nsp, &client.Options{
		Header:              http.Header{"Cookie": {cookie}},
		Transports:          []string{client.TransportWebSocket},
		ForceNew:            true,
		DisableReconnection: true,
	})
	if err != nil {
		t.Fatalf("connect to %s%s: %v", base, nsp, err)
	}
	t.Cleanup(func() { s.Close() })
	c.s = s
	s.On("updateMembers", func(u struct {
		Room    string `json:"room"`
		Members int    `json:"members"`
	}) {
		c.mu.Lock()
		c.members[u.Room] = u.Members
		c.mu.Unlock()
	})
	s.On("comPeRoom", func(m chat.Message) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	})
	s.On("historyUpdate", func(h []chat.Message) {
		c.mu.Lock()
		c.history = append(c.history, h)
		c.mu.Unlock()
	})
	return c
}

// call emits event with args, waits for the acknowledgement and decodes it
// into a map.
func (c *chatClient) call(t *testing.T, event string, args ...any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := c.s.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	var ack map[string]any
	if err := reply.Decode(0, &ack); err != nil {
		t.Fatalf("%s ack %s: %v", event, reply, err)
	}
	return ack
}

func (c *chatClient) membersOf(room string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[room]
}

func (c *chatClient) texts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		out = append(out, m.Text)
	}
	return out
}

func (c *chatClient) lastHistory() []chat.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.history) == 0 {
		return nil
	}
	return c.history[len(c.history)-1]
}

func TestParseServeConfigRedis(t *testing.T) {
	c, err := parseServeConfig(nil, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis != "" || c.RedisPrefix != "socket.io" {
		t.Errorf("defaults: redis %q prefix %q", c.Redis, c.RedisPrefix)
	}
	env := envMap(map[string]string{
		"CHATD_REDIS": "redis://127.0.0.1:6379/2", "CHATD_REDIS_PREFIX": "chat-a",
		"CHATD_DB": "postgres://chatd@db.internal/chatd",
	})
	c, err = parseServeConfig(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis != "redis://127.0.0.1:6379/2" || c.RedisPrefix != "chat-a" || c.DB != "postgres://chatd@db.internal/chatd" {
		t.Errorf("from env = %+v", c)
	}
	c, err = parseServeConfig([]string{"-redis", "rediss://:pw@cache:6380/1", "-redis-prefix", "chat-b", "-db", "postgresql://x@y/z"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis != "rediss://:pw@cache:6380/1" || c.RedisPrefix != "chat-b" || c.DB != "postgresql://x@y/z" {
		t.Errorf("flags over env = %+v", c)
	}
	for _, args := range [][]string{
		{"-redis", "http://127.0.0.1:6379"}, {"-redis", "redis://127.0.0.1:6379/notanumber"}, {"-redis-prefix", ""},
	} {
		if _, err := parseServeConfig(args, envMap(nil), io.Discard); err == nil {
			t.Errorf("parseServeConfig(%q) accepted", args)
		}
	}
	_, err = parseServeConfig([]string{"-redis", "redis://:topsecret@127.0.0.1:6379/x"}, envMap(nil), io.Discard)
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("bad Redis URL with a password: err = %v", err)
	}
	var usage bytes.Buffer
	parseServeConfig([]string{"-h"}, envMap(nil), &usage)
	for _, want := range []string{"-redis ", "-redis-prefix", "CHATD_REDIS", "postgres://"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, usage.String())
		}
	}
}

// TestRunPostgres runs one server on a PostgreSQL schema: accounts, chat
// messages and history are stored there, the password of the URL stays out
// of the log, and the admin subcommands work on the same URL.
func TestRunPostgres(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	u, _ := url.Parse(dsn)
	u.User = url.UserPassword(u.User.Username(), "")
	ctx := context.Background()
	if out, err := runAdminForTest(ctx, []string{"create", "-db", dsn, "Root"}, "root-password-1"); err != nil || !strings.Contains(out, "created admin Root") {
		t.Fatalf("admin create on PostgreSQL = %q, %v", out, err)
	}
	s := MustRunMain(t, []string{"-db", dsn, "-addr", "127.0.0.1:0", "-msg-rate", "0"}, nil)
	cookie := account(t, s.URL, "/login", "root", "root-password-1")
	c := dialChat(t, s.URL, "/admin", cookie)
	if ack := c.call(t, "joinRoom", "ops"); ack["members"] != float64(1) {
		t.Fatalf("join ack = %v", ack)
	}
	if ack := c.call(t, "newMsg2Server", map[string]string{"text": "  stored in postgres  "}); ack["id"] == nil {
		t.Fatalf("send ack = %v", ack)
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	msgs, err := db.LastMessages(ctx, "/admin", "ops", 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "stored in postgres" || msgs[0].Username != "Root" {
		t.Errorf("stored messages = %+v, %v", msgs, err)
	}
}

func runAdminForTest(ctx context.Context, args []string, password string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, append([]string{"admin"}, args...), envMap(map[string]string{"CHATD_ADMIN_PASSWORD": password}), &out, io.Discard)
	return out.String(), err
}

// TestRunTwoNodes runs two servers sharing one PostgreSQL schema and one
// Redis (with a channel prefix of their own): an account made on one node
// logs in on the other, clients of both nodes in one room see each other's
// messages and the same member counts, and history written through one node
// is read through the other; on either cluster adapter (the default,
// Redis Streams, and pub/sub).
func TestRunTwoNodes(t *testing.T) {
	for _, name := range []string{"", redisAdapterPubSub} {
		t.Run("adapter="+cmp.Or(name, "default"), func(t *testing.T) { testRunTwoNodes(t, name) })
	}
}

func testRunTwoNodes(t *testing.T, adapterName string) {
	redisURL := requireRedis(t)
	dsn := storetest.PostgresURL(t)
	before := runtime.NumGoroutine()
	prefix := uniquePrefix()
	args := []string{"-db", dsn, "-redis", redisURL, "-redis-prefix", prefix, "-addr", "127.0.0.1:0", "-msg-rate", "0", "-metrics-addr", "127.0.0.1:0"}
	if adapterName != "" {
		args = append(args, "-redis-adapter", adapterName)
	}
	a := MustRunMain(t, args, nil)
	b := MustRunMain(t, args, nil)
	if !strings.Contains(a.Stderr.String(), "prefix "+prefix) {
		t.Errorf("start-up log does not show the Redis prefix:\n%s", a.Stderr)
	}
	wantAdapter, wantRecovery := "adapter streams", "recovery=2m0s"
	if adapterName == redisAdapterPubSub {
		wantAdapter, wantRecovery = "adapter pubsub", "recovery=off"
	}
	if log := a.Stderr.String(); !strings.Contains(log, wantAdapter) || !strings.Contains(log, wantRecovery) {
		t.Errorf("start-up log does not show %q and %q:\n%s", wantAdapter, wantRecovery, log)
	}

	alice := account(t, a.URL, "/signup", "alice", "alice-password")
	account(t, b.URL, "/signup", "bob", "bob-password")
	bob := account(t, b.URL, "/login", "bob", "bob-password")
	aliceOnB := account(t, b.URL, "/login", "alice", "alice-password") // accounts are shared

	ca := dialChat(t, a.URL, "/user", alice)
	cb := dialChat(t, b.URL, "/user", bob)
	if ack := ca.call(t, "joinRoom", "chat"); ack["members"] != float64(1) {
		t.Fatalf("alice join ack = %v, want 1 member", ack)
	}
	if ack := cb.call(t, "joinRoom", "chat"); ack["members"] != float64(2) {
		t.Fatalf("bob join ack = %v, want 2 members (alice on the other node)", ack)
	}
	// alice's second socket, on node B: still two distinct users.
	ca2 := dialChat(t, b.URL, "/user", aliceOnB)
	if ack := ca2.call(t, "joinRoom", "chat"); ack["members"] != float64(2) {
		t.Fatalf("alice's second socket join ack = %v, want 2 members", ack)
	}
	// The count changed (1 to 2) when bob joined: both nodes' members get
	// it. alice's second socket changed no count, so it gets no update.
	for name, c := range map[string]*chatClient{"alice on A": ca, "bob on B": cb} {
		testutil.Eventually(t, 5*time.Second, name+" to see 2 members", func() bool { return c.membersOf("chat") == 2 })
	}

	if ack := ca.call(t, "newMsg2Server", map[string]string{"text": "from A"}); ack["id"] == nil {
		t.Fatalf("send on A = %v", ack)
	}
	if ack := cb.call(t, "newMsg2Server", map[string]string{"text": "from B"}); ack["id"] == nil {
		t.Fatalf("send on B = %v", ack)
	}
	for name, c := range map[string]*chatClient{"alice on A": ca, "bob on B": cb, "alice on B": ca2} {
		testutil.Eventually(t, 5*time.Second, name+" to get both messages", func() bool {
			return strings.Join(c.texts(), "|") == "from A|from B"
		})
	}

	// History: written through both nodes, read through either.
	for _, base := range []string{a.URL, b.URL} {
		c := dialChat(t, base, "/user", bob)
		c.call(t, "joinRoom", "chat")
		testutil.Eventually(t, 5*time.Second, "history on "+base, func() bool {
			h := c.lastHistory()
			return len(h) == 2 && h[0].Text == "from A" && h[1].Text == "from B" && h[0].Username == "alice"
		})
		c.s.Close()
	}

	// A log-out through node B ends the session on node A at once, though
	// A has it cached (it authenticated bob's reader above).
	bobOnA := account(t, a.URL, "/login", "bob", "bob-password")
	dialChat(t, a.URL, "/user", bobOnA).s.Close()
	logout(t, b.URL, bobOnA)
	if err := dialErr(a.URL, "/user", bobOnA); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("the logged-out session on the other node: %v, want unauthorized", err)
	}
	// The log-out asked the other node to forget the session: a request
	// of the adapter, measured (the pub/sub adapter reports its requests).
	if m := scrapeMetrics(t, metricsURL(t, b)); adapterName == redisAdapterPubSub && (m[`socketio_adapter_requests_total{kind="serverSideEmit"}`] < 1 ||
		m[`socketio_adapter_request_duration_seconds_count{kind="serverSideEmit"}`] < 1 ||
		m[`socketio_adapter_request_errors_total{error="timeout",kind="serverSideEmit"}`] != 0) {
		t.Errorf("adapter requests of node B: %v", m)
	}
	// Node B's presence holds bob's and alice's second socket in "chat"
	// (from its local copy of the Redis presence).
	testutil.Eventually(t, 5*time.Second, "node B's presence size", func() bool {
		m := scrapeMetrics(t, metricsURL(t, b))
		return m[`chatd_presence_sockets`] == 2 && m[`chatd_presence_rooms`] == 1
	})

	// bob leaves: alice's sockets on both nodes see one member.
	cb.s.Close()
	for name, c := range map[string]*chatClient{"alice on A": ca, "alice on B": ca2} {
		testutil.Eventually(t, 5*time.Second, name+" to see 1 member", func() bool { return c.membersOf("chat") == 1 })
	}

	ca.s.Close()
	ca2.s.Close()
	if err := a.Stop(t); err != nil {
		t.Error(err)
	}
	if err := b.Stop(t); err != nil {
		t.Error(err)
	}
	noRedirects.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	testutil.Eventually(t, 10*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestRunRedisDown starts a node whose Redis does not answer: it starts,
// delivers to its own clients, and shuts down cleanly.
func TestRunRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + ln.Addr().String() + "/0"
	ln.Close()
	before := runtime.NumGoroutine()
	s := MustRunMain(t, []string{"-db", storetest.SQLitePath(t), "-redis", dead, "-addr", "127.0.0.1:0", "-msg-rate", "0"}, nil)
	alice := account(t, s.URL, "/signup", "alice", "alice-password")
	bob := account(t, s.URL, "/signup", "bob", "bob-password")
	ca := dialChat(t, s.URL, "/user", alice)
	cb := dialChat(t, s.URL, "/user", bob)
	start := time.Now()
	ca.call(t, "joinRoom", "random")
	t.Logf("join with Redis down took %v", time.Since(start))
	cb.call(t, "joinRoom", "random")
	start = time.Now()
	if ack := ca.call(t, "newMsg2Server", map[string]string{"text": "local"}); ack["id"] == nil {
		t.Fatalf("send = %v", ack)
	}
	testutil.Eventually(t, 5*time.Second, "local delivery", func() bool { return strings.Join(cb.texts(), "|") == "local" })
	t.Logf("send with Redis down took %v", time.Since(start))
	start = time.Now()
	defer func() { t.Logf("stop with Redis down took %v", time.Since(start)) }()
	ca.s.Close()
	cb.s.Close()
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	noRedirects.CloseIdleConnections()
	testutil.Eventually(t, 10*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestParseServeConfigAdapter reads -redis-adapter and -recovery-window:
// Streams and two minutes by default, the environment, the flags, and the
// errors; recovery is on alone or on the Streams adapter only.
func TestParseServeConfigAdapter(t *testing.T) {
	c, err := parseServeConfig(nil, envMap(nil), io.Discard)
	if err != nil || c.RedisAdapter != "streams" || c.RecoveryWindow != 2*time.Minute || !recoveryOn(c) {
		t.Fatalf("defaults: adapter %q window %v (%v), recovery %v", c.RedisAdapter, c.RecoveryWindow, err, recoveryOn(c))
	}
	c, err = parseServeConfig([]string{"-redis", "redis://127.0.0.1:6379/0"}, envMap(map[string]string{
		"CHATD_REDIS_ADAPTER": "pubsub", "CHATD_RECOVERY_WINDOW": "30s",
	}), io.Discard)
	if err != nil || c.RedisAdapter != "pubsub" || c.RecoveryWindow != 30*time.Second || recoveryOn(c) {
		t.Fatalf("environment: adapter %q window %v (%v), recovery %v", c.RedisAdapter, c.RecoveryWindow, err, recoveryOn(c))
	}
	c, err = parseServeConfig([]string{"-redis", "redis://127.0.0.1:6379/0", "-redis-adapter", "streams", "-recovery-window", "5s"},
		envMap(map[string]string{"CHATD_REDIS_ADAPTER": "pubsub"}), io.Discard)
	if err != nil || c.RedisAdapter != "streams" || c.RecoveryWindow != 5*time.Second || !recoveryOn(c) {
		t.Fatalf("flags: adapter %q window %v (%v), recovery %v", c.RedisAdapter, c.RecoveryWindow, err, recoveryOn(c))
	}
	if c, err = parseServeConfig([]string{"-recovery-window", "0"}, envMap(nil), io.Discard); err != nil || recoveryOn(c) {
		t.Fatalf("-recovery-window 0: %v, recovery %v", err, recoveryOn(c))
	}
	for _, args := range [][]string{{"-redis-adapter", "kafka"}, {"-recovery-window", "soon"}, {"-recovery-window", "-1s"}} {
		if _, err := parseServeConfig(args, envMap(nil), io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if got := sessionKeyPrefix(defaultRedisPrefix); got != "" {
		t.Errorf("session keys with the default prefix: %q, want the adapter's default", got)
	}
	if got := sessionKeyPrefix("chat-a"); got != "chat-a:session:" {
		t.Errorf("session keys of chat-a: %q", got)
	}
}
