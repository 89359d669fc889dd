package engine

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/testutil"
)

// Error responses: codes, messages, statuses and content type.
func TestErrorResponses(t *testing.T) {
	e := newEnv(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Deny") != "" {
			return errors.New("Forbidden")
		}
		return nil
	}})
	sid := e.handshake(t)
	upgraded := e.handshake(t)
	upgrade(t, e, upgraded)
	cases := []struct {
		name, method, query string
		hdr                 map[string]string
		status              int
		body                string
	}{
		{"unknown transport", "GET", "EIO=4&transport=tcp", nil, 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", nil, 400, `{"code":1,"message":"Session ID unknown"}`},
		{"bad handshake method", "PUT", "EIO=4&transport=polling", nil, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", nil, 400, `{"code":3,"message":"Bad request"}`},
		{"websocket sid without upgrade", "GET", "EIO=4&transport=websocket&sid=" + sid, nil, 400, `{"code":3,"message":"Bad request"}`},
		{"polling on upgraded sid", "GET", "EIO=4&transport=polling&sid=" + upgraded, nil, 400, `{"code":3,"message":"Bad request"}`},
		{"forbidden", "GET", "EIO=4&transport=polling", map[string]string{"X-Deny": "1"}, 403, `{"code":4,"message":"Forbidden"}`},
		{"EIO 3", "GET", "EIO=3&transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO missing", "GET", "transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, e.url(c.query), "", c.hdr)
			if r.status != c.status || r.body != c.body {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, c.status, c.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// Open and poll responses are text/plain and not cached; POST answers
// "ok" as text/html.
func TestResponseHeaders(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	r := e.do(t, "GET", e.url("EIO=4&transport=polling&t=Nabc"), "", nil)
	for _, h := range []struct{ k, v string }{{"Content-Type", "text/plain; charset=UTF-8"}, {"Cache-Control", "no-store"}} {
		if got := r.header.Get(h.k); got != h.v {
			t.Errorf("handshake %s = %q", h.k, got)
		}
	}
	sid := parseOpen(t, r.body).SID
	p := e.post(t, sid, "4x")
	if ct := p.header.Get("Content-Type"); ct != "text/html" || p.body != "ok" {
		t.Errorf("POST: %q %q", ct, p.body)
	}
	g := e.get(t, sid)
	if ct := g.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" || g.body != "4x" {
		t.Errorf("GET: %q %q", ct, g.body)
	}
}

// A POST over MaxPayload gets 413; the session survives.
func TestPostTooLarge(t *testing.T) {
	e := newEnv(t, &Options{MaxPayload: 100, PingInterval: 20 * time.Second})
	sid := e.handshake(t)
	if r := e.post(t, sid, "4"+strings.Repeat("a", 200)); r.status != 413 {
		t.Fatalf("status %d", r.status)
	}
	if r := e.post(t, sid, "4small"); r.status != 200 {
		t.Fatalf("later POST: %d", r.status)
	}
	if r := e.get(t, sid); r.body != "4small" {
		t.Errorf("GET %q", r.body)
	}
}

// A WebSocket message over MaxPayload closes the connection with 1009.
func TestWebSocketTooLarge(t *testing.T) {
	e := newEnv(t, &Options{MaxPayload: 100, PingInterval: 20 * time.Second})
	c := e.dial(t, "EIO=4&transport=websocket")
	readMsg(t, c)
	mustWrite(t, c, websocket.TextMessage, "4"+strings.Repeat("a", 200))
	err := expectClosed(t, c, 2*time.Second)
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Errorf("close error %v, want 1009", err)
	}
}

// An application/octet-stream POST is refused and closes the session.
func TestOctetStreamRejected(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	r := e.do(t, "POST", e.url("EIO=4&transport=polling&sid="+sid), "\x04\x01\x02", map[string]string{"Content-Type": "application/octet-stream"})
	if r.status != 400 {
		t.Errorf("status %d", r.status)
	}
	e.h.waitClose(t, sid)
	if r := e.get(t, sid); r.status != 400 {
		t.Errorf("GET after: %d", r.status)
	}
}

// A client ping is a protocol error in v4; "2probe" only belongs to an
// upgrade.
func TestClientPingClosesSession(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		e := newEnv(t, slowHeartbeat())
		sid := e.handshake(t)
		e.post(t, sid, "2")
		if got := e.h.waitClose(t, sid); got != ReasonParseError {
			t.Errorf("reason %q", got)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		e := newEnv(t, slowHeartbeat())
		c := e.dial(t, "EIO=4&transport=websocket")
		_, m := readMsg(t, c)
		mustWrite(t, c, websocket.TextMessage, "2")
		expectClosed(t, c, 2*time.Second)
		if got := e.h.waitClose(t, parseOpen(t, m).SID); got != ReasonParseError {
			t.Errorf("reason %q", got)
		}
	})
}

// JSONP polling: responses wrapped as ___eio[j]("..."); POST bodies
// form-encoded in d.
func TestJSONP(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	r := e.do(t, "GET", e.url("EIO=4&transport=polling&j=3"), "", nil)
	if !strings.HasPrefix(r.body, `___eio[3]("0{\"sid\":\"`) || !strings.HasSuffix(r.body, `");`) {
		t.Fatalf("handshake body %q", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/javascript; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	sid := r.body[len(`___eio[3]("0{\"sid\":\"`):][:20]
	form := url.Values{"d": {"4hello\\nworld\x1ebAQID"}}.Encode()
	p := e.do(t, "POST", e.url("EIO=4&transport=polling&j=3&sid="+sid), form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if p.status != 200 || p.body != "ok" {
		t.Fatalf("POST: %d %q", p.status, p.body)
	}
	g := e.do(t, "GET", e.url("EIO=4&transport=polling&j=3&sid="+sid), "", nil)
	if want := `___eio[3]("4hello\nworld\u001ebAQID");`; g.body != want {
		t.Errorf("GET %q, want %q", g.body, want)
	}
}

// CORS headers, preflight, origin lists and functions, credentials and
// the WebSocket origin check.
func TestCORS(t *testing.T) {
	t.Run("wildcard", func(t *testing.T) {
		e := newEnv(t, &Options{CORS: &CORS{Origins: []string{"*"}}})
		r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "http://a.example"})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("ACAO %q", got)
		}
		r = e.do(t, "GET", e.url("EIO=4&transport=nope"), "", nil)
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" || r.status != 400 {
			t.Errorf("error response: %d ACAO %q", r.status, got)
		}
		p := e.do(t, "OPTIONS", e.url("EIO=4&transport=polling"), "", map[string]string{
			"Origin": "http://a.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
		if p.status != 204 {
			t.Errorf("preflight status %d", p.status)
		}
		if got := p.header.Get("Access-Control-Allow-Methods"); got != "GET,HEAD,PUT,PATCH,POST,DELETE" {
			t.Errorf("methods %q", got)
		}
		if got := p.header.Get("Access-Control-Allow-Headers"); got != "content-type" {
			t.Errorf("allow headers %q", got)
		}
	})
	t.Run("list with credentials", func(t *testing.T) {
		e := newEnv(t, &Options{CORS: &CORS{Origins: []string{"http://good.example"}, Credentials: true, MaxAge: time.Hour}})
		r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "http://good.example"})
		if r.header.Get("Access-Control-Allow-Origin") != "http://good.example" ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Vary") != "Origin" {
			t.Errorf("headers %v", r.header)
		}
		r = e.do(t, "GET", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "http://evil.example"})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("disallowed origin got ACAO %q", got)
		}
		p := e.do(t, "OPTIONS", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "http://good.example"})
		if p.status != 204 || p.header.Get("Access-Control-Max-Age") != "3600" {
			t.Errorf("preflight %d %v", p.status, p.header)
		}
		// WebSocket handshakes from other origins are refused.
		_, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), http.Header{"Origin": {"http://evil.example"}})
		if err == nil || res == nil || res.StatusCode != 403 {
			t.Errorf("websocket from evil origin: %v", err)
		}
		c, _, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), http.Header{"Origin": {"http://good.example"}})
		if err != nil {
			t.Fatalf("websocket from good origin: %v", err)
		}
		c.Close()
	})
	t.Run("function", func(t *testing.T) {
		e := newEnv(t, &Options{CORS: &CORS{AllowOrigin: func(o string, _ *http.Request) bool {
			return strings.HasSuffix(o, ".trusted.example")
		}}})
		r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "https://x.trusted.example"})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://x.trusted.example" {
			t.Errorf("ACAO %q", got)
		}
		r = e.do(t, "GET", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "https://other.example"})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("ACAO %q", got)
		}
	})
	t.Run("none", func(t *testing.T) {
		e := newEnv(t, nil)
		r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", map[string]string{"Origin": "http://a.example"})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("ACAO %q without CORS option", got)
		}
		p := e.do(t, "OPTIONS", e.url("EIO=4&transport=polling"), "", nil)
		if p.status != 400 {
			t.Errorf("OPTIONS without CORS: %d", p.status)
		}
	})
}

// The cookie option sets the sid cookie on handshakes only.
func TestCookie(t *testing.T) {
	e := newEnv(t, &Options{Cookie: &Cookie{}, PingInterval: 20 * time.Second})
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	sid := parseOpen(t, r.body).SID
	if got, want := r.header.Get("Set-Cookie"), "io="+sid+"; Path=/; HttpOnly; SameSite=Lax"; got != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
	if g := e.post(t, sid, "4x"); g.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie on a non-handshake response")
	}
	_, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Header.Get("Set-Cookie"), "io=") {
		t.Errorf("websocket handshake Set-Cookie %q", res.Header.Get("Set-Cookie"))
	}

	e2 := newEnv(t, &Options{Cookie: &Cookie{Name: "sticky", Path: "/engine.io", ScriptVisible: true, SameSite: http.SameSiteStrictMode, Secure: true}})
	r = e2.do(t, "GET", e2.url("EIO=4&transport=polling"), "", nil)
	sid = parseOpen(t, r.body).SID
	if got, want := r.header.Get("Set-Cookie"), "sticky="+sid+"; Path=/engine.io; Secure; SameSite=Strict"; got != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
	plain := newEnv(t, nil)
	if r := plain.do(t, "GET", plain.url("EIO=4&transport=polling"), "", nil); r.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie without the option: %q", r.header.Get("Set-Cookie"))
	}
}

