package socketio_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// expectEvents reads want from ch, in order.
func expectEvents(t *testing.T, ch chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-ch:
			if got != w {
				t.Fatalf("event %q, want %q", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event, want %q", w)
		}
	}
}

// pollReq makes one long-polling request and returns the body.
func pollReq(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d %s", method, url, res.StatusCode, b)
	}
	return string(b)
}

// The events of socket.conn, per socket: the engine's connection event
// for a new session, then, on a socket connected over polling,
// upgrading and upgrade (with the transport's name changing), packet and
// packetCreate, drain, and close with its reason; a removed listener is
// not called again.
func TestConnEvents(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(nil)
	events := make(chan string, 100)
	var drains atomic.Int32
	srv.Engine().OnConnection(func(c *engine.Session) { events <- "connection " + c.Transport() })
	srv.OnConnection(func(s *socketio.Socket) {
		c := s.Conn()
		events <- "socket on " + c.Transport()
		c.OnUpgrading(func(tr string) { events <- "upgrading " + tr + ", on " + c.Transport() })
		c.OnUpgrade(func(tr string) { events <- "upgrade " + tr + ", on " + c.Transport() })
		var removePacket func()
		removePacket = c.OnPacket(func(p engine.Packet) {
			if p.Type == engine.PacketMessage {
				events <- "packet " + string(p.Data)
				if string(p.Data) == `2["last"]` {
					removePacket()
				}
			}
		})
		c.OnPacketCreate(func(f *engine.Frame) { events <- "packetCreate " + itoa(f.Len()) })
		c.OnDrain(func() { drains.Add(1) })
		c.OnClose(func(r engine.Reason) { events <- "close " + string(r) })
		s.On("hi", func() { _ = s.Emit("hello") })
	})
	base := startServer(t, srv) + "/socket.io/?EIO=4&transport="
	open := pollReq(t, "GET", base+"polling", "")
	sid := open[len(`0{"sid":"`):][:20]
	expectEvents(t, events, "connection polling")
	pollReq(t, "POST", base+"polling&sid="+sid, "40")
	expectEvents(t, events, "socket on polling")
	if body := pollReq(t, "GET", base+"polling&sid="+sid, ""); !strings.HasPrefix(body, `40{"sid":"`) {
		t.Fatalf("CONNECT reply %q", body)
	}
	// The CONNECT reply was queued before the connection handler ran.

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	write := func(s string) {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write("2probe")
	if _, m, err := ws.ReadMessage(); err != nil || string(m) != "3probe" {
		t.Fatalf("probe answer %q, %v", m, err)
	}
	expectEvents(t, events, "upgrading websocket, on polling")
	write("5")
	expectEvents(t, events, "upgrade websocket, on websocket")

	write(`42["hi"]`)
	expectEvents(t, events, `packet 2["hi"]`, "packetCreate 11") // 42["hello"]
	if _, m, err := ws.ReadMessage(); err != nil || string(m) != `42["hello"]` {
		t.Fatalf("read %q, %v", m, err)
	}
	for drains.Load() < 2 { // the CONNECT reply's poll, then the WebSocket write
		time.Sleep(time.Millisecond)
	}
	write(`42["last"]`)
	write(`42["not seen"]`)
	expectEvents(t, events, `packet 2["last"]`)
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	expectEvents(t, events, "close transport close")
}

// Compress(false) reaches the engine: such emits, to a socket or
// broadcast, are queued as frames that are never compressed; others may
// be compressed.
func TestCompressFlag(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{
		PerMessageDeflate: &engine.PerMessageDeflate{Threshold: -1},
	}})
	flags := make(chan string, 100)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Conn().OnPacketCreate(func(f *engine.Frame) {
			if f.Compressible() {
				flags <- "compressed"
			} else {
				flags <- "plain"
			}
		})
		s.On("step", func(n int) {
			switch n {
			case 1:
				_ = s.Compress(false).Emit("r", 1)
			case 2:
				_ = s.Emit("r", 2)
			case 3:
				_ = srv.Compress(false).Emit("r", 3)
			case 4:
				_ = srv.To(s.ID()).Compress(true).Emit("r", 4)
			case 5:
				_ = s.Compress(false).Emit("r", []byte{5}) // the packet and its attachment
			case 6:
				_ = s.Volatile().Compress(false).Emit("r", 6)
			case 7:
				_ = s.Compress(false).Compress(true).Emit("r", 7)
			}
		})
	})
	base := startServer(t, srv)
	c := socketiotest.Dial(t, base+"/socket.io/", nil)
	c.Connect("/", nil) // its reply was queued before the handler ran
	for i, want := range [][]string{{"plain"}, {"compressed"}, {"plain"}, {"compressed"}, {"plain", "plain"}, {"plain"}, {"compressed"}} {
		c.Emit("/", -1, "step", i+1)
		for range want {
			if _, _, err := c.Next(); err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range want {
			if got := <-flags; got != w {
				t.Fatalf("step %d: %s, want %s", i+1, got, w)
			}
		}
	}
}
