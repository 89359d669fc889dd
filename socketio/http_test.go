package socketio_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// pollingSession opens a polling session on base (the server's URL) and
// returns a function doing requests on it.
func pollingSession(t *testing.T, base string) (string, func(method, body string) (int, string)) {
	t.Helper()
	do := func(method, url, body string) (int, string) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("GET", base+"/socket.io/?EIO=4&transport=polling", "")
	if code != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", code, body)
	}
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil {
		t.Fatal(err)
	}
	url := base + "/socket.io/?EIO=4&transport=polling&sid=" + open.SID
	return open.SID, func(method, body string) (int, string) { return do(method, url, body) }
}

func TestPollingConnectAndAuthInOneResponse(t *testing.T) {
	base := startServer(t, fixtureServer())
	_, do := pollingSession(t, base)
	if code, body := do("POST", `40{"token":"t"}`); code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	code, body := do("GET", "")
	parts := strings.Split(body, "\x1e")
	if code != 200 || len(parts) != 2 || !strings.HasPrefix(parts[0], `40{"sid":"`) || parts[1] != `42["auth",{"token":"t"}]` {
		t.Fatalf("GET: %d %q", code, body)
	}
}

func TestProtocolViolationOverPollingClosesOnlyThatConnection(t *testing.T) {
	base := startServer(t, fixtureServer())
	other := dialWire(t, base)
	other.Connect("/", nil)
	other.Expect(`42["auth",{}]`)
	for _, bad := range []string{`42["message"]`, "40\x1e40", `4abc`} {
		_, do := pollingSession(t, base)
		do("POST", bad)
		// Packets queued before the violation (a CONNECT reply) may come
		// first; then the close packet, then the session is gone.
		closed := false
		for range 3 {
			code, body := do("GET", "")
			if code != 200 {
				t.Fatalf("%q: GET %d %q before the close packet", bad, code, body)
			}
			if parts := strings.Split(body, "\x1e"); parts[len(parts)-1] == "1" {
				closed = true
				break
			}
		}
		if !closed {
			t.Fatalf("%q: no close packet", bad)
		}
		if code, _ := do("GET", ""); code != 400 {
			t.Fatalf("%q: GET after close: %d", bad, code)
		}
		// Everyone else is still served.
		other.Send(`42["message","still here"]`)
		other.Expect(`42["message-back","still here"]`)
	}
}

func TestHandshakeFields(t *testing.T) {
	srv := socketio.NewServer(nil)
	got := make(chan *socketio.Handshake, 1)
	srv.OnConnection(func(s *socketio.Socket) { got <- s.Handshake() })
	base := startServer(t, srv)
	c := socketiotest.Dial(t, base+"/socket.io/?room=a&x=1", http.Header{"Origin": {"http://example.test"}, "X-Test": {"yes"}})
	c.Connect("/", map[string]any{"token": "abc"})
	h := <-got
	if h.Query.Get("room") != "a" || h.Query.Get("x") != "1" || h.Query.Get("EIO") != "4" {
		t.Errorf("query %v", h.Query)
	}
	if h.Headers.Get("X-Test") != "yes" || h.Headers.Get("Host") == "" {
		t.Errorf("headers %v", h.Headers)
	}
	if !h.XDomain || h.Secure || h.Address != "127.0.0.1" || h.Issued == 0 || h.Time == "" {
		t.Errorf("handshake %+v", h)
	}
	if !strings.HasPrefix(h.URL, "/socket.io/?") || string(h.Auth) != `{"token":"abc"}` {
		t.Errorf("url %q auth %s", h.URL, h.Auth)
	}
}

// TestHandshakeSharedBySockets: the sockets of one connection (one per
// namespace) describe the same request; only the CONNECT payload differs.
func TestHandshakeSharedBySockets(t *testing.T) {
	srv := socketio.NewServer(nil)
	got := make(chan *socketio.Socket, 2)
	srv.OnConnection(func(s *socketio.Socket) { got <- s })
	srv.Of("/chat").OnConnection(func(s *socketio.Socket) { got <- s })
	base := startServer(t, srv)
	c := socketiotest.Dial(t, base+"/socket.io/?room=a", http.Header{"X-Test": {"yes"}})
	c.Connect("/", map[string]any{"n": 1})
	c.Connect("/chat", map[string]any{"n": 2})
	a, b := <-got, <-got
	if a.Namespace().Name() != "/" {
		a, b = b, a
	}
	ha, hb := a.Handshake(), b.Handshake()
	for _, h := range []*socketio.Handshake{ha, hb} {
		if h.Headers.Get("Host") == "" || h.Headers.Get("X-Test") != "yes" || h.Query.Get("room") != "a" ||
			h.Address != "127.0.0.1" || !strings.HasPrefix(h.URL, "/socket.io/?") {
			t.Errorf("handshake %+v", h)
		}
	}
	if ha.URL != hb.URL || string(ha.Auth) != `{"n":1}` || string(hb.Auth) != `{"n":2}` {
		t.Errorf("url %q / %q, auth %s / %s", ha.URL, hb.URL, ha.Auth, hb.Auth)
	}
	if a.Request().Header.Get("Host") != ha.Headers.Get("Host") {
		t.Errorf("request Host %q, handshake Host %q", a.Request().Header.Get("Host"), ha.Headers.Get("Host"))
	}
}

