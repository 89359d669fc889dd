package engine

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func eio3Options() *Options {
	o := slowHeartbeat()
	o.AllowEIO3 = true
	return o
}

// handshakeV3 opens a v3 polling session (with extra query) and returns
// its sid and the open packet's JSON keys.
func (e *tenv) handshakeV3(t *testing.T, extra string) (string, map[string]any) {
	t.Helper()
	r := e.do(t, "GET", e.url("EIO=3&transport=polling"+extra), "", nil)
	if r.status != 200 {
		t.Fatalf("v3 handshake: %d %s", r.status, r.body)
	}
	n, pkt, ok := strings.Cut(r.body, ":")
	if !ok || !strings.HasPrefix(pkt, "0{") {
		t.Fatalf("v3 handshake body %q", r.body)
	}
	if n != "" && len(pkt) < 2 {
		t.Fatalf("v3 handshake body %q", r.body)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(pkt[1:]), &keys); err != nil {
		t.Fatalf("open packet %q: %v", pkt, err)
	}
	return keys["sid"].(string), keys
}

func (e *tenv) getV3(t *testing.T, sid string) resp {
	t.Helper()
	return e.do(t, "GET", e.url("EIO=3&transport=polling&sid="+sid), "", nil)
}

func (e *tenv) postV3(t *testing.T, sid, body string) resp {
	t.Helper()
	return e.do(t, "POST", e.url("EIO=3&transport=polling&sid="+sid), body, map[string]string{"Content-Type": "text/plain;charset=UTF-8"})
}

func TestEIO3RefusedByDefault(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	r := e.do(t, "GET", e.url("EIO=3&transport=polling"), "", nil)
	if r.status != 400 || !strings.Contains(r.body, `"code":5`) {
		t.Fatalf("EIO=3 without AllowEIO3: %d %s", r.status, r.body)
	}
	e2 := newEnv(t, eio3Options())
	if r := e2.do(t, "GET", e2.url("EIO=2&transport=polling"), "", nil); r.status != 400 {
		t.Fatalf("EIO=2 with AllowEIO3: %d %s", r.status, r.body)
	}
}

func TestEIO3PollingFraming(t *testing.T) {
	e := newEnv(t, eio3Options())
	sid, keys := e.handshakeV3(t, "&b64=1")
	if _, ok := keys["maxPayload"]; ok {
		t.Errorf("v3 open packet has maxPayload: %v", keys)
	}
	for _, k := range []string{"sid", "upgrades", "pingInterval", "pingTimeout"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("v3 open packet lacks %s: %v", k, keys)
		}
	}
	if s := e.srv.Session(sid); s == nil || s.Protocol() != 3 {
		t.Fatalf("session protocol not 3")
	}
	// Two messages, one with characters outside the BMP, and a binary
	// one as b4+base64, echoed back in one v3 payload.
	if r := e.postV3(t, sid, "6:4h€😀!6:b4AQID"); r.status != 200 || r.body != "ok" {
		t.Fatalf("POST: %d %q", r.status, r.body)
	}
	got := ""
	for !strings.Contains(got, "b4AQID") {
		r := e.getV3(t, sid)
		if r.status != 200 {
			t.Fatalf("GET: %d %q", r.status, r.body)
		}
		got += r.body
	}
	if got != "6:4h€😀!6:b4AQID" {
		t.Fatalf("echo = %q", got)
	}
	// A malformed payload ends the session.
	if r := e.postV3(t, sid, "9:4abc"); r.status != 400 {
		t.Fatalf("malformed POST: %d %q", r.status, r.body)
	}
	if reason := e.h.waitClose(t, sid); reason != ReasonParseError {
		t.Fatalf("reason %q", reason)
	}
}

func TestEIO3BinaryPayload(t *testing.T) {
	e := newEnv(t, eio3Options())
	sid, _ := e.handshakeV3(t, "") // no b64: binary payloads
	body := string([]byte{1, 4, 0xff, 4, 0, 1, 2, 0, 2, 0xff, '4', 'x'})
	r := e.do(t, "POST", e.url("EIO=3&transport=polling&sid="+sid), body, map[string]string{"Content-Type": "application/octet-stream"})
	if r.status != 200 {
		t.Fatalf("binary POST: %d %q", r.status, r.body)
	}
	got := ""
	for !strings.HasSuffix(got, "4x") {
		r := e.getV3(t, sid)
		if r.status != 200 {
			t.Fatalf("GET: %d %q", r.status, r.body)
		}
		if strings.Contains(r.body, "\x04\x00\x01\x02") && r.header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("binary payload with Content-Type %q", r.header.Get("Content-Type"))
		}
		got += r.body
	}
	if want := body; got != want {
		t.Fatalf("echo = %q, want %q", got, want)
	}
}

