package engine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, key...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= key[i&3]
	}
	return b
}

// recordSink records what the parser hands over.
type recordSink struct{ got []string }

func (r *recordSink) message(op byte, p []byte) bool {
	r.got = append(r.got, fmt.Sprintf("msg %d %q", op, p))
	return true
}

func (r *recordSink) control(op byte, p []byte) bool {
	r.got = append(r.got, fmt.Sprintf("ctl %d %q", op, p))
	return op != opClose
}

// feed parses stream in chunks of size n the way the readers do: the
// unconsumed tail is kept and completed by the next chunk.
func feed(p *frameParser, sink frameSink, stream []byte, n int) error {
	var buf []byte
	for off := 0; off < len(stream); off += n {
		end := min(off+n, len(stream))
		buf = append(buf, stream[off:end]...)
		used, _, stop, err := p.parse(buf, sink)
		if err != nil || stop {
			return err
		}
		buf = buf[:copy(buf, buf[used:])]
	}
	return nil
}

// Frames split anywhere (one byte at a time included) are reassembled:
// a fragmented message with a ping between its fragments, a 16-bit and a
// 64-bit length, and the close frame that ends parsing.
func TestFrameParserChunks(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 300)
	huge := bytes.Repeat([]byte("y"), 70000)
	var stream []byte
	stream = append(stream, clientFrame(true, opText, []byte("4hello"))...)
	stream = append(stream, clientFrame(false, opBinary, []byte{1, 2})...)
	stream = append(stream, clientFrame(true, opPing, []byte("p"))...)
	stream = append(stream, clientFrame(false, opContinuation, []byte{3})...)
	stream = append(stream, clientFrame(true, opContinuation, []byte{4, 5})...)
	stream = append(stream, clientFrame(true, opText, big)...)
	stream = append(stream, clientFrame(true, opBinary, huge)...)
	stream = append(stream, clientFrame(true, opText, nil)...)
	stream = append(stream, clientFrame(true, opClose, []byte{0x03, 0xe8})...)
	stream = append(stream, clientFrame(true, opText, []byte("after close"))...)
	want := []string{
		`msg 1 "4hello"`,
		`ctl 9 "p"`,
		`msg 2 "\x01\x02\x03\x04\x05"`,
		fmt.Sprintf("msg 1 %q", big),
		fmt.Sprintf("msg 2 %q", huge),
		`msg 1 ""`,
		`ctl 8 "\x03\xe8"`,
	}
	for _, n := range []int{1, 2, 3, 7, 64, 4096, len(stream)} {
		p := &frameParser{max: 1 << 20}
		sink := &recordSink{}
		if err := feed(p, sink, bytes.Clone(stream), n); err != nil {
			t.Fatalf("chunk %d: %v", n, err)
		}
		if strings.Join(sink.got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("chunk %d: got\n%s", n, strings.Join(sink.got, "\n"))
		}
	}
}

