package socketio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// wire is a raw WebSocket client speaking Engine.IO/Socket.IO text, for
// transcript-style tests: send what a client sends, expect what the
// server must answer, byte for byte.
type wire struct {
	t    testing.TB
	conn *websocket.Conn
}

// startServer serves srv on a loopback httptest server and closes both at
// the end of the test.
func startServer(t testing.TB, srv *socketio.Server) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	return hs.URL
}

func dialWire(t testing.TB, base string) *wire {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	w := &wire{t: t, conn: c}
	t.Cleanup(func() { _ = c.Close() })
	open := w.readText()
	if !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet: got %q", open)
	}
	return w
}

func (w *wire) send(text string) {
	w.t.Helper()
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		w.t.Fatalf("send %q: %v", text, err)
	}
}

func (w *wire) sendBinary(b []byte) {
	w.t.Helper()
	if err := w.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		w.t.Fatalf("send binary: %v", err)
	}
}

// next returns the next frame that is not a ping (pings are answered).
func (w *wire) next() (string, bool, error) {
	for {
		_ = w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, b, err := w.conn.ReadMessage()
		if err != nil {
			return "", false, err
		}
		if typ == websocket.TextMessage && string(b) == "2" {
			_ = w.conn.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		return string(b), typ == websocket.BinaryMessage, nil
	}
}

func (w *wire) readText() string {
	w.t.Helper()
	s, bin, err := w.next()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	if bin {
		w.t.Fatalf("got a binary frame, want text")
	}
	return s
}

func (w *wire) expect(want string) {
	w.t.Helper()
	if got := w.readText(); got != want {
		w.t.Fatalf("got %q, want %q", got, want)
	}
}

func (w *wire) expectMatch(re string) string {
	w.t.Helper()
	got := w.readText()
	if !regexp.MustCompile("^" + re + "$").MatchString(got) {
		w.t.Fatalf("got %q, want match of %q", got, re)
	}
	return got
}

func (w *wire) expectBinary(want []byte) {
	w.t.Helper()
	s, bin, err := w.next()
	if err != nil || !bin || s != string(want) {
		w.t.Fatalf("got %q (binary %v, err %v), want binary %x", s, bin, err, want)
	}
}

// expectClosed waits until the server closes the connection.
func (w *wire) expectClosed() {
	w.t.Helper()
	for {
		s, _, err := w.next()
		if err != nil {
			return
		}
		if s == "1" { // Engine.IO close packet, the socket follows
			continue
		}
	}
}

// connect joins a namespace and returns the socket id.
func (w *wire) connect(nsp string) string {
	w.t.Helper()
	prefix := ""
	if nsp != "/" {
		prefix = nsp + ","
	}
	w.send("40" + prefix)
	got := w.expectMatch(regexp.QuoteMeta("40"+prefix) + `\{"sid":"[A-Za-z0-9_-]{20}"\}`)
	var body struct{ SID string }
	_ = json.Unmarshal([]byte(got[len("40"+prefix):]), &body)
	return body.SID
}

// checkGoroutines fails if goroutines started during the test are still
// running after cleanup (polling, as some exit asynchronously).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf)
		}
	})
}

// fixtureServer is the server of the protocol suites (cmd/siofixture).
func fixtureServer() *socketio.Server {
	srv := socketio.NewServer(&socketio.Options{
		ConnectTimeout: time.Second,
		Engine: engine.Options{
			PingInterval: 300 * time.Millisecond,
			PingTimeout:  200 * time.Millisecond,
		},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(args socketio.Args) { _ = s.Emit("message-back", args.Forward()...) })
		s.On("message-with-ack", func(args socketio.Args, ack socketio.Ack) { _ = ack(args.Forward()...) })
	})
	srv.Of("/custom").OnConnection(func(s *socketio.Socket) { _ = s.Emit("auth", s.Handshake().Auth) })
	return srv
}