func TestDynamicNamespaceByFunction(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OfFunc(func(name string, auth json.RawMessage) bool {
		return strings.HasPrefix(name, "/org-") && strings.Contains(string(auth), "member")
	}).OnConnection(func(s *socketio.Socket) { _ = s.Emit("in", s.Namespace().Name()) })
	c := dialWire(t, startServer(t, srv))
	c.Send(`40/org-1,{"role":"member"}`)
	c.ExpectMatch(`40/org-1,\{"sid":"[^"]+"\}`)
	c.Expect(`42/org-1,["in","/org-1"]`)
	c.Send(`40/org-2,{"role":"guest"}`)
	c.Expect(`44/org-2,{"message":"Invalid namespace"}`)
}

func TestMountedUnderChiAndClientFiles(t *testing.T) {
	for _, disable := range []bool{false, true} {
		srv := socketio.NewServer(&socketio.Options{DisableClientFiles: disable})
		srv.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hi") })
		r := chi.NewRouter()
		r.Handle("/socket.io/*", srv)
		r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "home") })
		hs := httptest.NewServer(r)
		c := socketiotest.Dial(t, hs.URL+"/socket.io/", nil)
		c.Connect("/", nil)
		c.Expect(`42["hi"]`)
		resp, err := http.Get(hs.URL + "/socket.io/socket.io.min.js")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if disable {
			// Falls through to Engine.IO, as the reference.
			if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":0`) {
				t.Errorf("disabled client files: %d %s", resp.StatusCode, b)
			}
		} else if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"4.8.4"` || !strings.Contains(string(b[:200]), "Socket.IO v4.8.4") {
			t.Errorf("client file: %d %q %q", resp.StatusCode, resp.Header.Get("ETag"), b[:80])
		}
		_ = c.WS.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Close(ctx)
		cancel()
		hs.Close()
	}
}

// The client bundles carry the CORS headers of the Engine.IO option, and a
// preflight for them is answered.
func TestClientFilesCORS(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{
		CORS: &engine.CORS{Origins: []string{"https://app.example"}, Methods: []string{"GET", "POST"}},
	}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	get := func(method, origin string) *http.Response {
		req, _ := http.NewRequest(method, hs.URL+"/socket.io/socket.io.min.js", nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := get("GET", "https://app.example"); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("allowed origin: %d %v", res.StatusCode, res.Header)
	}
	if res := get("GET", "https://other.example"); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: %d %v", res.StatusCode, res.Header)
	}
	if res := get("OPTIONS", "https://app.example"); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Methods") != "GET,POST" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
}

// DisableTrailingSlash is the reference's addTrailingSlash: false: the
// path without its slash is served too; by default only the paths under
// Path + "/" are. A path that merely starts with Path never is.
func TestTrailingSlash(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run("DisableTrailingSlash="+boolStr(disable), func(t *testing.T) {
			srv := socketio.NewServer(&socketio.Options{DisableTrailingSlash: disable})
			srv.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hi") })
			hs := httptest.NewServer(srv) // every path reaches the server
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Close(ctx)
				hs.Close()
			})
			get := func(path string) (int, string) {
				t.Helper()
				resp, err := http.Get(hs.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			handshake := "?EIO=4&transport=polling"
			if code, body := get("/socket.io/" + handshake); code != 200 || !strings.HasPrefix(body, "0{") {
				t.Errorf("with the slash: %d %q", code, body)
			}
			code, body := get("/socket.io" + handshake)
			if disable && (code != 200 || !strings.HasPrefix(body, "0{")) {
				t.Errorf("without the slash: %d %q, want an open packet", code, body)
			}
			if !disable && code != 404 {
				t.Errorf("without the slash: %d %q, want 404", code, body)
			}
			for _, p := range []string{"/socket.iox" + handshake, "/other" + handshake, "/" + handshake} {
				if code, body := get(p); code != 404 {
					t.Errorf("%s: %d %q, want 404", p, code, body)
				}
			}
			if disable {
				// A whole session on the bare path, as a client with
				// addTrailingSlash: false runs it.
				c := socketiotest.Dial(t, hs.URL+"/socket.io", nil)
				c.Connect("/", nil)
				c.Expect(`42["hi"]`)
			}
		})
	}
}

// A server at the root path answers the handshake at "/".
func TestRootPath(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{Path: "/"})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	resp, err := http.Get(hs.URL + "/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "0{") {
		t.Fatalf("handshake at the root: %d %q", resp.StatusCode, b)
	}
}
