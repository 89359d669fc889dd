package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/leakcheck"
)

// closeEvent is one OnClose call seen by the echo handler.
type closeEvent struct {
	s      *Session
	reason Reason
}

// echoHandler sends every message back unchanged, as the fixture's
// /engine.io/ endpoint does, and records opens and closes.
type echoHandler struct {
	mu     sync.Mutex
	opened []*Session
	closes chan closeEvent
	onOpen func(*Session)
}

func newEcho() *echoHandler { return &echoHandler{closes: make(chan closeEvent, 1000)} }

func (h *echoHandler) OnOpen(s *Session) Conn {
	h.mu.Lock()
	h.opened = append(h.opened, s)
	f := h.onOpen
	h.mu.Unlock()
	if f != nil {
		f(s)
	}
	return h
}

func (h *echoHandler) OnMessage(s *Session, data []byte, binary bool) {
	s.Send(slices.Clone(data), binary)
}

func (h *echoHandler) OnClose(s *Session, reason Reason) {
	h.closes <- closeEvent{s, reason}
}

// waitClose waits for the OnClose of the session with id sid.
func (h *echoHandler) waitClose(t *testing.T, sid string) Reason {
	t.Helper()
	// Generous: on a loaded machine (a busy core, the race detector, the
	// other packages' tests) a close has once taken over 5 s to reach
	// OnClose.
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-h.closes:
			if ev.s.ID() == sid {
				return ev.reason
			}
		case <-deadline:
			// Every goroutine's stack, to see where the close stopped.
			buf := make([]byte, 1<<20)
			t.Fatalf("no OnClose for session %s\n%s", sid, buf[:runtime.Stack(buf, true)])
		}
	}
}

// fixtureOptions are the option values of the conformance fixture.
func fixtureOptions() *Options {
	return &Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}
}

// slowHeartbeat keeps sessions alive for the length of a test.
func slowHeartbeat() *Options {
	return &Options{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}
}

type tenv struct {
	srv    *Server
	ts     *httptest.Server
	h      *echoHandler
	client *http.Client
}

// newEnv starts an echo Engine.IO server mounted at /engine.io/.
func newEnv(t *testing.T, opts *Options) *tenv {
	t.Helper()
	h := newEcho()
	srv := NewServer(h, opts)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewServer(mux)
	tr := &http.Transport{DisableCompression: true}
	e := &tenv{srv: srv, ts: ts, h: h, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		tr.CloseIdleConnections()
		ts.Close()
	})
	return e
}

func (e *tenv) url(query string) string { return e.ts.URL + "/engine.io/?" + query }

func (e *tenv) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/engine.io/?" + query
}

type resp struct {
	status int
	body   string
	header http.Header
}

// do sends one request and reads the whole response.
func (e *tenv) do(t *testing.T, method, url, body string, hdr map[string]string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, string(b), res.Header}
}

func (e *tenv) get(t *testing.T, sid string) resp {
	t.Helper()
	return e.do(t, "GET", e.url("EIO=4&transport=polling&sid="+sid), "", nil)
}

func (e *tenv) post(t *testing.T, sid, body string) resp {
	t.Helper()
	return e.do(t, "POST", e.url("EIO=4&transport=polling&sid="+sid), body, map[string]string{"Content-Type": "text/plain;charset=UTF-8"})
}

// openJSON is the handshake data of an open packet.
type openJSON struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen checks an open packet has exactly the five keys and decodes it.
func parseOpen(t *testing.T, pkt string) openJSON {
	t.Helper()
	if !strings.HasPrefix(pkt, "0") {
		t.Fatalf("not an open packet: %q", pkt)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(pkt[1:]), &keys); err != nil {
		t.Fatalf("open packet %q: %v", pkt, err)
	}
	want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}
	var got []string
	for k := range keys {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("open packet keys %v, want %v", got, want)
	}
	var o openJSON
	_ = json.Unmarshal([]byte(pkt[1:]), &o)
	return o
}

// handshake opens a polling session and returns its sid.
func (e *tenv) handshake(t *testing.T) string {
	t.Helper()
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	if r.status != 200 {
		t.Fatalf("handshake: %d %s", r.status, r.body)
	}
	return parseOpen(t, r.body).SID
}

// dial opens a WebSocket with a real gorilla client. The engine's tests
// use it, and readMsg, readSkipPing, expectClosed and mustWrite, rather
// than socketio/socketiotest: they dial arbitrary queries (upgrades of
// polling sessions, refused handshakes), read the open packet themselves,
// and must see every frame, pings included, without having pings answered
// for them. Byte-level frames are rawWS's (rfc6455_test.go).
func (e *tenv) dial(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(e.wsURL(query), nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readMsg reads one message within 3 seconds.
func readMsg(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	mt, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return mt, string(b)
}

// readSkipPing reads the next message that is not a ping.
func readSkipPing(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	for {
		mt, s := readMsg(t, c)
		if mt == websocket.TextMessage && s == "2" {
			continue
		}
		return mt, s
	}
}

// expectClosed reads until the connection ends and returns the error.
func expectClosed(t *testing.T, c *websocket.Conn, within time.Duration) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if ok := asTimeout(err, &ne); ok && ne.Timeout() {
				t.Fatalf("connection still open after %v", within)
			}
			return err
		}
	}
}

func asTimeout(err error, target *interface{ Timeout() bool }) bool {
	te, ok := err.(interface{ Timeout() bool })
	if ok {
		*target = te
	}
	return ok
}

func mustWrite(t *testing.T, c *websocket.Conn, mt int, s string) {
	t.Helper()
	if err := c.WriteMessage(mt, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// checkGoroutines fails the test if goroutines it started are still
// running once it is over (see internal/leakcheck).
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }
