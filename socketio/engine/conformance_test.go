package engine

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/testutil"
)

// E1: a polling handshake returns the open packet with upgrades
// ["websocket"] and the configured values.
func TestE1PollingHandshake(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	o := parseOpen(t, r.body)
	if len(o.SID) != 20 || strings.Trim(o.SID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("sid %q is not 20 base64url characters", o.SID)
	}
	if len(o.Upgrades) != 1 || o.Upgrades[0] != "websocket" {
		t.Errorf("upgrades %v", o.Upgrades)
	}
	if o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 1000000 {
		t.Errorf("open values %+v", o)
	}
	if e.srv.ClientsCount() != 1 || e.srv.Session(o.SID) == nil {
		t.Errorf("ClientsCount %d", e.srv.ClientsCount())
	}
}

// E2: a direct WebSocket handshake gets the open packet with upgrades [].
func TestE2WebSocketHandshake(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	c := e.dial(t, "EIO=4&transport=websocket")
	mt, msg := readMsg(t, c)
	if mt != websocket.TextMessage {
		t.Fatalf("open packet in a frame of type %d", mt)
	}
	o := parseOpen(t, msg)
	if o.Upgrades == nil || len(o.Upgrades) != 0 {
		t.Errorf("upgrades %v, want []", o.Upgrades)
	}
	if s := e.srv.Session(o.SID); s == nil || s.Transport() != "websocket" {
		t.Errorf("session %v", s)
	}
}

// E3: EIO missing or not 4 is refused on both transports.
func TestE3InvalidEIO(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"} {
		r := e.do(t, "GET", e.url(q), "", nil)
		if r.status != 400 || r.body != `{"code":5,"message":"Unsupported protocol version"}` {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket"} {
		_, res, err := websocket.DefaultDialer.Dial(e.wsURL(q), nil)
		if err == nil || res == nil || res.StatusCode != 400 {
			t.Errorf("%s: websocket not refused (%v)", q, err)
		}
	}
}

// E4: transport missing or unknown is refused on both transports.
func TestE4InvalidTransport(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		r := e.do(t, "GET", e.url(q), "", nil)
		if r.status != 400 || r.body != `{"code":0,"message":"Transport unknown"}` {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
		_, res, err := websocket.DefaultDialer.Dial(e.wsURL(q), nil)
		if err == nil || res == nil || res.StatusCode != 400 {
			t.Errorf("%s: websocket not refused (%v)", q, err)
		}
	}
}

// E5: a handshake must be a GET.
func TestE5HandshakeMethod(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	for _, m := range []string{"POST", "PUT"} {
		r := e.do(t, m, e.url("EIO=4&transport=polling"), "", nil)
		if r.status != 400 || r.body != `{"code":2,"message":"Bad handshake method"}` {
			t.Errorf("%s: %d %s", m, r.status, r.body)
		}
	}
}

// E6: a POST with a valid payload answers 200 "ok".
func TestE6PostOK(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	sid := e.handshake(t)
	r := e.post(t, sid, "4hello")
	if r.status != 200 || r.body != "ok" {
		t.Fatalf("%d %q", r.status, r.body)
	}
}

// E7, E8: text and binary packets in one POST come back in one GET, in
// order, joined by U+001E, binary as b+base64.
func TestE7E8PollingPayload(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	sid := e.handshake(t)
	for _, body := range []string{"4hello\x1e4world\x1e4!", "4hello\x1ebAQIDBA=="} {
		if r := e.post(t, sid, body); r.status != 200 || r.body != "ok" {
			t.Fatalf("post: %d %q", r.status, r.body)
		}
		if r := e.get(t, sid); r.body != body {
			t.Fatalf("GET body %q, want %q", r.body, body)
		}
	}
}

// E9: an undecodable payload closes the session.
func TestE9InvalidPayloadPolling(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	sid := e.handshake(t)
	r := e.post(t, sid, "abc")
	if r.status != 400 {
		t.Errorf("POST abc: %d", r.status)
	}
	if got := e.h.waitClose(t, sid); got != ReasonParseError {
		t.Errorf("reason %q", got)
	}
	if r := e.get(t, sid); r.status != 400 || r.body != `{"code":1,"message":"Session ID unknown"}` {
		t.Errorf("GET after close: %d %s", r.status, r.body)
	}
}

