package engine

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/internal/testutil"
)

type recObserver struct {
	NopObserver
	mu     sync.Mutex
	events []string
}

func (o *recObserver) add(ev string) {
	o.mu.Lock()
	o.events = append(o.events, ev)
	o.mu.Unlock()
}

func (o *recObserver) has(ev string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Contains(o.events, ev)
}

func (o *recObserver) Packet(_ *Session, p Packet) {
	o.add("packet " + string(p.Type) + string(p.Data))
}
func (o *recObserver) Heartbeat(*Session) { o.add("heartbeat") }
func (o *recObserver) Upgrading(*Session) { o.add("upgrading") }
func (o *recObserver) Upgrade(*Session)   { o.add("upgrade") }
func (o *recObserver) ConnectionError(_ *http.Request, code int, msg string) {
	o.add("error " + itoa(code) + " " + msg)
}
func (o *recObserver) PacketCreate(_ *Session, f *Frame)             { o.add("packetCreate " + itoa(f.Len())) }
func (o *recObserver) Flush(_ *Session, n int)                       { o.add("flush " + itoa(n)) }
func (o *recObserver) Drain(*Session)                                { o.add("drain") }
func (o *recObserver) Close(_ *Session, r Reason)                    { o.add("close " + string(r)) }
func (o *recObserver) InitialHeaders(h http.Header, _ *http.Request) { h.Set("X-Initial", "1") }
func (o *recObserver) Headers(h http.Header, _ *http.Request)        { h.Set("X-Every", "1") }

// The Observer sees packets, heartbeats, upgrades and refused requests,
// and can set response headers.
func TestObserver(t *testing.T) {
	o := &recObserver{}
	e := newEnv(t, &Options{Observer: o, PingInterval: 100 * time.Millisecond, PingTimeout: 5 * time.Second})
	r := e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
	if r.header.Get("X-Initial") != "1" || r.header.Get("X-Every") != "1" {
		t.Errorf("handshake headers %v", r.header)
	}
	sid := parseOpen(t, r.body).SID
	if p := e.post(t, sid, "4hi"); p.header.Get("X-Every") != "1" || p.header.Get("X-Initial") != "" {
		t.Errorf("POST headers %v", p.header)
	}
	e.get(t, sid) // the echo
	if g := e.get(t, sid); g.body != "2" {
		t.Fatalf("GET %q, want ping", g.body)
	}
	e.post(t, sid, "3")
	c, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if res.Header.Get("X-Every") != "1" || res.Header.Get("X-Initial") != "" {
		t.Errorf("upgrade headers %v", res.Header)
	}
	mustWrite(t, c, websocket.TextMessage, "2probe")
	readMsg(t, c)
	mustWrite(t, c, websocket.TextMessage, "5")
	e.do(t, "GET", e.url("EIO=4&transport=polling&sid=unknown"), "", nil)
	for _, ev := range []string{"packet 4hi", "packet 3", "heartbeat", "upgrading", "upgrade", "error 1 Session ID unknown",
		"packetCreate 3", "flush 1", "drain"} {
		testutil.Eventually(t, 5*time.Second, ev, func() bool { return o.has(ev) })
	}
	// Over WebSocket too, then the close.
	o.mu.Lock()
	o.events = nil
	o.mu.Unlock()
	mustWrite(t, c, websocket.TextMessage, "4again")
	for _, ev := range []string{"packet 4again", "packetCreate 6", "flush 1", "drain"} {
		testutil.Eventually(t, 5*time.Second, ev, func() bool { return o.has(ev) })
	}
	e.srv.Session(sid).Close(ReasonForcedClose)
	testutil.Eventually(t, 5*time.Second, "close", func() bool { return o.has("close forced close") })
}

// The session's own listeners see the Observer's events of that session
// (over polling, then WebSocket after the upgrade), after the Observer;
// the server's connection listeners see every new session; removed
// listeners are not called again.
func TestSessionListeners(t *testing.T) {
	checkGoroutines(t)
	o := &recObserver{}
	e := newEnv(t, &Options{Observer: o, PingInterval: 100 * time.Millisecond, PingTimeout: 5 * time.Second})
	rec := &recObserver{}
	var removeConn func()
	removeConn = e.srv.OnConnection(func(s *Session) {
		rec.add("connection " + s.Transport())
		s.OnPacket(func(p Packet) {
			if !o.has("packet " + string(p.Type) + string(p.Data)) {
				rec.add("packet before the observer")
			}
			rec.add("packet " + string(p.Type) + string(p.Data))
		})
		s.OnPacketCreate(func(f *Frame) { rec.add("packetCreate " + itoa(f.Len())) })
		s.OnFlush(func(n int) { rec.add("flush " + itoa(n)) })
		s.OnDrain(func() { rec.add("drain") })
		s.OnHeartbeat(func() { rec.add("heartbeat") })
		s.OnUpgrading(func(tr string) { rec.add("upgrading " + tr + " " + s.Transport()) })
		s.OnUpgrade(func(tr string) { rec.add("upgrade " + tr + " " + s.Transport()) })
		s.OnClose(func(r Reason) { rec.add("close " + string(r)) })
		removeConn() // one session only
	})
	sid := e.handshake(t)
	e.handshake(t) // not seen
	e.post(t, sid, "4hi")
	e.get(t, sid) // the echo
	if g := e.get(t, sid); g.body != "2" {
		t.Fatalf("GET %q, want ping", g.body)
	}
	e.post(t, sid, "3")
	c, _, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustWrite(t, c, websocket.TextMessage, "2probe")
	readMsg(t, c)
	mustWrite(t, c, websocket.TextMessage, "5")
	for _, ev := range []string{"connection polling", "packet 4hi", "packetCreate 3", "flush 1", "drain", "packet 3", "heartbeat",
		"upgrading websocket polling", "upgrade websocket websocket"} {
		testutil.Eventually(t, 5*time.Second, ev, func() bool { return rec.has(ev) })
	}
	sess := e.srv.Session(sid)
	var n atomic.Int32
	remove := sess.OnPacket(func(Packet) { n.Add(1) })
	mustWrite(t, c, websocket.TextMessage, "4again")
	readSkipPing(t, c)
	remove()
	mustWrite(t, c, websocket.TextMessage, "4more")
	readSkipPing(t, c)
	sess.Close(ReasonForcedClose)
	testutil.Eventually(t, 5*time.Second, "close", func() bool { return rec.has("close forced close") })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := n.Load(); got != 1 {
		t.Errorf("removed listener called %d times, want 1", got)
	}
	conns := 0
	for _, ev := range rec.events {
		switch ev {
		case "connection polling":
			conns++
		case "packet before the observer":
			t.Error(ev)
		}
	}
	if conns != 1 {
		t.Errorf("%d connection events, want 1 (the listener removed itself)", conns)
	}
}
