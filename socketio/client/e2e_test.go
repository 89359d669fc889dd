package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
)

type whoami struct {
	ID        string         `json:"id"`
	Nsp       string         `json:"nsp"`
	ConnID    string         `json:"connId"`
	Transport string         `json:"transport"`
	Auth      map[string]any `json:"auth"`
	Query     map[string]any `json:"query"`
	Header    *string        `json:"header"`
}

func askWhoami(t *testing.T, s *Socket) whoami {
	t.Helper()
	args, err := s.EmitWithAck(ctxT(t), "whoami")
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	var w whoami
	if err := args.Decode(0, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestTransportModes runs the basic flows over each transport mode.
func TestTransportModes(t *testing.T) {
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			checkGoroutines(t)
			rs := startRef(t, "0")
			opts := mode.opts
			opts.Query = url.Values{"room": {"lobby"}}
			opts.Header = http.Header{"X-Test": {"yes"}}
			s := dial(t, rs.URL, &opts)
			if !s.Connected() || s.ID() == "" {
				t.Fatalf("connected=%v id=%q", s.Connected(), s.ID())
			}
			testutil.Eventually(t, 15*time.Second, "transport "+mode.final, func() bool { return s.Manager().Transport() == mode.final })
			w := askWhoami(t, s)
			if w.ID != s.ID() || w.Nsp != "/" || w.Transport != mode.final {
				t.Fatalf("whoami = %+v, client id %q", w, s.ID())
			}
			if w.Query["room"] != "lobby" || w.Query["EIO"] != "4" || w.Header == nil || *w.Header != "yes" {
				t.Fatalf("handshake query %v, header %v", w.Query, w.Header)
			}

			// Emit with ack, JSON arguments.
			args, err := s.EmitWithAck(ctxT(t), "echo", 1, "two", map[string]any{"3": []any{true, nil}})
			if err != nil {
				t.Fatal(err)
			}
			if got := args.String(); got != `[1,"two",{"3":[true,null]}]` {
				t.Fatalf("ack args = %s", got)
			}

			// Binary both ways, with ack.
			blob := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)
			args, err = s.EmitWithAck(ctxT(t), "echo", "file", blob, map[string]any{"nested": []byte{9, 8}})
			if err != nil {
				t.Fatal(err)
			}
			var name string
			var data []byte
			var nested any
			if err := errors.Join(args.Decode(0, &name), args.Decode(1, &data), args.Decode(2, &nested)); err != nil {
				t.Fatal(err)
			}
			if name != "file" || !bytes.Equal(data, blob) ||
				!reflect.DeepEqual(nested, map[string]any{"nested": []byte{9, 8}}) {
				t.Fatalf("binary ack: %q, %d bytes, %#v", name, len(data), nested)
			}

			// Plain emit; the server answers with an event, binary included.
			got := make(chan []any, 1)
			s.On("echo", func(n float64, b []byte, ack Ack) {
				got <- []any{n, b, ack() == ErrNoAck}
			})
			if err := s.Emit("echo", 42, []byte("raw")); err != nil {
				t.Fatal(err)
			}
			if v := recv(t, got, "echo event"); v[0] != 42.0 || string(v[1].([]byte)) != "raw" || v[2] != true {
				t.Fatalf("echo event = %v", v)
			}
		})
	}
}

