package h3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/quic-go/webtransport-go"
)

// echo answers every message with the same message and reports opens
// and closes.
type echo struct {
	opened chan *engine.Session
	closed chan engine.Reason
}

func newEcho() *echo {
	return &echo{opened: make(chan *engine.Session, 4), closed: make(chan engine.Reason, 4)}
}

func (e *echo) OnOpen(s *engine.Session) engine.Conn { e.opened <- s; return e }
func (e *echo) OnMessage(s *engine.Session, data []byte, binary bool) {
	s.Send(append([]byte(nil), data...), binary)
}
func (e *echo) OnClose(_ *engine.Session, r engine.Reason) { e.closed <- r }

type env struct {
	eng  *engine.Server
	h    *echo
	url  string // the WebTransport URL
	http string // the HTTP/1.1 base URL
	tr   *webtransport.Transport
}

func newEnv(t *testing.T, transports []string) *env {
	t.Helper()
	leakcheck.Check(t)
	h := newEcho()
	eng := engine.NewServer(h, &engine.Options{Transports: transports, PingInterval: 20 * time.Second, UpgradeTimeout: 5 * time.Second})
	cert, _, err := SelfSignedCertificate([]string{"127.0.0.1"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(eng, Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pc) }()
	hs := httptest.NewServer(http.StripPrefix("", eng))
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	tr := &webtransport.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(func() {
		_ = tr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		_ = srv.Close()
		<-served
		_ = pc.Close()
		hs.Close()
	})
	return &env{eng: eng, h: h, url: "https://" + pc.LocalAddr().String() + "/socket.io/?EIO=4&transport=webtransport", http: hs.URL, tr: tr}
}

// client is one WebTransport stream as the official client uses it.
type client struct {
	sess *webtransport.Session
	st   *webtransport.Stream
	buf  []byte
}

func (e *env) dial(t *testing.T) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rsp, sess, err := e.tr.Dial(ctx, e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rsp.StatusCode != 200 {
		t.Fatalf("status %d", rsp.StatusCode)
	}
	st, err := sess.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &client{sess: sess, st: st}
}

func (c *client) write(t *testing.T, payload string, binary bool) {
	t.Helper()
	if _, err := c.st.Write(engine.AppendWebTransportFrame(nil, []byte(payload), binary)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet's payload and binary flag, or an error
// once the stream or session ends.
func (c *client) read() (string, bool, error) {
	_ = c.st.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		p, bin, n, _, err := engine.ParseWebTransportFrame(c.buf, 0)
		if err != nil {
			return "", false, err
		}
		if n > 0 {
			s := string(p)
			c.buf = c.buf[n:]
			return s, bin, nil
		}
		tmp := make([]byte, 4096)
		m, err := c.st.Read(tmp)
		c.buf = append(c.buf, tmp[:m]...)
		if err != nil && m == 0 {
			return "", false, err
		}
	}
}

func (c *client) expect(t *testing.T, want string, wantBin bool) {
	t.Helper()
	got, bin, err := c.read()
	if err != nil || got != want || bin != wantBin {
		t.Fatalf("read %q binary=%v err=%v, want %q binary=%v", got, bin, err, want, wantBin)
	}
}

var all = []string{engine.TransportPolling, engine.TransportWebSocket, engine.TransportWebTransport}

// A new session over WebTransport: the open handshake, text and binary
// messages both ways, the transport's name, and a close by the client.
func TestWebTransportSession(t *testing.T) {
	e := newEnv(t, all)
	c := e.dial(t)
	c.write(t, "0", false)
	open, _, err := c.read()
	if err != nil || !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q, %v", open, err)
	}
	var o struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	if err := json.Unmarshal([]byte(open[1:]), &o); err != nil || o.SID == "" || len(o.Upgrades) != 0 {
		t.Fatalf("open packet %q: %+v %v", open, o, err)
	}
	s := <-e.h.opened
	if s.ID() != o.SID || s.Transport() != engine.TransportWebTransport {
		t.Errorf("session %s on %q", s.ID(), s.Transport())
	}
	c.write(t, "4hello é", false)
	c.expect(t, "4hello é", false)
	c.write(t, "\x00\x01\x02\xff", true)
	c.expect(t, "\x00\x01\x02\xff", true)
	big := strings.Repeat("x", 70000)
	c.write(t, "4"+big, false)
	c.expect(t, "4"+big, false)
	if !s.Writable() {
		t.Errorf("idle WebTransport session not writable")
	}
	c.write(t, "1", false)
	if r := <-e.h.closed; r != engine.ReasonTransportClose {
		t.Errorf("close reason %q", r)
	}
	_ = c.sess.CloseWithError(0, "")
}

// The server's close: the queued messages, then the close packet, then
// the end of the stream.
func TestWebTransportServerClose(t *testing.T) {
	e := newEnv(t, all)
	c := e.dial(t)
	c.write(t, "0", false)
	if _, _, err := c.read(); err != nil {
		t.Fatal(err)
	}
	s := <-e.h.opened
	s.Send([]byte("bye"), false)
	s.Close(engine.ReasonForcedClose)
	c.expect(t, "4bye", false)
	c.expect(t, "1", false)
	if _, _, err := c.read(); !errors.Is(err, io.EOF) {
		t.Errorf("after the close packet: %v, want EOF", err)
	}
	<-e.h.closed
	_ = c.sess.CloseWithError(0, "")
}

// An upgrade from polling: the open packet carries the sid, then the
// probe and the upgrade packet, as on WebSocket; the polling session
// advertises "webtransport" among its upgrades.
func TestWebTransportUpgrade(t *testing.T) {
	e := newEnv(t, all)
	rsp, err := http.Get(e.http + "/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	var o struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	if err := json.Unmarshal(body[1:], &o); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if strings.Join(o.Upgrades, ",") != "websocket,webtransport" {
		t.Errorf("upgrades %v", o.Upgrades)
	}
	s := <-e.h.opened
	c := e.dial(t)
	c.write(t, `0{"sid":"`+o.SID+`"}`, false)
	c.write(t, "2probe", false)
	c.expect(t, "3probe", false)
	if s.Transport() != engine.TransportPolling {
		t.Errorf("transport %q before the upgrade packet", s.Transport())
	}
	c.write(t, "5", false)
	c.write(t, "4after", false)
	c.expect(t, "4after", false)
	if s.Transport() != engine.TransportWebTransport {
		t.Errorf("transport %q after the upgrade", s.Transport())
	}
	c.write(t, "1", false)
	<-e.h.closed
	_ = c.sess.CloseWithError(0, "")
}

// Without "webtransport" in Options.Transports, the stream is refused (the
// session ends) and polling sessions do not advertise it; an upgrade for
// an unknown sid and a first packet other than open are refused too.
func TestWebTransportRefused(t *testing.T) {
	e := newEnv(t, []string{engine.TransportPolling, engine.TransportWebSocket})
	c := e.dial(t)
	c.write(t, "0", false)
	if p, _, err := c.read(); err == nil {
		t.Errorf("got %q from a server without WebTransport", p)
	}
	rsp, err := http.Get(e.http + "/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if strings.Contains(string(body), "webtransport") {
		t.Errorf("open packet %s advertises webtransport", body)
	}

	e = newEnv(t, all)
	for _, first := range []string{`0{"sid":"nope"}`, "4hello", "0{"} {
		c := e.dial(t)
		c.write(t, first, false)
		if p, _, err := c.read(); err == nil {
			t.Errorf("first packet %q: got %q", first, p)
		}
	}
}