// AllowRequest is asked for handshakes only, on both transports.
func TestAllowRequest(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, &Options{PingInterval: 20 * time.Second, AllowRequest: func(r *http.Request) error {
		calls.Add(1)
		if r.URL.Query().Get("token") != "ok" {
			return errors.New("bad token")
		}
		return nil
	}})
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	if r.status != 403 || r.body != `{"code":4,"message":"bad token"}` {
		t.Errorf("refused handshake: %d %s", r.status, r.body)
	}
	_, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), nil)
	if err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("websocket not refused: %v", err)
	}
	r = e.do(t, "GET", e.url("EIO=4&transport=polling&token=ok"), "", nil)
	if r.status != 200 {
		t.Fatalf("allowed handshake: %d", r.status)
	}
	sid := parseOpen(t, r.body).SID
	n := calls.Load()
	e.post(t, sid, "4x")
	e.get(t, sid)
	if calls.Load() != n {
		t.Errorf("AllowRequest called for requests with a sid")
	}
}

// Polling responses above the threshold are compressed when accepted.
func TestCompression(t *testing.T) {
	big := "4" + strings.Repeat("abcdefgh", 200)
	check := func(t *testing.T, e *tenv, accept, wantEnc string) {
		t.Helper()
		sid := e.handshake(t)
		e.post(t, sid, big)
		r := e.do(t, "GET", e.url("EIO=4&transport=polling&sid="+sid), "", map[string]string{"Accept-Encoding": accept})
		if got := r.header.Get("Content-Encoding"); got != wantEnc {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want %q", accept, got, wantEnc)
		}
		var body []byte
		var err error
		switch wantEnc {
		case "gzip":
			zr, zerr := gzip.NewReader(strings.NewReader(r.body))
			if zerr != nil {
				t.Fatal(zerr)
			}
			body, err = io.ReadAll(zr)
		case "deflate":
			zr, zerr := zlib.NewReader(strings.NewReader(r.body))
			if zerr != nil {
				t.Fatal(zerr)
			}
			body, err = io.ReadAll(zr)
		default:
			body = []byte(r.body)
		}
		if err != nil || string(body) != big {
			t.Fatalf("body after decoding (%v): %d bytes", err, len(body))
		}
	}
	e := newEnv(t, slowHeartbeat())
	check(t, e, "gzip, deflate, br", "gzip")
	check(t, e, "deflate", "deflate")
	check(t, e, "gzip;q=0.5, deflate", "deflate")
	check(t, e, "br", "")
	check(t, e, "", "")
	// Small bodies are not compressed.
	sid := e.handshake(t)
	e.post(t, sid, "4small")
	if r := e.do(t, "GET", e.url("EIO=4&transport=polling&sid="+sid), "", map[string]string{"Accept-Encoding": "gzip"}); r.header.Get("Content-Encoding") != "" {
		t.Errorf("small body compressed")
	}
	off := newEnv(t, &Options{CompressionThreshold: -1, PingInterval: 20 * time.Second})
	check(t, off, "gzip", "")
}

