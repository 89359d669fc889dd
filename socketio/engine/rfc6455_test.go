package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rfcMaxPayload is the MaxPayload of the RFC 6455 test server: large
// enough for a message with a 64-bit length, small enough to exceed
// quickly.
const rfcMaxPayload = 100_000

// srvFrame is a frame read from the server.
type srvFrame struct {
	op      byte
	payload string
}

func (f srvFrame) String() string {
	if len(f.payload) > 40 {
		return fmt.Sprintf("op %d, %d bytes %q...", f.op, len(f.payload), f.payload[:40])
	}
	return fmt.Sprintf("op %d %q", f.op, f.payload)
}

// rawWS is a WebSocket client written for these tests: it sends bytes as
// given (frames built by clientFrame or by hand) and reads the server's
// frames one by one. It exists because the RFC 6455 cases need frames no
// WebSocket library writes (unmasked, reserved opcodes and RSV bits, a
// 64-bit length with the top bit set, fragmented or oversized control
// frames, a frame delivered byte by byte); tests that need whole messages
// use tenv.dial.
type rawWS struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// rawHandshake sends a WebSocket opening handshake for a new Engine.IO
// session with the given header lines (a value "" drops the default
// line) and returns the response and, on 101, the connection.
func rawHandshake(t *testing.T, e *tenv, headers map[string]string) (*http.Response, *rawWS) {
	t.Helper()
	var nc net.Conn
	var err error
	if addr, ok := strings.CutPrefix(e.ts.URL, "https://"); ok {
		cfg := e.ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		nc, err = tls.Dial("tcp", addr, cfg)
	} else {
		nc, err = net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	h := map[string]string{
		"Host":                  "127.0.0.1",
		"Upgrade":               "websocket",
		"Connection":            "Upgrade",
		"Sec-WebSocket-Key":     "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "13",
	}
	for k, v := range headers {
		h[k] = v
	}
	var req strings.Builder
	req.WriteString("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n")
	for k, v := range h {
		if v != "" {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, req.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake response: %v", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		return res, nil
	}
	_ = nc.SetDeadline(time.Time{})
	return res, &rawWS{t: t, nc: nc, br: br}
}

// dialRaw opens a session over a raw WebSocket and reads its open packet.
func dialRaw(t *testing.T, e *tenv) *rawWS {
	t.Helper()
	res, c := rawHandshake(t, e, nil)
	if c == nil {
		t.Fatalf("handshake: status %d", res.StatusCode)
	}
	if f, err := c.read(); err != nil || f.op != opText || !strings.HasPrefix(f.payload, "0{") {
		t.Fatalf("open packet: %v, %v", f, err)
	}
	return c
}

// read reads one server frame. Server frames must be final and unmasked
// (the server never fragments) with no reserved bit.
func (c *rawWS) read() (srvFrame, error) {
	f, rsv1, err := c.readFrame()
	if err == nil && rsv1 {
		return srvFrame{}, fmt.Errorf("server frame with RSV1 set: %v", f)
	}
	return f, err
}

// readFrame reads one server frame, as read does, but accepts RSV1 (a
// compressed message) and reports it; the payload is returned as sent.
func (c *rawWS) readFrame() (f srvFrame, rsv1 bool, err error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return srvFrame{}, false, err
	}
	if h[0]&0xb0 != 0x80 || h[1]&0x80 != 0 {
		return srvFrame{}, false, fmt.Errorf("server frame header %x: not final, reserved bits or masked", h)
	}
	rsv1 = h[0]&0x40 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return srvFrame{}, false, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return srvFrame{}, false, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<24 {
		return srvFrame{}, false, fmt.Errorf("server frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return srvFrame{}, false, err
	}
	return srvFrame{h[0] & 0x0f, string(p)}, rsv1, nil
}

// expectEnd reads the end of the stream after the server's close frame:
// the server must end its side (EOF), not reset the connection, and send
// nothing more.
func (c *rawWS) expectEnd() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c.br)
	switch {
	case len(b) > 0:
		c.t.Errorf("%d bytes after the close frame: %q", len(b), b)
	case errors.Is(err, syscall.ECONNRESET):
		c.t.Errorf("connection reset after the close frame")
	case err != nil:
		c.t.Errorf("after the close frame: %v, want the end of the stream", err)
	}
}

func (c *rawWS) write(b []byte) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// closePayload is the payload of a close frame with a status code and a
// reason.
func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// withHeaderBits returns a frame with the bits of mask set in its first
// byte.
func withHeaderBits(frame []byte, mask byte) []byte {
	frame = bytes.Clone(frame)
	frame[0] |= mask
	return frame
}