// E10: a second GET while one is pending: the pending one gets "1", the
// second 400, and the session is closed.
func TestE10DuplicateGet(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	first := make(chan resp, 1)
	go func() { first <- e.get(t, sid) }()
	testutil.Eventually(t, 5*time.Second, "pending GET", func() bool {
		s := e.srv.Session(sid)
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.poll != nil
	})
	second := e.get(t, sid)
	if second.status != 400 {
		t.Errorf("second GET: %d", second.status)
	}
	if r := <-first; r.status != 200 || r.body != "1" {
		t.Errorf("pending GET: %d %q", r.status, r.body)
	}
	e.h.waitClose(t, sid)
	if r := e.get(t, sid); r.status != 400 {
		t.Errorf("later GET: %d", r.status)
	}
}

// E11: a pending GET aborted by the client closes the session.
func TestE11AbortedGet(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url("EIO=4&transport=polling&sid="+sid), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := e.client.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	testutil.Eventually(t, 5*time.Second, "pending GET", func() bool {
		s := e.srv.Session(sid)
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.poll != nil
	})
	cancel()
	<-done
	if got := e.h.waitClose(t, sid); got != ReasonTransportError {
		t.Errorf("reason %q", got)
	}
	if r := e.get(t, sid); r.status != 400 {
		t.Errorf("later GET: %d", r.status)
	}
}

// E12: WebSocket text and binary messages are echoed unchanged; binary
// frames carry no type byte.
func TestE12WebSocketEcho(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	c := e.dial(t, "EIO=4&transport=websocket")
	readMsg(t, c)
	mustWrite(t, c, websocket.TextMessage, "4hello")
	if mt, m := readSkipPing(t, c); mt != websocket.TextMessage || m != "4hello" {
		t.Errorf("got %d %q", mt, m)
	}
	mustWrite(t, c, websocket.BinaryMessage, "\x01\x02\x03\x04")
	if mt, m := readSkipPing(t, c); mt != websocket.BinaryMessage || m != "\x01\x02\x03\x04" {
		t.Errorf("got %d %q", mt, m)
	}
}

// E13: an invalid text frame closes the WebSocket.
func TestE13WebSocketInvalidPacket(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	o := parseOpen(t, func() string { _, m := readMsg(t, c); return m }())
	mustWrite(t, c, websocket.TextMessage, "abc")
	expectClosed(t, c, 2*time.Second)
	if got := e.h.waitClose(t, o.SID); got != ReasonParseError {
		t.Errorf("reason %q", got)
	}
}

// E14: heartbeat: three ping/pong cycles on each transport.
func TestE14Heartbeat(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		e := newEnv(t, fixtureOptions())
		sid := e.handshake(t)
		for range 3 {
			if r := e.get(t, sid); r.body != "2" {
				t.Fatalf("GET: %q, want ping", r.body)
			}
			if r := e.post(t, sid, "3"); r.body != "ok" {
				t.Fatalf("POST pong: %d %q", r.status, r.body)
			}
		}
	})
	t.Run("websocket", func(t *testing.T) {
		e := newEnv(t, fixtureOptions())
		c := e.dial(t, "EIO=4&transport=websocket")
		readMsg(t, c)
		start := time.Now()
		for range 3 {
			if _, m := readMsg(t, c); m != "2" {
				t.Fatalf("got %q, want ping", m)
			}
			mustWrite(t, c, websocket.TextMessage, "3")
		}
		if d := time.Since(start); d < 800*time.Millisecond {
			t.Errorf("three pings in %v; want one per 300ms", d)
		}
	})
}

// E15: no pong within pingTimeout closes the session.
func TestE15PingTimeout(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		e := newEnv(t, fixtureOptions())
		sid := e.handshake(t)
		time.Sleep(500 * time.Millisecond) // the suite's own timing
		if got := e.h.waitClose(t, sid); got != ReasonPingTimeout {
			t.Errorf("reason %q", got)
		}
		if r := e.get(t, sid); r.status != 400 {
			t.Errorf("GET: %d %q", r.status, r.body)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		e := newEnv(t, fixtureOptions())
		c := e.dial(t, "EIO=4&transport=websocket")
		_, m := readMsg(t, c)
		sid := parseOpen(t, m).SID
		expectClosed(t, c, 2*time.Second)
		if got := e.h.waitClose(t, sid); got != ReasonPingTimeout {
			t.Errorf("reason %q", got)
		}
	})
}

