package client

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeWS is a scripted Engine.IO v4 server over WebSocket only, for what a
// real server cannot be made to do on demand: reset the connection, break
// the WebSocket protocol, send a packet that cannot be decoded. It answers
// the handshake and the CONNECT of the main namespace, then hands each
// connection to the test on conns.
type fakeWS struct {
	URL     string
	conns   chan *fakeConn  // each connection, once "/" is connected
	queries chan url.Values // the query of each WebSocket handshake
	mu      sync.Mutex
	open    []*websocket.Conn // closed at cleanup
	n       int
}

// fakeConn is one connection of a fakeWS.
type fakeConn struct {
	ws   *websocket.Conn
	sid  string      // the Socket.IO id of "/"
	msgs chan string // the text messages the client sends after its CONNECT
}

func startFakeWS(t *testing.T) *fakeWS {
	t.Helper()
	f := &fakeWS{conns: make(chan *fakeConn, 16), queries: make(chan url.Values, 16)}
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") != TransportWebSocket {
			http.Error(w, "websocket only", http.StatusBadRequest)
			return
		}
		select {
		case f.queries <- r.URL.Query():
		default:
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		f.mu.Lock()
		f.n++
		n := f.n
		f.open = append(f.open, ws)
		f.mu.Unlock()
		open := fmt.Sprintf(`0{"sid":"e%d","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, n)
		if ws.WriteMessage(websocket.TextMessage, []byte(open)) != nil {
			return
		}
		_, msg, err := ws.ReadMessage()
		if err != nil || !strings.HasPrefix(string(msg), "40") {
			return
		}
		c := &fakeConn{ws: ws, sid: fmt.Sprintf("s%d", n), msgs: make(chan string, 64)}
		if ws.WriteMessage(websocket.TextMessage, []byte(`40{"sid":"`+c.sid+`"}`)) != nil {
			return
		}
		f.conns <- c
		for { // the client's packets are read until it goes
			mt, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if mt == websocket.TextMessage && string(msg) != "3" { // pongs left out
				select {
				case c.msgs <- string(msg):
				default:
				}
			}
		}
	}))
	t.Cleanup(func() {
		f.mu.Lock()
		for _, ws := range f.open {
			ws.Close()
		}
		f.mu.Unlock()
		hs.Close()
	})
	f.URL = hs.URL
	return f
}

// reset closes the connection with a TCP reset, as the kernel does for a
// server process that dies with unread data.
func (c *fakeConn) reset(t *testing.T) {
	t.Helper()
	tcp, ok := c.ws.NetConn().(*net.TCPConn)
	if !ok {
		t.Fatalf("not a TCP connection: %T", c.ws.NetConn())
	}
	if err := tcp.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	c.ws.NetConn().Close()
}

// TestWebSocketLossReasons: the reason a lost WebSocket connection is
// reported with is the official client's. The end of the underlying
// connection, clean or not, is "transport close" (a server process killed
// with unread data resets the connection: it must not be reported as
// "transport error"); a WebSocket protocol violation is "transport
// error"; a packet that cannot be decoded is "parse error". After each,
// the Manager reports the close and reconnects.
func TestWebSocketLossReasons(t *testing.T) {
	tests := []struct {
		name   string
		action func(t *testing.T, c *fakeConn)
		want   string
	}{
		{"reset", func(t *testing.T, c *fakeConn) { c.reset(t) }, ReasonTransportClose},
		{"eof", func(t *testing.T, c *fakeConn) { c.ws.NetConn().Close() }, ReasonTransportClose},
		{"close frame", func(t *testing.T, c *fakeConn) {
			msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "restart")
			if err := c.ws.WriteMessage(websocket.CloseMessage, msg); err != nil {
				t.Fatal(err)
			}
		}, ReasonTransportClose},
		{"close packet", func(t *testing.T, c *fakeConn) {
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte("1")); err != nil {
				t.Fatal(err)
			}
		}, ReasonTransportClose},
		{"reserved opcode", func(t *testing.T, c *fakeConn) {
			if _, err := c.ws.NetConn().Write([]byte{0x83, 0x00}); err != nil { // FIN, opcode 3, empty
				t.Fatal(err)
			}
		}, ReasonTransportError},
		{"bad packet", func(t *testing.T, c *fakeConn) {
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}, ReasonParseError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := startFakeWS(t)
			m, err := NewManager(f.URL, &Options{Transports: []string{TransportWebSocket},
				ReconnectionDelay: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			type closed struct {
				reason string
				err    error
			}
			opens := make(chan struct{}, 4)
			closes := make(chan closed, 4)
			attempts := make(chan int, 4)
			reconnects := make(chan int, 4)
			m.OnOpen(func() { opens <- struct{}{} })
			m.OnClose(func(reason string, err error) { closes <- closed{reason, err} })
			m.OnReconnectAttempt(func(n int) { attempts <- n })
			m.OnReconnect(func(n int) { reconnects <- n })
			s := m.Socket("/", &SocketOptions{NoAutoConnect: true})
			reasons := make(chan string, 4)
			connects := make(chan string, 4)
			s.OnDisconnect(func(r string) { reasons <- r })
			s.OnConnect(func() { connects <- s.ID() })
			s.Connect() // once the handlers are there
			c := recv(t, f.conns, "connection")
			if id := recv(t, connects, "connect"); id != c.sid {
				t.Fatalf("socket id %q, server's %q", id, c.sid)
			}
			recv(t, opens, "OnOpen")

			tt.action(t, c)
			if r := recv(t, reasons, "disconnect"); r != tt.want {
				t.Fatalf("disconnect reason %q, want %q", r, tt.want)
			}
			// The error is the transport's; a close packet has none.
			wantErr := tt.name != "close packet"
			if cl := recv(t, closes, "OnClose"); cl.reason != tt.want || (cl.err != nil) != wantErr {
				t.Fatalf("OnClose(%q, %v), want %q (an error: %v)", cl.reason, cl.err, tt.want, wantErr)
			}
			if n := recv(t, attempts, "OnReconnectAttempt"); n != 1 {
				t.Fatalf("reconnect attempt %d", n)
			}
			c2 := recv(t, f.conns, "new connection")
			if n := recv(t, reconnects, "OnReconnect"); n != 1 {
				t.Fatalf("reconnected after %d attempts", n)
			}
			if id := recv(t, connects, "reconnect"); id != c2.sid || id == c.sid {
				t.Fatalf("socket id %q after reconnect, server's %q, first %q", id, c2.sid, c.sid)
			}
			recv(t, opens, "OnOpen after reconnect")
		})
	}
}

// TestPendingAckOnLoss: an acknowledgement still awaited when the
// connection is lost fails with ErrDisconnected; a volatile emit is sent
// while connected.
func TestPendingAckOnLoss(t *testing.T) {
	checkGoroutines(t)
	f := startFakeWS(t)
	s := dial(t, f.URL, &Options{Transports: []string{TransportWebSocket}, DisableReconnection: true})
	c := recv(t, f.conns, "connection")
	if err := s.EmitVolatile("v", 1); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c.msgs, "volatile event"); m != `42["v",1]` {
		t.Fatalf("volatile event %q", m)
	}
	res := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctxT(t), "never-acked")
		res <- err
	}()
	if m := recv(t, c.msgs, "event with ack"); m != `421["never-acked"]` {
		t.Fatalf("event %q", m)
	}
	c.reset(t)
	if err := recv(t, res, "EmitWithAck"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("EmitWithAck after the loss: %v", err)
	}
}