func concat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// textFrame is a final masked text frame.
func textFrame(s string) []byte { return clientFrame(true, opText, []byte(s)) }

// rfcCase is one RFC 6455 case: what the client sends, what the server
// must send back (after the open packet), and how the connection ends.
type rfcCase struct {
	name string
	// send is written in one write per element; bytewise writes every
	// byte on its own instead, with a pause between writes.
	send     [][]byte
	bytewise bool
	// big, when set, is written by another goroutine before anything is
	// read: a message the server refuses before reading it all.
	big []byte
	// want are the frames expected first, in this order.
	want []srvFrame
	// closeCode: 0 means the connection stays open (checked with one
	// more echo); -1 means a close frame without payload; otherwise the
	// status code of the server's close frame, after which the server
	// must end the stream cleanly.
	closeCode int
}

// rfc6455Cases are the framing, fragmentation, control frame, UTF-8, close
// and limit cases where the engine must behave as RFC 6455 (and the ws
// package, the reference server's) says. "Echo" is the test handler
// sending an Engine.IO message back.
func rfc6455Cases() []rfcCase {
	text := func(s string) srvFrame { return srvFrame{opText, s} }
	one := func(b []byte) [][]byte { return [][]byte{b} }
	long125 := "4" + strings.Repeat("a", 124)
	long126 := "4" + strings.Repeat("b", 125)
	long65535 := "4" + strings.Repeat("c", 65534)
	long65536 := "4" + strings.Repeat("d", 65535)
	long70000 := "4" + strings.Repeat("e", 69999)
	ping125 := bytes.Repeat([]byte("p"), 125)
	cases := []rfcCase{
		{name: "text echo", send: one(textFrame("4hello")), want: []srvFrame{text("4hello")}},
		{name: "binary echo", send: one(clientFrame(true, opBinary, []byte{1, 2, 3, 4})), want: []srvFrame{{opBinary, "\x01\x02\x03\x04"}}},
		{name: "7-bit length 125", send: one(textFrame(long125)), want: []srvFrame{text(long125)}},
		{name: "16-bit length 126", send: one(textFrame(long126)), want: []srvFrame{text(long126)}},
		{name: "16-bit length 65535", send: one(textFrame(long65535)), want: []srvFrame{text(long65535)}},
		{name: "64-bit length 65536", send: one(textFrame(long65536)), want: []srvFrame{text(long65536)}},
		{name: "64-bit length 70000", send: one(textFrame(long70000)), want: []srvFrame{text(long70000)}},
		{name: "frame one byte at a time", send: one(textFrame("4bytewise")), bytewise: true, want: []srvFrame{text("4bytewise")}},
		{name: "two frames in one segment", send: one(concat(textFrame("4one"), textFrame("4two"))), want: []srvFrame{text("4one"), text("4two")}},
		{name: "ping 125 bytes", send: one(clientFrame(true, opPing, ping125)), want: []srvFrame{{opPong, string(ping125)}}},
		{name: "empty ping", send: one(clientFrame(true, opPing, nil)), want: []srvFrame{{opPong, ""}}},
		{name: "ping 126 bytes", send: one(clientFrame(true, opPing, append(ping125, 'p'))), closeCode: 1002},
		{name: "unsolicited pong", send: one(clientFrame(true, opPong, []byte("unasked")))},
		{name: "RSV1 without extension", send: one(withHeaderBits(textFrame("4x"), 0x40)), closeCode: 1002},
		{name: "RSV2", send: one(withHeaderBits(textFrame("4x"), 0x20)), closeCode: 1002},
		{name: "RSV3", send: one(withHeaderBits(textFrame("4x"), 0x10)), closeCode: 1002},
		{name: "unmasked frame", send: one([]byte{0x81, 0x02, '4', 'x'}), closeCode: 1002},
		{name: "fragments with a ping between",
			send: one(concat(clientFrame(false, opText, []byte("4frag")), clientFrame(true, opPing, []byte("mid")),
				clientFrame(false, opContinuation, []byte("men")), clientFrame(true, opContinuation, []byte("ted")))),
			want: []srvFrame{{opPong, "mid"}, text("4fragmented")}},
		{name: "fragments in separate segments",
			send: [][]byte{clientFrame(false, opBinary, []byte{1}), clientFrame(false, opContinuation, []byte{2}), clientFrame(true, opContinuation, []byte{3})},
			want: []srvFrame{{opBinary, "\x01\x02\x03"}}},
		{name: "empty fragments",
			send: one(concat(clientFrame(false, opText, nil), clientFrame(false, opContinuation, []byte("4hi")),
				clientFrame(false, opContinuation, nil), clientFrame(true, opContinuation, nil))),
			want: []srvFrame{text("4hi")}},
		{name: "fragmented ping", send: one(clientFrame(false, opPing, []byte("x"))), closeCode: 1002},
		{name: "fragmented close", send: one(clientFrame(false, opClose, closePayload(1000, ""))), closeCode: 1002},
		{name: "continuation without a start", send: one(clientFrame(true, opContinuation, []byte("4x"))), closeCode: 1002},
		{name: "data frame inside a fragmented message",
			send: one(concat(clientFrame(false, opText, []byte("4a")), textFrame("4b"))), closeCode: 1002},
		{name: "invalid UTF-8", send: one(textFrame("4\xff\xfe")), closeCode: 1007},
		{name: "overlong UTF-8", send: one(textFrame("4\xc0\xaf")), closeCode: 1007},
		{name: "overlong UTF-8, 3 bytes", send: one(textFrame("4\xe0\x80\xaf")), closeCode: 1007},
		{name: "UTF-16 surrogate", send: one(textFrame("4\xed\xa0\x80")), closeCode: 1007},
		{name: "code point over U+10FFFF", send: one(textFrame("4\xf4\x90\x80\x80")), closeCode: 1007},
		{name: "truncated UTF-8", send: one(textFrame("4ab\xce")), closeCode: 1007},
		{name: "UTF-8 split across fragments",
			send: one(concat(clientFrame(false, opText, []byte("4\xce")), clientFrame(false, opContinuation, []byte("\xba\xe1\xbd")),
				clientFrame(true, opContinuation, []byte("\xb9\xcf\x83\xce\xbc\xce\xb5")))),
			want: []srvFrame{text("4\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")}}, // κόσμε
		{name: "invalid UTF-8 across fragments",
			send: one(concat(clientFrame(false, opText, []byte("4\xce")), clientFrame(true, opContinuation, []byte("x")))), closeCode: 1007},
		{name: "valid UTF-8 in a binary message", send: one(clientFrame(true, opBinary, []byte{0xff, 0xc0})), want: []srvFrame{{opBinary, "\xff\xc0"}}},
		{name: "close without payload", send: one(clientFrame(true, opClose, nil)), closeCode: -1},
		{name: "close with 1 byte", send: one(clientFrame(true, opClose, []byte{0x03})), closeCode: 1002},
		{name: "close with an invalid UTF-8 reason", send: one(clientFrame(true, opClose, closePayload(1000, "bye\xff"))), closeCode: 1007},
		{name: "close with a reason", send: one(clientFrame(true, opClose, closePayload(1001, "going away"))), closeCode: 1001},
		{name: "data after a close",
			send: one(concat(clientFrame(true, opClose, closePayload(1000, "")), textFrame("4after"), clientFrame(true, opPing, nil))), closeCode: 1000},
		{name: "frame over MaxPayload", big: textFrame("4" + strings.Repeat("x", 3*rfcMaxPayload)), closeCode: 1009},
		{name: "fragments over MaxPayload", big: func() []byte {
			var b []byte
			b = append(b, clientFrame(false, opText, []byte("4"))...)
			for range 4 * rfcMaxPayload / 1000 {
				b = append(b, clientFrame(false, opContinuation, bytes.Repeat([]byte("y"), 1000))...)
			}
			return append(b, clientFrame(true, opContinuation, nil)...)
		}(), closeCode: 1009},
		{name: "64-bit length with the top bit set",
			send: one([]byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}), closeCode: 1002},
		{name: "64-bit length over MaxPayload, no payload sent",
			send: one([]byte{0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}), closeCode: 1009},
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		cases = append(cases, rfcCase{name: fmt.Sprintf("reserved opcode %d", op), send: one(clientFrame(true, op, []byte("4x"))), closeCode: 1002})
	}
	for _, code := range []int{999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
		cases = append(cases, rfcCase{name: fmt.Sprintf("close code %d", code), send: one(clientFrame(true, opClose, closePayload(code, ""))), closeCode: 1002})
	}
	for _, code := range []int{1000, 1003, 1007, 1011, 3000, 3999, 4000, 4999} {
		cases = append(cases, rfcCase{name: fmt.Sprintf("close code %d", code), send: one(clientFrame(true, opClose, closePayload(code, "ok"))), closeCode: code})
	}
	return cases
}