// Session.Close over polling: the close packet goes to the pending GET or
// to the next one ("6\x1e1" when nothing else was queued).
func TestServerClosePolling(t *testing.T) {
	e := newEnv(t, slowHeartbeat())

	sid := e.handshake(t)
	e.srv.Session(sid).Close(ReasonForcedClose)
	if got := e.h.waitClose(t, sid); got != ReasonForcedClose {
		t.Errorf("reason %q", got)
	}
	if r := e.get(t, sid); r.status != 200 || r.body != "6\x1e1" {
		t.Errorf("next GET: %d %q", r.status, r.body)
	}
	if r := e.get(t, sid); r.status != 400 {
		t.Errorf("GET after the close packet: %d", r.status)
	}

	sid = e.handshake(t)
	s := e.srv.Session(sid)
	s.Send([]byte("last"), false)
	s.Close(ReasonForcedClose)
	if s.Send([]byte("late"), false) {
		t.Error("Send after Close returned true")
	}
	// The queued message first, the close packet in the next response
	// (the official client would act on a close in the same payload
	// before the messages).
	if r := e.get(t, sid); r.body != "4last" {
		t.Errorf("next GET: %q", r.body)
	}
	if r := e.get(t, sid); r.body != "1" {
		t.Errorf("GET after the last messages: %q", r.body)
	}
	if r := e.get(t, sid); r.status != 400 {
		t.Errorf("GET after the close packet: %d", r.status)
	}

	sid = e.handshake(t)
	s = e.srv.Session(sid)
	pending := make(chan resp, 1)
	go func() { pending <- e.get(t, sid) }()
	testutil.Eventually(t, 5*time.Second, "pending GET", s.Writable)
	s.Close(ReasonForcedClose)
	if r := <-pending; r.body != "1" {
		t.Errorf("pending GET: %q", r.body)
	}
}

// Session.Close over WebSocket: queued packets, the close packet, then a
// close frame.
func TestServerCloseWebSocket(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	s := e.srv.Session(parseOpen(t, m).SID)
	s.Send([]byte("bye"), false)
	s.Close(ReasonForcedClose)
	s.Close(ReasonTransportError) // idempotent
	if _, m := readMsg(t, c); m != "4bye" {
		t.Errorf("got %q", m)
	}
	if _, m := readMsg(t, c); m != "1" {
		t.Errorf("got %q, want close packet", m)
	}
	if err := expectClosed(t, c, time.Second); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("close: %v", err)
	}
	if got := e.h.waitClose(t, s.ID()); got != ReasonForcedClose {
		t.Errorf("reason %q", got)
	}
	if e.srv.Session(s.ID()) != nil || e.srv.ClientsCount() != 0 {
		t.Errorf("session still registered")
	}
}