// TestUpgradeKeepsOrder emits a stream of events in both directions while
// the connection upgrades from polling to WebSocket: nothing is lost or
// reordered.
func TestUpgradeKeepsOrder(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0", "UPGRADE_DELAY=300")
	s, err := Connect(rs.URL, &Options{ForceNew: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Manager().Close()
	var mu sync.Mutex
	var seen []int
	total := -1
	done := make(chan struct{})
	s.On("echo", func(i int) {
		mu.Lock()
		seen = append(seen, i)
		if len(seen) == total {
			close(done)
		}
		mu.Unlock()
	})
	// Emit before, during and after the upgrade.
	n, polling := 0, 0
	for after := 0; after < 100; n++ {
		if s.Manager().Transport() == TransportWebSocket {
			after++
		} else if s.Connected() {
			polling++
		}
		if err := s.Emit("echo", n); err != nil {
			t.Fatal(err)
		}
		if n%5 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if polling == 0 {
		t.Fatal("no emit while connected over polling")
	}
	mu.Lock()
	total = n
	if len(seen) == total {
		close(done)
	}
	mu.Unlock()
	recv(t, done, "all echoes")
	mu.Lock()
	defer mu.Unlock()
	for i, v := range seen {
		if v != i {
			t.Fatalf("echo %d is %d: %v", i, v, seen)
		}
	}
}

// TestNamespacesShareConnection opens several namespaces on one Manager.
func TestNamespacesShareConnection(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0")
	root, err := Connect(rs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Manager().Close()
	chat, err := Connect(rs.URL+"/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if chat.Manager() != root.Manager() {
		t.Fatal("Connect did not reuse the Manager of the same server")
	}
	admin := root.Manager().Socket("/admin", &SocketOptions{Auth: map[string]string{"token": "secret"}})
	w1, w2, w3 := askWhoami(t, root), askWhoami(t, chat), askWhoami(t, admin)
	if w1.Nsp != "/" || w2.Nsp != "/chat" || w3.Nsp != "/admin" {
		t.Fatalf("namespaces %q %q %q", w1.Nsp, w2.Nsp, w3.Nsp)
	}
	if w1.ConnID != w2.ConnID || w1.ConnID != w3.ConnID {
		t.Fatalf("connections %q %q %q", w1.ConnID, w2.ConnID, w3.ConnID)
	}
	if w1.ID == w2.ID || w2.ID == w3.ID {
		t.Fatal("socket ids are not distinct")
	}
	// The same namespace again gets a new Manager, as does ForceNew.
	again, err := Connect(rs.URL+"/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Manager().Close()
	forced, err := Connect(rs.URL, &Options{ForceNew: true})
	if err != nil {
		t.Fatal(err)
	}
	defer forced.Manager().Close()
	if again.Manager() == root.Manager() || forced.Manager() == root.Manager() {
		t.Fatal("expected new Managers")
	}
	if askWhoami(t, again).ConnID == w1.ConnID || askWhoami(t, forced).ConnID == w1.ConnID {
		t.Fatal("expected new connections")
	}
	// Disconnecting one namespace leaves the others connected.
	chat.Disconnect()
	if askWhoami(t, root).ConnID != w1.ConnID {
		t.Fatal("connection changed")
	}
	if chat.Connected() || chat.Active() {
		t.Fatal("chat still connected")
	}
}

// TestAuth sends static and computed CONNECT payloads, and checks that a
// refused CONNECT reports the server's message and data and is not retried.
func TestAuth(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0")

	s := dial(t, rs.URL+"/admin", &Options{Auth: map[string]any{"token": "secret", "n": 1}})
	if w := askWhoami(t, s); w.Nsp != "/admin" || w.Auth["n"] != 1.0 {
		t.Fatalf("whoami = %+v", w)
	}

	_, err := Dial(ctxT(t), rs.URL+"/admin", &Options{ForceNew: true, Auth: map[string]string{"token": "wrong"}})
	var cerr *ConnectError
	if !errors.As(err, &cerr) {
		t.Fatalf("Dial error = %v", err)
	}
	if cerr.Message != "not authorized" || string(cerr.Data) != `{"code":401,"reason":"bad token"}` || !cerr.Refused() {
		t.Fatalf("connect error = %+v", cerr)
	}

	// A refused socket is not retried, even with reconnection on.
	var attempts atomic.Int32
	r, err := Connect(rs.URL+"/admin", &Options{ForceNew: true, ReconnectionDelay: 10 * time.Millisecond, AuthFunc: func() any {
		attempts.Add(1)
		return map[string]string{"token": "nope"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Manager().Close()
	errs := make(chan *ConnectError, 10)
	r.On("connect_error", func(err *ConnectError) { errs <- err })
	if e := recv(t, errs, "connect_error"); e.Message != "not authorized" {
		t.Fatalf("connect_error %v", e)
	}
	testutil.Eventually(t, 15*time.Second, "the connection to close", func() bool { return r.Manager().Transport() == "" })
	time.Sleep(200 * time.Millisecond) // 20 reconnection delays
	if n := attempts.Load(); n != 1 || r.Active() {
		t.Fatalf("auth computed %d times, active=%v", n, r.Active())
	}
}

// TestServerAckRequest answers events that the server emits with an
// acknowledgement callback, with JSON and binary values.
func TestServerAckRequest(t *testing.T) {
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			checkGoroutines(t)
			rs := startRef(t, "0")
			opts := mode.opts
			s := dial(t, rs.URL, &opts)
			s.On("question", func(n int, text string, blob []byte, ack Ack) {
				if err := ack(n+1, text+"!", append(blob, 4)); err != nil {
					t.Error(err)
				}
				if err := ack(); err != ErrAckSent {
					t.Errorf("second ack: %v", err)
				}
			})
			args, err := s.EmitWithAck(ctxT(t), "request-ack", "question", 41, "why", []byte{1, 2, 3})
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := args.Decode(0, &v); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"reply": []any{42.0, "why!", []byte{1, 2, 3, 4}}}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("reply = %#v", v)
			}
			// An Args handler sees the raw arguments.
			s.On("raw", func(a Args, ack Ack) { ack(a.Len(), a.Raw(0)) })
			args, err = s.EmitWithAck(ctxT(t), "request-ack", "raw", map[string]int{"x": 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := args.String(); got != `[{"reply":[1,{"x":1}]}]` {
				t.Fatalf("reply = %s", got)
			}
		})
	}
}

// TestAckTimeout: EmitWithAck returns the context's error when no
// acknowledgement comes, and later acknowledgements still work.
func TestAckTimeout(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0")
	s := dial(t, rs.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.EmitWithAck(ctx, "record", "no ack")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	s.mu.Lock()
	pending := len(s.acks)
	s.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d acks still pending", pending)
	}
	if _, err := s.EmitWithAck(ctxT(t), "echo"); err != nil {
		t.Fatal(err)
	}
}

// TestHandlerMayWaitForAck: a handler can emit and wait for an
// acknowledgement; the network keeps being read meanwhile.
func TestHandlerMayWaitForAck(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0")
	s := dial(t, rs.URL, nil)
	res := make(chan string, 1)
	s.On("go", func(word string) {
		args, err := s.EmitWithAck(ctxT(t), "echo", word+word)
		if err != nil {
			res <- err.Error()
			return
		}
		var w string
		_ = args.Decode(0, &w)
		res <- w
	})
	if err := s.Emit("emit-back", "go", "ab"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, res, "handler result"); got != "abab" {
		t.Fatalf("got %q", got)
	}
}

// TestRoomsAndBroadcast uses the server's rooms from two clients.
func TestRoomsAndBroadcast(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0")
	a, b := dial(t, rs.URL, nil), dial(t, rs.URL, nil)
	gotA, gotB := make(chan string, 4), make(chan string, 4)
	a.On("news", func(s string) { gotA <- s })
	b.On("news", func(s string) { gotB <- s })
	for _, s := range []*Socket{a, b} {
		if _, err := s.EmitWithAck(ctxT(t), "join", "room1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Emit("broadcast", "room1", "news", "from a"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, gotB, "broadcast"); got != "from a" {
		t.Fatal(got)
	}
	if err := a.Emit("to-room", "room1", "news", "all"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, gotA, "room emit"); got != "all" {
		t.Fatalf("a got %q (a broadcast must skip its sender)", got)
	}
	if got := recv(t, gotB, "room emit"); got != "all" {
		t.Fatal(got)
	}
}

// TestOnAny sees every event before its own handlers.
func TestOnAny(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0")
	s := dial(t, rs.URL, nil)
	var mu sync.Mutex
	var log []string
	done := make(chan struct{})
	s.OnAny(func(event string, args Args) {
		mu.Lock()
		log = append(log, "any:"+event+args.String())
		mu.Unlock()
	})
	s.On("b", func() {
		mu.Lock()
		log = append(log, "b")
		mu.Unlock()
		close(done)
	})
	_ = s.Emit("emit-back", "a", 1)
	_ = s.Emit("emit-back", "b", []byte{1})
	recv(t, done, "event b")
	mu.Lock()
	defer mu.Unlock()
	want := []string{`any:a[1]`, `any:b[{"_placeholder":true,"num":0}]`, "b"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("log = %q", log)
	}
}

// TestDisconnectReasons checks the reasons and that no reconnection
// follows a server-side or client-side disconnect.
func TestDisconnectReasons(t *testing.T) {
	for _, srv := range testServers {
		for _, mode := range transportModes {
			t.Run(srv.name+"/"+mode.name, func(t *testing.T) {
				checkGoroutines(t)
				testDisconnectReasons(t, srv.start(t), mode.opts)
			})
		}
	}
}

func testDisconnectReasons(t *testing.T, server string, opts Options) {
	fast := &opts
	fast.ReconnectionDelay, fast.ReconnectionDelayMax = 10*time.Millisecond, 20*time.Millisecond

	for _, event := range []string{"disconnect-me", "close-conn"} {
		s := dial(t, server, fast)
		reasons := make(chan string, 4)
		s.On("disconnect", func(r string) { reasons <- r })
		if err := s.Emit(event); err != nil {
			t.Fatal(err)
		}
		if r := recv(t, reasons, "disconnect"); r != ReasonIOServerDisconnect {
			t.Fatalf("%s: reason %q", event, r)
		}
		testutil.Eventually(t, 15*time.Second, "connection closed", func() bool { return s.Manager().Transport() == "" })
		time.Sleep(100 * time.Millisecond) // several reconnection delays
		if s.Active() || s.Connected() || len(reasons) != 0 {
			t.Fatalf("%s: active=%v connected=%v", event, s.Active(), s.Connected())
		}
	}

	s := dial(t, server, fast)
	reasons := make(chan string, 4)
	connects := make(chan string, 4)
	s.On("disconnect", func(r string) { reasons <- r })
	s.On("connect", func() {
		// Buffered events go out before the connect handlers run.
		_ = s.Emit("record", "connect-handler")
		connects <- s.ID()
	})
	first := s.ID()
	s.Disconnect()
	if r := recv(t, reasons, "disconnect"); r != ReasonIOClientDisconnect {
		t.Fatalf("reason %q", r)
	}
	testutil.Eventually(t, 15*time.Second, "connection closed", func() bool { return s.Manager().Transport() == "" })
	// Events emitted while disconnected wait for Connect.
	if err := s.Emit("record", "after-disconnect"); err != nil {
		t.Fatal(err)
	}
	s.Connect()
	if id := recv(t, connects, "connect"); id == first || id == "" {
		t.Fatalf("new id %q, first %q", id, first)
	}
	args, err := s.EmitWithAck(ctxT(t), "get-records")
	if err != nil {
		t.Fatal(err)
	}
	if got := args.String(); got != `[["after-disconnect","connect-handler"]]` {
		t.Fatalf("records %s", got)
	}
}

// TestPingTimeout: when the server stops sending pings the client detects
// the dead connection after pingInterval+pingTimeout and reconnects.
func TestPingTimeout(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0", "PING_INTERVAL=300", "PING_TIMEOUT=200")
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := mode.opts
			opts.ReconnectionDelay = 10 * time.Millisecond
			s := dial(t, rs.URL, &opts)
			testutil.Eventually(t, 15*time.Second, "transport "+mode.final, func() bool { return s.Manager().Transport() == mode.final })
			reasons := make(chan string, 4)
			connects := make(chan struct{}, 4)
			s.On("disconnect", func(r string) { reasons <- r })
			s.On("connect", func() { connects <- struct{}{} })
			// Connections live across several ping intervals.
			time.Sleep(700 * time.Millisecond)
			if !s.Connected() {
				t.Fatal("not connected after the first pings")
			}
			if _, err := s.EmitWithAck(ctxT(t), "stop-heartbeat"); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if r := recv(t, reasons, "disconnect"); r != ReasonPingTimeout {
				t.Fatalf("reason %q", r)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("ping timeout detected after %v", d)
			}
			recv(t, connects, "reconnect")
		})
	}
}

// TestReconnectAfterRestart kills the server, emits while it is down, and
// restarts it on the same port: the client reconnects every namespace with
// fresh auth and delivers the buffered events in order.
func TestReconnectAfterRestart(t *testing.T) {
	// As the official client: a failed polling request is a "transport
	// error", a WebSocket whose connection ends (an EOF, or a reset when
	// the killed server had unread data) a "transport close".
	reasonFor := map[string]string{"polling": ReasonTransportError, "websocket": ReasonTransportClose, "upgrade": ReasonTransportClose}
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			checkGoroutines(t)
			rs := startRef(t, "0")
			var authN atomic.Int32
			opts := mode.opts
			opts.ReconnectionDelay = 50 * time.Millisecond
			opts.ReconnectionDelayMax = 200 * time.Millisecond
			opts.ForceNew = true
			opts.AuthFunc = func() any { return map[string]any{"n": authN.Add(1)} }
			s, err := Dial(ctxT(t), rs.URL, &opts)
			if err != nil {
				t.Fatal(err)
			}
			m := s.Manager()
			defer m.Close()
			admin := m.Socket("/admin", &SocketOptions{AuthFunc: func() any { return map[string]string{"token": "secret"} }})
			testutil.Eventually(t, 15*time.Second, "transport "+mode.final, func() bool { return m.Transport() == mode.final })
			askWhoami(t, admin)
			reasons := make(chan string, 4)
			connects := make(chan string, 4)
			adminConnects := make(chan struct{}, 4)
			reconnected := make(chan int, 4)
			s.On("disconnect", func(r string) { reasons <- r })
			s.On("connect", func() { connects <- s.ID() })
			admin.On("connect", func() { adminConnects <- struct{}{} })
			m.OnReconnect(func(n int) { reconnected <- n })
			reconnErrs := make(chan error, 1)
			m.OnReconnectError(func(err error) {
				select {
				case reconnErrs <- err:
				default:
				}
			})
			first := askWhoami(t, s)
			pending := make(chan error, 1)
			go func() {
				_, err := s.EmitWithAck(ctxT(t), "record", "never acked")
				pending <- err
			}()
			testutil.Eventually(t, 15*time.Second, "the unacked event to be sent", func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return len(s.acks) == 1
			})

			rs.stop()
			if err := recv(t, pending, "ack failure"); !errors.Is(err, ErrDisconnected) {
				t.Fatalf("pending EmitWithAck: %v", err)
			}
			if r := recv(t, reasons, "disconnect"); r != reasonFor[mode.name] {
				t.Fatalf("reason %q, want %q", r, reasonFor[mode.name])
			}
			// Emitted while disconnected: buffered (volatile ones dropped).
			for i := range 5 {
				if err := s.Emit("record", i); err != nil {
					t.Fatal(err)
				}
				if err := s.EmitVolatile("record", "volatile"); err != nil {
					t.Fatal(err)
				}
			}
			acked := make(chan string, 1)
			go func() {
				args, err := s.EmitWithAck(ctxT(t), "echo", "buffered")
				if err != nil {
					acked <- err.Error()
					return
				}
				acked <- args.String()
			}()
			testutil.Eventually(t, 15*time.Second, "buffered emits", func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return len(s.sendBuf) == 6
			})
			if err := recv(t, reconnErrs, "a failed reconnection attempt"); err == nil {
				t.Fatal("OnReconnectError with a nil error")
			}

			startRef(t, rs.Port)
			if id := recv(t, connects, "reconnect"); id == "" || id == first.ID {
				t.Fatalf("id after reconnect %q (before %q)", id, first.ID)
			}
			recv(t, adminConnects, "admin reconnect")
			if n := recv(t, reconnected, "OnReconnect"); n < 1 {
				t.Fatalf("reconnect attempts %d", n)
			}
			if got := recv(t, acked, "buffered ack"); got != `["buffered"]` {
				t.Fatalf("buffered ack: %s", got)
			}
			args, err := s.EmitWithAck(ctxT(t), "get-records")
			if err != nil {
				t.Fatal(err)
			}
			if got := args.String(); got != `[[0,1,2,3,4]]` {
				t.Fatalf("records after restart: %s", got)
			}
			w := askWhoami(t, s)
			if w.Auth["n"].(float64) < 2 {
				t.Fatalf("auth not recomputed: %v", w.Auth)
			}
			if aw := askWhoami(t, admin); aw.ConnID != w.ConnID {
				t.Fatal("namespaces on different connections after reconnect")
			}
			testutil.Eventually(t, 15*time.Second, "transport "+mode.final, func() bool { return m.Transport() == mode.final })
		})
	}
}