// Protocol violations and oversized messages are errors with the close
// code the connection must send.
func TestFrameParserErrors(t *testing.T) {
	unmasked := []byte{0x81, 0x01, 'a'}
	cases := []struct {
		name   string
		stream []byte
		code   int
	}{
		{"unmasked", unmasked, closeCodeProtocolError},
		{"reserved bits", append([]byte{0xc1}, clientFrame(true, opText, []byte("a"))[1:]...), closeCodeProtocolError},
		{"unknown opcode", clientFrame(true, 0x3, []byte("a")), closeCodeProtocolError},
		{"fragmented ping", clientFrame(false, opPing, nil), closeCodeProtocolError},
		{"long ping", clientFrame(true, opPing, make([]byte, 126)), closeCodeProtocolError},
		{"lone continuation", clientFrame(true, opContinuation, []byte("a")), closeCodeProtocolError},
		{"interleaved message", append(clientFrame(false, opText, []byte("a")), clientFrame(true, opText, []byte("b"))...), closeCodeProtocolError},
		{"bad close code", clientFrame(true, opClose, []byte{0x03, 0xed}), closeCodeProtocolError},
		{"one-byte close", clientFrame(true, opClose, []byte{0x03}), closeCodeProtocolError},
		{"too big", clientFrame(true, opText, make([]byte, 101)), closeCodeTooBig},
		{"too big in fragments", append(clientFrame(false, opText, make([]byte, 60)), clientFrame(true, opContinuation, make([]byte, 60))...), closeCodeTooBig},
	}
	for _, tc := range cases {
		p := &frameParser{max: 100}
		err := feed(p, &recordSink{}, tc.stream, len(tc.stream))
		fe, ok := err.(*frameError)
		if !ok || fe.code != tc.code {
			t.Errorf("%s: error %v, want close code %d", tc.name, err, tc.code)
		}
	}
	// The size check comes from the header alone: a frame announcing 2^40
	// bytes fails before any payload is there.
	hdr := []byte{0x82, 0x80 | 127, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	if _, need, _, err := (&frameParser{max: 1 << 20}).parse(hdr, &recordSink{}); err != errTooBig || need != 0 {
		t.Errorf("huge header: need %d, error %v", need, err)
	}
}

// FuzzFrameParser feeds arbitrary bytes in arbitrary chunk sizes: the
// parser never panics, never asks for more than a message may hold, and
// gives the same result whatever the chunking.
func FuzzFrameParser(f *testing.F) {
	f.Add(clientFrame(true, opText, []byte("4hello")), 1)
	f.Add(append(clientFrame(false, opBinary, []byte{1}), clientFrame(true, opContinuation, []byte{2})...), 3)
	f.Add(clientFrame(true, opPing, []byte("probe")), 2)
	f.Add(clientFrame(true, opClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}), 5)
	f.Add(clientFrame(true, opText, bytes.Repeat([]byte("a"), 200)), 7)
	f.Add([]byte{0x81, 0xfe, 0xff, 0xff}, 1)
	f.Fuzz(func(t *testing.T, stream []byte, chunk int) {
		if chunk <= 0 || chunk > len(stream) {
			chunk = len(stream) + 1
		}
		whole, split := &recordSink{}, &recordSink{}
		errWhole := feed(&frameParser{max: 4096}, whole, bytes.Clone(stream), len(stream)+1)
		errSplit := feed(&frameParser{max: 4096}, split, bytes.Clone(stream), chunk)
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole: %v, chunked: %v", errWhole, errSplit)
		}
		if strings.Join(whole.got, "\n") != strings.Join(split.got, "\n") {
			t.Fatalf("whole %q, chunked %q", whole.got, split.got)
		}
		_, need, _, _ := (&frameParser{max: 4096}).parse(bytes.Clone(stream), &recordSink{})
		if need > 4096+14 {
			t.Fatalf("asks for %d bytes", need)
		}
	})
}