// Server.Close closes every session with ReasonServerClosing, refuses new
// handshakes and leaves no goroutine behind.
func TestServerClose(t *testing.T) {
	checkGoroutines(t)
	e := newEnv(t, slowHeartbeat())
	var conns []*websocket.Conn
	for range 5 {
		c := e.dial(t, "EIO=4&transport=websocket")
		readMsg(t, c)
		conns = append(conns, c)
	}
	var sids []string
	for range 5 {
		sids = append(sids, e.handshake(t))
	}
	pending := make(chan resp, 1)
	go func() { pending <- e.get(t, sids[0]) }()
	testutil.Eventually(t, 5*time.Second, "pending GET", e.srv.Session(sids[0]).Writable)
	up := e.handshake(t)
	upgrade(t, e, up)

	if n := e.srv.ClientsCount(); n != 11 {
		t.Fatalf("ClientsCount %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	reasons := map[Reason]int{}
	for range 11 {
		ev := <-e.h.closes
		reasons[ev.reason]++
	}
	if reasons[ReasonServerClosing] != 11 {
		t.Errorf("reasons %v", reasons)
	}
	if r := <-pending; r.body != "1" {
		t.Errorf("pending GET %q", r.body)
	}
	for _, c := range conns {
		expectClosed(t, c, 2*time.Second)
	}
	if e.srv.ClientsCount() != 0 {
		t.Errorf("ClientsCount %d", e.srv.ClientsCount())
	}
	if r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil); r.status != 400 {
		t.Errorf("handshake after Close: %d", r.status)
	}
	if _, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), nil); err == nil || res.StatusCode != 400 {
		t.Errorf("websocket after Close: %v", err)
	}
}

// A WebSocket client that never reads is closed as a slow consumer while
// other sessions are unaffected; the queue stays bounded.
func TestSlowConsumer(t *testing.T) {
	checkGoroutines(t)
	const limit = 64 << 10
	e := newEnv(t, &Options{MaxQueuedBytes: limit, PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second})
	slow := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, slow)
	s := e.srv.Session(parseOpen(t, m).SID)
	fast := e.dial(t, "EIO=4&transport=websocket")
	readMsg(t, fast)

	f := NewFrame(bytes.Repeat([]byte("x"), 1024), false)
	sent := 0
	for s.SendFrame(f) {
		sent++
		s.mu.Lock()
		q := s.queuedBytes
		s.mu.Unlock()
		if q > limit {
			t.Fatalf("queue %d bytes over the limit", q)
		}
		if sent > 1<<20 {
			t.Fatal("Send never failed")
		}
	}
	if got := e.h.waitClose(t, s.ID()); got != ReasonSlowConsumer {
		t.Errorf("reason %q", got)
	}
	if s.Send([]byte("x"), false) {
		t.Error("Send after slow-consumer close returned true")
	}
	mustWrite(t, fast, websocket.TextMessage, "4alive")
	if _, m := readSkipPing(t, fast); m != "4alive" {
		t.Errorf("other session: %q", m)
	}
}

// A polling client that never polls is closed as a slow consumer too.
func TestSlowConsumerPolling(t *testing.T) {
	e := newEnv(t, &Options{MaxQueuedBytes: 4096, PingInterval: 20 * time.Second})
	sid := e.handshake(t)
	s := e.srv.Session(sid)
	for i := 0; s.Send(bytes.Repeat([]byte("y"), 100), false); i++ {
		if i > 100 {
			t.Fatal("Send never failed")
		}
	}
	if got := e.h.waitClose(t, sid); got != ReasonSlowConsumer {
		t.Errorf("reason %q", got)
	}
}

// Sessions closed in every way leave no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	checkGoroutines(t)
	e := newEnv(t, fixtureOptions())
	for range 3 {
		// WebSocket: client close packet, server close, ping timeout,
		// parse error, client drops the TCP connection.
		for _, how := range []string{"1", "server", "timeout", "abc", "drop"} {
			c := e.dial(t, "EIO=4&transport=websocket")
			_, m := readMsg(t, c)
			sid := parseOpen(t, m).SID
			switch how {
			case "server":
				e.srv.Session(sid).Close(ReasonForcedClose)
			case "timeout":
			case "drop":
				c.NetConn().Close()
			default:
				mustWrite(t, c, websocket.TextMessage, how)
			}
			e.h.waitClose(t, sid)
			c.Close()
		}
		// Polling, then an upgrade that times out on the server side.
		sid := e.handshake(t)
		e.post(t, sid, "1")
		e.h.waitClose(t, sid)
		sid = e.handshake(t)
		upgrade(t, e, sid).Close()
		e.h.waitClose(t, sid)
	}
	testutil.Eventually(t, 5*time.Second, "no sessions", func() bool { return e.srv.ClientsCount() == 0 })
}