// TestConnectFailures: no server, and a server that never answers.
func TestConnectFailures(t *testing.T) {
	checkGoroutines(t)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stopped := "http://" + free.Addr().String()
	free.Close()
	_, err = Dial(ctxT(t), stopped, &Options{ForceNew: true, DisableReconnection: true})
	var cerr *ConnectError
	if !errors.As(err, &cerr) || cerr.Refused() || cerr.Err == nil {
		t.Fatalf("Dial to a stopped server: %v", err)
	}

	// Reconnection attempts are made with backoff and reported.
	attempts := make(chan int, 10)
	failed := make(chan struct{})
	m, err := NewManager(stopped, &Options{ReconnectionAttempts: 3, ReconnectionDelay: 5 * time.Millisecond,
		ReconnectionDelayMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.OnReconnectAttempt(func(n int) { attempts <- n })
	m.OnReconnectFailed(func() { close(failed) })
	errs := make(chan *ConnectError, 10)
	s := m.Socket("/", &SocketOptions{NoAutoConnect: true})
	s.OnConnectError(func(err *ConnectError) { errs <- err })
	s.Connect()
	recv(t, failed, "reconnect_failed")
	close(attempts)
	var got []int
	for n := range attempts {
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("attempts %v", got)
	}
	if s.Active() != true || s.Connected() {
		t.Fatalf("active=%v connected=%v", s.Active(), s.Connected())
	}
	testutil.Eventually(t, 15*time.Second, "connect errors", func() bool { return len(errs) >= 3 })

	// A server that accepts connections and never answers: "timeout".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	conns.Add(1)
	go func() {
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer conns.Wait()
	defer ln.Close()
	for _, mode := range transportModes[:2] {
		opts := mode.opts
		opts.ForceNew, opts.DisableReconnection, opts.Timeout = true, true, 100*time.Millisecond
		start := time.Now()
		_, err = Dial(ctxT(t), "http://"+ln.Addr().String(), &opts)
		if !errors.As(err, &cerr) || cerr.Message != "timeout" {
			t.Fatalf("%s: Dial to a silent server: %v", mode.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("timeout after %v", d)
		}
	}
}

// TestPollingBatchesWithinMaxPayload: over long-polling, queued packets are
// sent in POST bodies no larger than the server's maxPayload.
func TestPollingBatchesWithinMaxPayload(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0", "MAX_PAYLOAD=2000")
	s := dial(t, rs.URL, &Options{Transports: []string{TransportPolling}, DisableReconnection: true})
	const n = 60
	got := make(chan int, n)
	s.On("echo", func(i int, pad string) { got <- i })
	reasons := make(chan string, 1)
	s.On("disconnect", func(r string) { reasons <- r })
	pad := strings.Repeat("p", 400)
	for i := range n {
		if err := s.Emit("echo", i, pad); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if v := recv(t, got, "echo"); v != i {
			t.Fatalf("echo %d is %d", i, v)
		}
	}
	if len(reasons) != 0 {
		t.Fatalf("disconnected: %s", <-reasons)
	}
}

// TestConcurrentUse emits from many goroutines at once, with and without
// acknowledgements, on two namespaces of one connection.
func TestConcurrentUse(t *testing.T) {
	for _, srv := range testServers {
		for _, mode := range transportModes {
			t.Run(srv.name+"/"+mode.name, func(t *testing.T) {
				checkGoroutines(t)
				testConcurrentUse(t, srv.start(t), mode.opts)
			})
		}
	}
}

func testConcurrentUse(t *testing.T, server string, opts Options) {
	s := dial(t, server, &opts)
	closes := make(chan string, 4)
	s.Manager().OnClose(func(reason string, err error) {
		select {
		case closes <- fmt.Sprintf("%s (%v)", reason, err):
		default:
		}
	})
	chat := s.Manager().Socket("/chat", nil)
	var echoes atomic.Int32
	s.On("echo", func(Args) { echoes.Add(1) })
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sock := s
			if g%2 == 1 {
				sock = chat
			}
			for i := range 20 {
				want := fmt.Sprintf("%d-%d", g, i)
				args, err := sock.EmitWithAck(ctxT(t), "echo", want, []byte(want))
				if err != nil {
					errs <- err
					return
				}
				var got string
				var bin []byte
				if err := errors.Join(args.Decode(0, &got), args.Decode(1, &bin)); err != nil || got != want || string(bin) != want {
					errs <- fmt.Errorf("ack %q %q, want %q (%v)", got, bin, want, err)
					return
				}
				if g%2 == 0 {
					if err := s.Emit("emit-back", "echo", want); err != nil {
						errs <- err
						return
					}
				}
				_ = s.ID()
				_ = s.Connected()
				_ = s.Manager().Transport()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		select {
		case c := <-closes:
			t.Fatalf("%v; the connection closed: %s", err, c)
		default:
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 15*time.Second, "100 echoes", func() bool { return echoes.Load() == 100 })
}

// TestCloseLeavesNoGoroutines: Manager.Close and Socket.Close end every
// goroutine of the client, whatever the transport.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	rs := startRef(t, "0")
	for _, mode := range transportModes {
		for _, how := range []string{"manager", "socket", "disconnect-then-close"} {
			t.Run(mode.name+"/"+how, func(t *testing.T) {
				before := runtime.NumGoroutine()
				opts := mode.opts
				opts.ForceNew = true
				s, err := Dial(ctxT(t), rs.URL, &opts)
				if err != nil {
					t.Fatal(err)
				}
				chat := s.Manager().Socket("/chat", nil)
				s.On("echo", func(string) {})
				_ = s.Emit("echo", "x")
				askWhoami(t, chat)
				testutil.Eventually(t, 15*time.Second, "transport", func() bool { return s.Manager().Transport() == mode.final })
				switch how {
				case "manager":
					s.Manager().Close()
				case "socket":
					chat.Close() // s still active: the Manager stays open
					if s.Manager().isClosed() || !s.Connected() {
						t.Fatal("Socket.Close closed a Manager still in use")
					}
					s.Close()
					if !s.Manager().isClosed() {
						t.Fatal("Manager not closed by the last Socket.Close")
					}
				case "disconnect-then-close":
					s.Disconnect()
					chat.Disconnect()
					s.Manager().Close()
				}
				deadline := time.Now().Add(3 * time.Second)
				for runtime.NumGoroutine() > before {
					if time.Now().After(deadline) {
						buf := make([]byte, 1<<20)
						t.Fatalf("%d goroutines before, %d after Close\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
	}
}

// TestAckTimeoutAndRetries: SocketOptions.AckTimeout bounds the wait for
// an acknowledgement; with Retries, unacknowledged events are sent again,
// one at a time and in order.
func TestAckTimeoutAndRetries(t *testing.T) {
	for _, srv := range testServers {
		t.Run(srv.name, func(t *testing.T) {
			checkGoroutines(t)
			testAckTimeoutAndRetries(t, srv.start(t))
		})
	}
}

func testAckTimeoutAndRetries(t *testing.T, server string) {
	s := dial(t, server, &Options{AckTimeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := s.EmitWithAck(ctxT(t), "record", "x"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("EmitWithAck without ack: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}

	r := dial(t, server, &Options{AckTimeout: 150 * time.Millisecond, Retries: 2})
	args, err := r.EmitWithAck(ctxT(t), "flaky", "a")
	if err != nil {
		t.Fatal(err)
	}
	if got := args.String(); got != `["a",2]` {
		t.Fatalf("flaky ack %s", got)
	}
	// Emit goes through the queue too: "c" is sent only once "b" is
	// acknowledged, and "count" after both.
	if err := r.Emit("flaky", "b"); err != nil {
		t.Fatal(err)
	}
	if err := r.Emit("flaky", "c"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "b", "c"} {
		args, err := r.EmitWithAck(ctxT(t), "count", key)
		if err != nil {
			t.Fatal(err)
		}
		if got := args.String(); got != "[2]" {
			t.Fatalf("receipts of %s: %s", key, got)
		}
	}
	// Retries exhausted: 1 + Retries tries, then ErrAckTimeout.
	if _, err := r.EmitWithAck(ctxT(t), "record", "never"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("exhausted retries: %v", err)
	}
	args, err = r.EmitWithAck(ctxT(t), "get-records")
	if err != nil {
		t.Fatal(err)
	}
	if got := args.String(); got != `[["x","never","never","never"]]` {
		t.Fatalf("records %s", got)
	}
	// A canceled EmitWithAck leaves the queue.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.EmitWithAck(ctx, "record", "canceled"); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, err := r.EmitWithAck(ctxT(t), "count", "z"); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	left := len(r.queue)
	r.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d events left in the queue", left)
	}
}

// TestRetryAcrossReconnection: with Retries, an event sent on a connection
// that dies before its acknowledgement is sent again on the next one.
func TestRetryAcrossReconnection(t *testing.T) {
	checkGoroutines(t)
	rs := startRef(t, "0", "PING_INTERVAL=300", "PING_TIMEOUT=200")
	s := dial(t, rs.URL, &Options{Transports: []string{TransportWebSocket}, Retries: 3,
		ReconnectionDelay: 20 * time.Millisecond})
	reasons := make(chan string, 2)
	s.On("disconnect", func(r string) { reasons <- r })
	if _, err := s.EmitWithAck(ctxT(t), "stop-heartbeat"); err != nil {
		t.Fatal(err)
	}
	// The first receipt of "k" is not acknowledged; the connection then
	// dies of a ping timeout and the second try, on the new connection,
	// is.
	args, err := s.EmitWithAck(ctxT(t), "flaky", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := args.String(); got != `["k",2]` {
		t.Fatalf("ack %s", got)
	}
	if r := recv(t, reasons, "disconnect"); r != ReasonPingTimeout {
		t.Fatalf("reason %q", r)
	}
}