// newTLSEnv is newEnv over TLS: the engine reads such connections with a
// goroutine each instead of the readiness poller.
func newTLSEnv(t *testing.T, opts *Options) *tenv {
	t.Helper()
	h := newEcho()
	srv := NewServer(h, opts)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		ts.Close()
	})
	return &tenv{srv: srv, ts: ts, h: h, client: ts.Client()}
}

// The engine's WebSocket framing checked case by case against RFC 6455
// (framing, fragmentation, control frames, UTF-8, close codes, limits),
// on plain TCP (read through the poller on Linux) and on TLS (read by a
// goroutine per connection). A connection the server closes gets a close
// frame with the expected code and then a clean end of the stream, never
// a reset, even when the client is still sending a message the server
// refused.
func TestRFC6455(t *testing.T) {
	checkGoroutines(t)
	opts := &Options{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: rfcMaxPayload}
	t.Run("tcp", func(t *testing.T) { testRFC6455(t, newEnv(t, opts)) })
	t.Run("tls", func(t *testing.T) { testRFC6455(t, newTLSEnv(t, opts)) })
}

func testRFC6455(t *testing.T, e *tenv) {
	for _, tc := range rfc6455Cases() {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, e)
			sent := make(chan error, 1)
			if tc.big != nil {
				go func() {
					_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
					_, err := c.nc.Write(tc.big)
					sent <- err
				}()
			}
			for _, b := range tc.send {
				if !tc.bytewise {
					c.write(b)
					continue
				}
				for i := range b {
					c.write(b[i : i+1])
					time.Sleep(time.Millisecond) // one byte per segment
				}
			}
			for i, w := range tc.want {
				f, err := c.read()
				if err != nil {
					t.Fatalf("frame %d: %v, want %v", i, err, w)
				}
				if f != w {
					t.Fatalf("frame %d: %v, want %v", i, f, w)
				}
			}
			if tc.closeCode == 0 {
				// Still open and in sync: one more echo.
				c.write(textFrame("4alive"))
				if f, err := c.read(); err != nil || f != (srvFrame{opText, "4alive"}) {
					t.Fatalf("after the case: %v, %v; want the echo of 4alive", f, err)
				}
				return
			}
			f, err := c.read()
			if err != nil {
				t.Fatalf("%v, want a close frame", err)
			}
			if f.op != opClose {
				t.Fatalf("got %v, want a close frame", f)
			}
			switch {
			case tc.closeCode == -1 && f.payload != "":
				t.Errorf("close payload %q, want none", f.payload)
			case tc.closeCode > 0 && (len(f.payload) < 2 || int(binary.BigEndian.Uint16([]byte(f.payload))) != tc.closeCode):
				t.Errorf("close payload %q, want code %d", f.payload, tc.closeCode)
			}
			c.expectEnd()
			if tc.big != nil {
				// The server read (and dropped) all of it.
				if err := <-sent; err != nil {
					t.Errorf("writing the refused message: %v", err)
				}
			}
		})
	}
}