// An upgrade that is never completed is dropped after UpgradeTimeout; the
// session continues on polling.
func TestUpgradeTimeout(t *testing.T) {
	e := newEnv(t, &Options{UpgradeTimeout: 200 * time.Millisecond, PingInterval: 20 * time.Second})
	sid := e.handshake(t)
	c := e.dial(t, "EIO=4&transport=websocket&sid="+sid)
	mustWrite(t, c, websocket.TextMessage, "2probe")
	if _, m := readMsg(t, c); m != "3probe" {
		t.Fatalf("probe %q", m)
	}
	expectClosed(t, c, 2*time.Second)
	e.post(t, sid, "4still polling")
	if r := e.get(t, sid); r.body != "4still polling" {
		t.Errorf("GET %q", r.body)
	}
	if tr := e.srv.Session(sid).Transport(); tr != "polling" {
		t.Errorf("transport %q", tr)
	}
}

// InitialPacket follows the open packet.
func TestInitialPacket(t *testing.T) {
	e := newEnv(t, &Options{InitialPacket: []byte("welcome"), PingInterval: 20 * time.Second})
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	parts := strings.Split(r.body, "\x1e")
	if len(parts) != 2 || parts[1] != "4welcome" {
		t.Errorf("handshake body %q", r.body)
	}
	c := e.dial(t, "EIO=4&transport=websocket")
	readMsg(t, c)
	if _, m := readMsg(t, c); m != "4welcome" {
		t.Errorf("second frame %q", m)
	}
}

// DisableUpgrades and Transports restrict what clients may use.
func TestTransportOptions(t *testing.T) {
	e := newEnv(t, &Options{DisableUpgrades: true, PingInterval: 20 * time.Second})
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	o := parseOpen(t, r.body)
	if len(o.Upgrades) != 0 {
		t.Errorf("upgrades %v", o.Upgrades)
	}
	if _, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket&sid="+o.SID), nil); err == nil || res.StatusCode != 400 {
		t.Errorf("upgrade not refused: %v", err)
	}

	ws := newEnv(t, &Options{Transports: []string{"websocket"}})
	if r := ws.do(t, "GET", ws.url("EIO=4&transport=polling"), "", nil); r.status != 400 || !strings.Contains(r.body, `"code":0`) {
		t.Errorf("polling on a websocket-only server: %d %s", r.status, r.body)
	}
	ws.dial(t, "EIO=4&transport=websocket")

	pl := newEnv(t, &Options{Transports: []string{"polling"}})
	r = pl.do(t, "GET", pl.url("EIO=4&transport=polling"), "", nil)
	if o := parseOpen(t, r.body); len(o.Upgrades) != 0 {
		t.Errorf("polling-only server offers %v", o.Upgrades)
	}
}

// Options.Transports naming a transport the engine does not implement, or
// none, makes NewServer panic with a message naming the option; a valid
// list may be in any order and repeat a name. A request for a transport
// the engine does not serve over HTTP/1.1 (WebTransport included) is
// refused whatever the options say.
func TestTransportsValidated(t *testing.T) {
	for _, ts := range [][]string{{"WebTransport"}, {"polling", "quic"}, {"Polling"}, {""}, {}} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "Options.Transports") {
					t.Errorf("Transports %q: panic %q, want one naming Options.Transports", ts, msg)
				}
			}()
			NewServer(newEcho(), &Options{Transports: ts})
		}()
	}
	e := newEnv(t, &Options{Transports: []string{"websocket", "polling", "websocket", "webtransport"}, PingInterval: 20 * time.Second})
	if r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil); r.status != 200 {
		t.Errorf("polling: %d %s", r.status, r.body)
	}
	e.dial(t, "EIO=4&transport=websocket")
	for _, tr := range []string{"webtransport", "flashsocket", ""} {
		r := e.do(t, "GET", e.url("EIO=4&transport="+tr), "", nil)
		if r.status != 400 || r.body != `{"code":0,"message":"Transport unknown"}` {
			t.Errorf("transport %q: %d %s", tr, r.status, r.body)
		}
	}
}