// E16: a client close packet ends the session; a pending GET gets a noop.
func TestE16ClientClose(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		e := newEnv(t, slowHeartbeat())
		sid := e.handshake(t)
		pending := make(chan resp, 1)
		go func() { pending <- e.get(t, sid) }()
		testutil.Eventually(t, 5*time.Second, "pending GET", func() bool {
			s := e.srv.Session(sid)
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.poll != nil
		})
		if r := e.post(t, sid, "1"); r.status != 200 {
			t.Errorf("POST 1: %d", r.status)
		}
		if r := <-pending; r.status != 200 || r.body != "6" {
			t.Errorf("pending GET: %d %q", r.status, r.body)
		}
		if got := e.h.waitClose(t, sid); got != ReasonTransportClose {
			t.Errorf("reason %q", got)
		}
		if r := e.get(t, sid); r.status != 400 {
			t.Errorf("later GET: %d", r.status)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		e := newEnv(t, slowHeartbeat())
		c := e.dial(t, "EIO=4&transport=websocket")
		_, m := readMsg(t, c)
		sid := parseOpen(t, m).SID
		mustWrite(t, c, websocket.TextMessage, "1")
		expectClosed(t, c, time.Second)
		if got := e.h.waitClose(t, sid); got != ReasonTransportClose {
			t.Errorf("reason %q", got)
		}
	})
}

// upgrade performs the probe and upgrade of a polling session.
func upgrade(t *testing.T, e *tenv, sid string) *websocket.Conn {
	t.Helper()
	c := e.dial(t, "EIO=4&transport=websocket&sid="+sid)
	mustWrite(t, c, websocket.TextMessage, "2probe")
	if _, m := readSkipPing(t, c); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	mustWrite(t, c, websocket.TextMessage, "5")
	testutil.Eventually(t, 5*time.Second, "upgrade", func() bool { return e.srv.Session(sid).Transport() == "websocket" })
	return c
}

// E17: upgrade from polling: no open packet on the WebSocket, probe
// answered, a GET after the probe gets a noop promptly, then messages flow
// on the WebSocket.
func TestE17Upgrade(t *testing.T) {
	e := newEnv(t, fixtureOptions())
	sid := e.handshake(t)
	c := e.dial(t, "EIO=4&transport=websocket&sid="+sid)
	mustWrite(t, c, websocket.TextMessage, "2probe")
	if _, m := readMsg(t, c); m != "3probe" {
		t.Fatalf("first frame %q, want 3probe (no open packet)", m)
	}
	start := time.Now()
	if r := e.get(t, sid); r.status != 200 || r.body != "6" {
		t.Fatalf("GET during upgrade: %d %q", r.status, r.body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("noop took %v", d)
	}
	mustWrite(t, c, websocket.TextMessage, "5")
	mustWrite(t, c, websocket.TextMessage, "4hello")
	if _, m := readSkipPing(t, c); m != "4hello" {
		t.Errorf("echo %q", m)
	}
	if tr := e.srv.Session(sid).Transport(); tr != "websocket" {
		t.Errorf("transport %q", tr)
	}
}

// E18: polling with an upgraded sid is refused.
func TestE18PollingAfterUpgrade(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	upgrade(t, e, sid)
	if r := e.get(t, sid); r.status != 400 || r.body != `{"code":3,"message":"Bad request"}` {
		t.Errorf("GET: %d %s", r.status, r.body)
	}
	if r := e.post(t, sid, "4x"); r.status != 400 {
		t.Errorf("POST: %d", r.status)
	}
}

// E19: a second WebSocket with the sid of a session that is upgrading or
// has upgraded completes its handshake (101: the suite's ws client raises
// an uncaught error on any other answer) and is then closed by the server
// with a close frame; the first WebSocket keeps working, and the session
// is not affected.
func TestE19SecondWebSocketAfterUpgrade(t *testing.T) {
	for _, state := range []string{"upgrading", "upgraded"} {
		t.Run(state, func(t *testing.T) {
			e := newEnv(t, slowHeartbeat())
			sid := e.handshake(t)
			var c *websocket.Conn
			if state == "upgraded" {
				c = upgrade(t, e, sid)
			} else {
				c = e.dial(t, "EIO=4&transport=websocket&sid="+sid)
				mustWrite(t, c, websocket.TextMessage, "2probe")
				if _, m := readMsg(t, c); m != "3probe" {
					t.Fatalf("probe answer %q", m)
				}
			}
			c2, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
			if err != nil {
				status := 0
				if res != nil {
					status = res.StatusCode
				}
				t.Fatalf("second WebSocket: %v (status %d), want 101 then a close", err, status)
			}
			defer c2.Close()
			if res.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("second WebSocket: status %d", res.StatusCode)
			}
			// The server closes it: a close frame (empty, as the
			// reference's websocket.close()), then the end of the stream.
			_ = c2.SetReadDeadline(time.Now().Add(3 * time.Second))
			if mt, m, err := c2.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNoStatusReceived) {
				t.Fatalf("second WebSocket: got %d %q, %v; want an empty close frame", mt, m, err)
			}
			if state == "upgrading" {
				mustWrite(t, c, websocket.TextMessage, "5")
			}
			mustWrite(t, c, websocket.TextMessage, "4hello")
			if _, m := readSkipPing(t, c); m != "4hello" {
				t.Errorf("first WebSocket echo %q", m)
			}
			s := e.srv.Session(sid)
			if s == nil || s.Transport() != TransportWebSocket {
				t.Fatalf("session after the second WebSocket: %v", s)
			}
			select {
			case ev := <-e.h.closes:
				t.Errorf("session %s closed: %s", ev.s.ID(), ev.reason)
			default:
			}
		})
	}
}