// Opening handshakes: a missing key and an unsupported version are refused
// before the upgrade (with the supported version announced); Connection
// may list other tokens besides Upgrade.
func TestRFC6455Handshake(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"no key", map[string]string{"Sec-WebSocket-Key": ""}, http.StatusBadRequest},
		{"key of 15 bytes", map[string]string{"Sec-WebSocket-Key": "c2hvcnQga2V5IG9mIDE1"}, http.StatusBadRequest},
		{"version 7", map[string]string{"Sec-WebSocket-Version": "7"}, http.StatusBadRequest},
		{"no version", map[string]string{"Sec-WebSocket-Version": ""}, http.StatusBadRequest},
		{"Connection: keep-alive, Upgrade", map[string]string{"Connection": "keep-alive, Upgrade"}, http.StatusSwitchingProtocols},
		{"Upgrade in another case", map[string]string{"Upgrade": "WebSocket", "Connection": "upgrade"}, http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, c := rawHandshake(t, e, tc.headers)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != http.StatusSwitchingProtocols {
				if v := res.Header.Get("Sec-WebSocket-Version"); v != "13" {
					t.Errorf("Sec-WebSocket-Version %q, want 13", v)
				}
				return
			}
			if got := res.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Errorf("Sec-WebSocket-Accept %q", got)
			}
			if f, err := c.read(); err != nil || !strings.HasPrefix(f.payload, "0{") {
				t.Fatalf("open packet: %v %v", f, err)
			}
			c.write(textFrame("4hello"))
			if f, err := c.read(); err != nil || f != (srvFrame{opText, "4hello"}) {
				t.Fatalf("echo: %v %v", f, err)
			}
		})
	}
}