// WebSocket control frames: a client ping gets a pong through the writer;
// a client close frame is answered and ends the session.
func TestWebSocketControlFrames(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	sid := parseOpen(t, m).SID
	pong := make(chan string, 1)
	c.SetPongHandler(func(data string) error { pong <- data; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, c, websocket.TextMessage, "4after")
	if _, m := readMsg(t, c); m != "4after" {
		t.Errorf("got %q", m)
	}
	select {
	case p := <-pong:
		if p != "hi" {
			t.Errorf("pong %q", p)
		}
	default:
		t.Error("no pong before the next message")
	}
	if err := c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := expectClosed(t, c, time.Second); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("close reply %v", err)
	}
	if got := e.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Errorf("reason %q", got)
	}
}

// Writable tells whether a packet would go out at once.
func TestWritable(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	s := e.srv.Session(sid)
	if s.Writable() {
		t.Error("polling session without a pending GET is writable")
	}
	pending := make(chan resp, 1)
	go func() { pending <- e.get(t, sid) }()
	testutil.Eventually(t, 5*time.Second, "writable", s.Writable)
	s.Send([]byte("x"), false)
	<-pending

	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	ws := e.srv.Session(parseOpen(t, m).SID)
	testutil.Eventually(t, 5*time.Second, "websocket writable", ws.Writable)
	s.Close(ReasonForcedClose)
	if s.Writable() {
		t.Error("closed session is writable")
	}
}

// A long-poll response holds at most MaxPayload bytes (at least one packet).
func TestPollingResponseLimit(t *testing.T) {
	e := newEnv(t, &Options{MaxPayload: 100, PingInterval: 20 * time.Second})
	sid := e.handshake(t)
	s := e.srv.Session(sid)
	for range 5 {
		s.Send(bytes.Repeat([]byte("z"), 40), false)
	}
	s.Send(bytes.Repeat([]byte("w"), 300), false)
	var got []string
	for len(got) < 6 {
		r := e.get(t, sid)
		if len(r.body) > 100 && strings.Contains(r.body, "\x1e") {
			t.Errorf("response of %d bytes with several packets", len(r.body))
		}
		got = append(got, strings.Split(r.body, "\x1e")...)
	}
	if len(got) != 6 || got[5] != "4"+strings.Repeat("w", 300) {
		t.Errorf("packets %d", len(got))
	}
}

// The handshake request of a session.
func TestSessionRequest(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	r := e.do(t, "GET", e.url("EIO=4&transport=polling&foo=bar"), "", map[string]string{"X-Test": "1"})
	s := e.srv.Session(parseOpen(t, r.body).SID)
	req := s.Request()
	if req.URL.Query().Get("foo") != "bar" || req.Header.Get("X-Test") != "1" || req.RemoteAddr == "" {
		t.Errorf("request %v", req)
	}
	if req.Context().Err() != nil {
		t.Error("request context canceled")
	}
}

// An idle WebSocket session costs one goroutine (its reader; the writer
// exits when the queue is empty); an idle polling session costs none.
func TestIdleCost(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	e.handshake(t) // warm up the HTTP client and server
	e.client.Transport.(*http.Transport).CloseIdleConnections()
	before := runtime.NumGoroutine()
	const n = 50
	for range n {
		c := e.dial(t, "EIO=4&transport=websocket")
		readMsg(t, c)
	}
	testutil.Eventually(t, 5*time.Second, "one goroutine per WebSocket session", func() bool {
		return runtime.NumGoroutine()-before <= n
	})
	mid := runtime.NumGoroutine()
	for range n {
		e.handshake(t)
	}
	e.client.Transport.(*http.Transport).CloseIdleConnections()
	testutil.Eventually(t, 5*time.Second, "no goroutine per polling session", func() bool {
		return runtime.NumGoroutine() <= mid
	})
}