// Packets queued during the switch to WebSocket arrive in order, none lost.
func TestUpgradeKeepsOrder(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	s := e.srv.Session(sid)
	pending := make(chan resp, 1)
	go func() { pending <- e.get(t, sid) }()
	testutil.Eventually(t, 5*time.Second, "pending GET", func() bool { return s.Writable() })

	c := e.dial(t, "EIO=4&transport=websocket&sid="+sid)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the server keeps sending during the whole upgrade
		defer wg.Done()
		for i := range 300 {
			s.Send([]byte(strings.Repeat("x", i%7)+"|"+itoa(i)), false)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	mustWrite(t, c, websocket.TextMessage, "2probe")
	if _, m := readMsg(t, c); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	var got []string
	r := <-pending
	if r.body != "6" {
		got = append(got, strings.Split(r.body, "\x1e")...)
		for { // the pending GET may have taken packets before the probe
			r = e.get(t, sid)
			if r.body == "6" {
				break
			}
			got = append(got, strings.Split(r.body, "\x1e")...)
		}
	}
	mustWrite(t, c, websocket.TextMessage, "5")
	wg.Wait()
	for len(got) < 300 {
		_, m := readSkipPing(t, c)
		got = append(got, m)
	}
	for i, m := range got {
		if want := "4" + strings.Repeat("x", i%7) + "|" + itoa(i); m != want {
			t.Fatalf("packet %d = %q, want %q", i, m, want)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// E16 when the close packet overtakes the GET sent with it: that GET still
// gets the noop, later ones 400.
func TestE16CloseBeforeGet(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	if r := e.post(t, sid, "1"); r.status != 200 {
		t.Fatalf("POST 1: %d", r.status)
	}
	if got := e.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Errorf("reason %q", got)
	}
	if r := e.get(t, sid); r.status != 200 || r.body != "6" {
		t.Errorf("GET: %d %q", r.status, r.body)
	}
	if r := e.get(t, sid); r.status != 400 {
		t.Errorf("later GET: %d", r.status)
	}
}

// E18 when the GET overtakes the probe and upgrade packets sent before it:
// the upgrade completes before the noop is due and the GET gets 400.
func TestE18GetDuringUpgrade(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	c := e.dial(t, "EIO=4&transport=websocket&sid="+sid)
	pending := make(chan resp, 1)
	go func() { pending <- e.get(t, sid) }()
	testutil.Eventually(t, 5*time.Second, "pending GET", e.srv.Session(sid).Writable)
	mustWrite(t, c, websocket.TextMessage, "2probe")
	mustWrite(t, c, websocket.TextMessage, "5")
	if r := <-pending; r.status != 400 {
		t.Errorf("GET: %d %q", r.status, r.body)
	}
	if _, m := readMsg(t, c); m != "3probe" {
		t.Errorf("probe answer %q", m)
	}
	mustWrite(t, c, websocket.TextMessage, "4hello")
	if _, m := readSkipPing(t, c); m != "4hello" {
		t.Errorf("echo %q", m)
	}
}