// A client that sends its frames a byte at a time, and a message larger
// than the pooled read buffer, are read correctly over a real connection.
func TestWebSocketSlowAndLargeFrames(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	readMsg(t, c) // open
	nc := c.NetConn()
	for _, b := range clientFrame(true, opText, []byte("4byte by byte")) {
		if _, err := nc.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if _, m := readSkipPing(t, c); m != "4byte by byte" {
		t.Fatalf("echo %q", m)
	}
	large := "4" + strings.Repeat("L", 3*readBufSize)
	mustWrite(t, c, websocket.TextMessage, large)
	if _, m := readSkipPing(t, c); m != large {
		t.Fatalf("echo of %d bytes: %d bytes", len(large), len(m))
	}
	// Several messages in one TCP write.
	var burst []byte
	for i := range 20 {
		burst = append(burst, clientFrame(true, opText, fmt.Appendf(nil, "4m%d", i))...)
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, m := readSkipPing(t, c); m != fmt.Sprintf("4m%d", i) {
			t.Fatalf("burst message %d: %q", i, m)
		}
	}
}

// A frame that breaks the protocol closes the connection with 1002.
func TestWebSocketProtocolError(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	sid := parseOpen(t, m).SID
	if _, err := c.NetConn().Write([]byte{0x81, 0x01, 'a'}); err != nil { // unmasked
		t.Fatal(err)
	}
	err := expectClosed(t, c, 3*time.Second)
	if !websocket.IsCloseError(err, websocket.CloseProtocolError) {
		t.Errorf("close error %v, want 1002", err)
	}
	if got := e.h.waitClose(t, sid); got != ReasonTransportError {
		t.Errorf("reason %q", got)
	}
}

// Idle WebSocket connections hold no goroutine on the server (Linux): the
// poller reads them only when data arrives.
func TestIdleWebSocketsHoldNoGoroutine(t *testing.T) {
	if getPoller() == nil {
		t.Skip("no readiness poller on this system")
	}
	e := newEnv(t, slowHeartbeat())
	const n = 50
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = e.dial(t, "EIO=4&transport=websocket")
		readMsg(t, conns[i])
	}
	// Every connection has been read (its open packet answered) and is
	// idle; let writers and HTTP handlers finish.
	var g int
	deadline := time.Now().Add(5 * time.Second)
	for {
		g = runtime.NumGoroutine()
		if g < n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if g >= n {
		t.Fatalf("%d goroutines with %d idle connections", g, n)
	}
	// They still work.
	for i, c := range conns {
		mustWrite(t, c, websocket.TextMessage, fmt.Sprintf("4c%d", i))
	}
	for i, c := range conns {
		if _, m := readSkipPing(t, c); m != fmt.Sprintf("4c%d", i) {
			t.Fatalf("conn %d echo %q", i, m)
		}
	}
}

// Bad opening handshakes get the statuses of gorilla's Upgrader, and a
// good one gets the right Sec-WebSocket-Accept and the extra headers.
func TestWebSocketOpeningHandshake(t *testing.T) {
	e := newEnv(t, &Options{PingInterval: 20 * time.Second, Cookie: &Cookie{Name: "io", Path: "/", SameSite: http.SameSiteLaxMode}})
	do := func(method, version, key string) *http.Response {
		req, _ := http.NewRequest(method, e.url("EIO=4&transport=websocket"), nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", version)
		req.Header.Set("Sec-WebSocket-Key", key)
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	if res := do("GET", "12", key); res.StatusCode != 400 || res.Header.Get("Sec-Websocket-Version") != "13" {
		t.Errorf("version 12: %d %v", res.StatusCode, res.Header)
	}
	if res := do("GET", "13", "c2hvcnQ="); res.StatusCode != 400 {
		t.Errorf("short key: %d", res.StatusCode)
	}
	c, res, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if res.StatusCode != 101 || !strings.Contains(res.Header.Get("Set-Cookie"), "io=") {
		t.Errorf("101 response: %d %v", res.StatusCode, res.Header)
	}
	_, m := readMsg(t, c)
	sid := parseOpen(t, m).SID
	// An upgrade request for that session with another method is refused.
	req, _ := http.NewRequest("POST", e.url("EIO=4&transport=websocket&sid="+sid), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", key)
	if res, err := e.client.Do(req); err != nil || res.StatusCode == 101 {
		t.Errorf("POST upgrade: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

// acceptWebSocket answers the key of RFC 6455's example with the accept
// value given there.
func TestWebSocketAcceptValue(t *testing.T) {
	rec := &hijackRecorder{}
	req, _ := http.NewRequest("GET", "/?EIO=4&transport=websocket", nil)
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	nc, head, err := acceptWebSocket(rec, req, http.Header{"X-Test": {"a\r\nInjected: b"}})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Test: a  Injected: b\r\n\r\n"
	if string(head) != want {
		t.Errorf("response %q, want %q", head, want)
	}
}

// hijackRecorder is a ResponseWriter whose Hijack hands out one end of a
// pipe.
type hijackRecorder struct{ httptest.ResponseRecorder }

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	a, b := net.Pipe()
	b.Close()
	return a, bufio.NewReadWriter(bufio.NewReader(a), bufio.NewWriter(a)), nil
}

// A client whose TCP connection ends without a close frame leaves with
// "transport close", as with the reference server; a close frame gets its
// code echoed.
func TestWebSocketClientGoneReasons(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	sid := parseOpen(t, m).SID
	c.NetConn().Close()
	if got := e.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Errorf("TCP close: reason %q", got)
	}

	c = e.dial(t, "EIO=4&transport=websocket")
	_, m = readMsg(t, c)
	sid = parseOpen(t, m).SID
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye")); err != nil {
		t.Fatal(err)
	}
	err := expectClosed(t, c, 3*time.Second)
	if !websocket.IsCloseError(err, 4001) {
		t.Errorf("close frame: echo %v, want 4001", err)
	}
	if got := e.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Errorf("close frame: reason %q", got)
	}
}

// A frame header announcing a large payload does not make the reader
// allocate it: buffers grow with the data that arrived.
func TestGrowForFollowsData(t *testing.T) {
	buf := make([]byte, 100, 100)
	if got := growFor(buf[:50], 1<<20); cap(got) != 100 {
		t.Errorf("room left: cap %d, want the same buffer", cap(got))
	}
	got := growFor(buf, 1<<20)
	if cap(got) > 2*100+512 || len(got) != 100 {
		t.Errorf("full buffer for a 1 MiB frame: len %d cap %d", len(got), cap(got))
	}
	if got := growFor(buf, 150); cap(got) != 150 {
		t.Errorf("full buffer for a 150-byte frame: cap %d", cap(got))
	}
}