func TestEIO3HeartbeatAnswered(t *testing.T) {
	o := eio3Options()
	o.PingInterval, o.PingTimeout = 500*time.Millisecond, 300*time.Millisecond
	e := newEnv(t, o)
	sid, _ := e.handshakeV3(t, "&b64=1")
	// The server never pings a v3 client: it answers the client's pings.
	deadline := time.Now().Add(2 * time.Second) // past PingInterval+PingTimeout
	for time.Now().Before(deadline) {
		if r := e.postV3(t, sid, "1:2"); r.status != 200 {
			t.Fatalf("ping POST: %d %q", r.status, r.body)
		}
		if r := e.getV3(t, sid); r.body != "1:3" {
			t.Fatalf("answer to ping = %d %q, want 1:3", r.status, r.body)
		}
	}
	if e.srv.Session(sid) == nil {
		t.Fatal("session closed although the client pinged")
	}
	// Without pings the session ends after pingInterval+pingTimeout.
	if reason := e.h.waitClose(t, sid); reason != ReasonPingTimeout {
		t.Fatalf("reason %q", reason)
	}
}

func TestEIO3PongIsError(t *testing.T) {
	e := newEnv(t, eio3Options())
	sid, _ := e.handshakeV3(t, "&b64=1")
	e.postV3(t, sid, "1:3")
	if reason := e.h.waitClose(t, sid); reason != ReasonParseError {
		t.Fatalf("reason %q", reason)
	}
}

func TestEIO3JSONP(t *testing.T) {
	e := newEnv(t, eio3Options())
	r := e.do(t, "GET", e.url("EIO=3&transport=polling&j=0&b64=1"), "", nil)
	if !strings.HasPrefix(r.body, `___eio[0]("`) || r.header.Get("Content-Type") != "text/javascript; charset=UTF-8" {
		t.Fatalf("JSONP handshake: %q %v", r.body, r.header)
	}
	var inner string
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(r.body, "___eio[0]("), ");")), &inner); err != nil {
		t.Fatal(err)
	}
	_, pkt, _ := strings.Cut(inner, ":")
	var o struct{ SID string }
	_ = json.Unmarshal([]byte(pkt[1:]), &o)
	form := "d=" + url.QueryEscape("7:4a\\nb€😀")
	r = e.do(t, "POST", e.url("EIO=3&transport=polling&j=0&sid="+o.SID), form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if r.status != 200 {
		t.Fatalf("JSONP POST: %d %q", r.status, r.body)
	}
	r = e.do(t, "GET", e.url("EIO=3&transport=polling&j=0&sid="+o.SID), "", nil)
	if want := `___eio[0]("7:4a\nb€😀");`; r.body != want {
		t.Fatalf("JSONP GET = %q, want %q", r.body, want)
	}
}

func TestEIO3WebSocket(t *testing.T) {
	e := newEnv(t, eio3Options())
	sid, _ := e.handshakeV3(t, "&b64=1")
	c := e.dial(t, "EIO=3&transport=websocket&sid="+sid)
	mustWrite(t, c, websocket.TextMessage, "2probe")
	if _, m := readMsg(t, c); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	mustWrite(t, c, websocket.TextMessage, "5")
	mustWrite(t, c, websocket.TextMessage, "2")
	if _, m := readMsg(t, c); m != "3" {
		t.Fatalf("ping answer %q", m)
	}
	// A binary message is the type byte 4 and the data, both ways.
	mustWrite(t, c, websocket.BinaryMessage, "\x04\x01\x02")
	if mt, m := readMsg(t, c); mt != websocket.BinaryMessage || m != "\x04\x01\x02" {
		t.Fatalf("binary echo %d %q", mt, m)
	}
	mustWrite(t, c, websocket.TextMessage, "4hé")
	if _, m := readMsg(t, c); m != "4hé" {
		t.Fatalf("text echo %q", m)
	}
	// A binary message without the type byte is an error.
	mustWrite(t, c, websocket.BinaryMessage, "\x01")
	if reason := e.h.waitClose(t, sid); reason != ReasonParseError {
		t.Fatalf("reason %q", reason)
	}
}

func TestEIO3WebSocketOnly(t *testing.T) {
	e := newEnv(t, eio3Options())
	c := e.dial(t, "EIO=3&transport=websocket")
	_, m := readMsg(t, c)
	if !strings.HasPrefix(m, "0{") || strings.Contains(m, "maxPayload") {
		t.Fatalf("open packet %q", m)
	}
	mustWrite(t, c, websocket.TextMessage, "4x")
	if _, m := readMsg(t, c); m != "4x" {
		t.Fatalf("echo %q", m)
	}
}
