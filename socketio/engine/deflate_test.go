package engine

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Offers answered per RFC 7692 section 7: the first acceptable offer
// wins; an offer with an unknown, repeated or invalid parameter, or one
// asking for a server window under 15 bits (compress/flate compresses
// with 32 KiB only), is declined.
func TestNegotiateDeflate(t *testing.T) {
	const ncct = "; client_no_context_takeover"
	for _, tc := range []struct {
		offer    string
		takeover bool // the server allows client context takeover
		want     string
		client   bool // the accepted offer lets the client use context takeover
	}{
		{offer: "permessage-deflate", want: "permessage-deflate" + ncct},
		{offer: "permessage-deflate; client_max_window_bits", want: "permessage-deflate" + ncct}, // ws, browsers
		{offer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover", want: "permessage-deflate; server_no_context_takeover" + ncct},
		{offer: "permessage-deflate; server_max_window_bits=15", want: "permessage-deflate" + ncct + "; server_max_window_bits=15"},
		{offer: `permessage-deflate; server_max_window_bits="15"`, want: "permessage-deflate" + ncct + "; server_max_window_bits=15"},
		{offer: "permessage-deflate; server_max_window_bits=10"},
		{offer: "permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits", want: "permessage-deflate" + ncct},
		{offer: "permessage-deflate; server_max_window_bits"},
		{offer: "permessage-deflate; server_max_window_bits=08"},
		{offer: "permessage-deflate; server_max_window_bits=16"},
		{offer: "permessage-deflate; client_max_window_bits=8", want: "permessage-deflate" + ncct},
		{offer: `permessage-deflate; client_max_window_bits="10"`, want: "permessage-deflate" + ncct},
		{offer: "permessage-deflate; client_max_window_bits=7"},
		{offer: "permessage-deflate; server_no_context_takeover; server_no_context_takeover"},
		{offer: "permessage-deflate; server_no_context_takeover=1"},
		{offer: "permessage-deflate; client_no_context_takeover=yes"},
		{offer: "permessage-deflate; level=9"},
		{offer: "x-webkit-deflate-frame"},
		{offer: "x-webkit-deflate-frame, permessage-deflate", want: "permessage-deflate" + ncct},
		{offer: "permessage-deflate;;"},
		{offer: `permessage-deflate; client_max_window_bits="1`},
		{offer: "permessage-deflate", takeover: true, want: "permessage-deflate", client: true},
		{offer: "permessage-deflate; client_no_context_takeover", takeover: true, want: "permessage-deflate" + ncct},
	} {
		cfg := newDeflateConfig(&PerMessageDeflate{ClientContextTakeover: tc.takeover})
		got, params, ok := negotiateDeflate([]string{tc.offer}, cfg)
		if ok != (tc.want != "") || got != tc.want || params.clientTakeover != tc.client {
			t.Errorf("offer %q (client takeover allowed %v): %q, %v, client takeover %v; want %q, client takeover %v",
				tc.offer, tc.takeover, got, ok, params.clientTakeover, tc.want, tc.client)
		}
	}
	// Offers on several header lines are one list.
	cfg := newDeflateConfig(&PerMessageDeflate{})
	if got, _, ok := negotiateDeflate([]string{"permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_no_context_takeover"}, cfg); !ok ||
		got != "permessage-deflate; server_no_context_takeover"+ncct {
		t.Errorf("two header lines: %q, %v", got, ok)
	}
}

// The examples of RFC 7692 section 7.2.3, as masked client frames, read
// by the parser with the extension negotiated.
func TestDeflateRFC7692Examples(t *testing.T) {
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00} // 7.2.3.1
	for _, tc := range []struct {
		name     string
		frames   [][]byte
		takeover bool
		want     []string
		err      error
	}{
		{name: "7.2.3.1 a message compressed", frames: [][]byte{rsv1Frame(true, opText, hello)}, want: []string{"Hello"}},
		{name: "7.2.3.1 fragmented", frames: [][]byte{rsv1Frame(false, opText, hello[:3]), clientFrame(true, opContinuation, hello[3:])}, want: []string{"Hello"}},
		{name: "7.2.3.2 sharing the LZ77 window", takeover: true,
			frames: [][]byte{rsv1Frame(true, opText, hello), rsv1Frame(true, opText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00})}, want: []string{"Hello", "Hello"}},
		{name: "7.2.3.2 without context takeover", // the second message refers to the first: corrupt on its own
			frames: [][]byte{rsv1Frame(true, opText, hello), rsv1Frame(true, opText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00})}, want: []string{"Hello"}, err: errBadDeflate},
		{name: "7.2.3.3 a block with no compression", frames: [][]byte{rsv1Frame(true, opText, []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00})}, want: []string{"Hello"}},
		{name: "7.2.3.4 a block with BFINAL set", frames: [][]byte{rsv1Frame(true, opText, []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})}, want: []string{"Hello"}},
		{name: "7.2.3.5 two blocks in one message", frames: [][]byte{rsv1Frame(true, opText, []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00})}, want: []string{"Hello"}},
		{name: "binary message", frames: [][]byte{rsv1Frame(true, opBinary, hello)}, want: []string{"Hello"}},
		{name: "uncompressed message beside compressed ones", frames: [][]byte{textFrame("plain"), rsv1Frame(true, opText, hello)}, want: []string{"plain", "Hello"}},
		{name: "RSV1 on a continuation frame", frames: [][]byte{rsv1Frame(false, opText, hello[:3]), rsv1Frame(true, opContinuation, hello[3:])}, err: errCompressedCont},
		{name: "RSV1 on a ping", frames: [][]byte{rsv1Frame(true, opPing, nil)}, err: errCompressedCtrl},
		{name: "RSV1 on a close frame", frames: [][]byte{rsv1Frame(true, opClose, nil)}, err: errCompressedCtrl},
		{name: "RSV2", frames: [][]byte{withHeaderBits(rsv1Frame(true, opText, hello), 0x20)}, err: errReservedBits},
		{name: "corrupt data", frames: [][]byte{rsv1Frame(true, opText, []byte{0xff, 0xff, 0xff})}, err: errBadDeflate},
		{name: "invalid UTF-8 once inflated", frames: [][]byte{rsv1Frame(true, opText, deflateBytes(t, []byte{0xff, 0xfe}))}, err: errInvalidUTF8},
		{name: "inflated beyond the limit", frames: [][]byte{rsv1Frame(true, opText, deflateBytes(t, make([]byte, 2000)))}, err: errTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &frameParser{max: 1000, deflate: true, takeover: tc.takeover}
			sink := &textSink{}
			err := feed(p, sink, concat(tc.frames...), 3)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if strings.Join(sink.got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("messages %q, want %q", sink.got, tc.want)
			}
			if !tc.takeover && p.hist != nil {
				t.Errorf("history of %d bytes kept without context takeover", len(p.hist))
			}
		})
	}
	// Without the extension, RSV1 stays a protocol error.
	p := &frameParser{max: 1000}
	if err := feed(p, &textSink{}, rsv1Frame(true, opText, hello), 100); err != errReservedBits {
		t.Fatalf("RSV1 without the extension: %v", err)
	}
}

// The server's compressed form of "Hello" is the RFC's (7.2.3.1), and a
// message is compressed on its own: the same message twice gives the
// same bytes (no context takeover).
func TestDeflateCompress(t *testing.T) {
	c := newDeflateConfig(&PerMessageDeflate{})
	if got := c.compressTo([]byte("Hello"), false); !bytes.Equal(got, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}) {
		t.Fatalf("Hello compressed: % x", got)
	}
	msg := []byte(strings.Repeat(`42["chat",{"room":"general","text":"hello"}]`, 40))
	a, b := c.compress(msg), c.compress(msg)
	if !bytes.Equal(a, b) || len(a) >= len(msg) {
		t.Fatalf("two compressions: %d and %d bytes of %d", len(a), len(b), len(msg))
	}
	out, release, err := inflate(a, nil, 1e6)
	if err != nil || !bytes.Equal(out, msg) {
		t.Fatalf("inflate: %v, %d bytes", err, len(out))
	}
	release()
	// Incompressible data is sent as it is.
	if got := c.compress([]byte{0x8f, 0x11, 0x3a}); got != nil {
		t.Fatalf("3 random bytes compressed to % x, want nil", got)
	}
}

// rsv1Frame is clientFrame with RSV1 set (a compressed message's first
// frame, or a protocol error elsewhere).
func rsv1Frame(fin bool, op byte, payload []byte) []byte {
	return withHeaderBits(clientFrame(fin, op, payload), 0x40)
}

// deflateBytes compresses p the way a client does (sync flush, tail
// removed).
func deflateBytes(t testing.TB, p []byte) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// textSink records message payloads as strings.
type textSink struct{ got []string }

func (s *textSink) message(_ byte, p []byte) bool  { s.got = append(s.got, string(p)); return true }
func (s *textSink) control(op byte, _ []byte) bool { return op != opClose }

// deflateEnv is an echo server with compression on.
func deflateEnv(t *testing.T, threshold int) *tenv {
	return newEnv(t, &Options{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: rfcMaxPayload,
		PerMessageDeflate: &PerMessageDeflate{Threshold: threshold}})
}

// dialDeflate opens a session over a raw WebSocket offering
// permessage-deflate as the ws package does, checks the answer and reads
// the open packet.
func dialDeflate(t *testing.T, e *tenv) *rawWS {
	t.Helper()
	res, c := rawHandshake(t, e, map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"})
	if c == nil {
		t.Fatalf("handshake: status %d", res.StatusCode)
	}
	if got := res.Header.Get("Sec-WebSocket-Extensions"); got != "permessage-deflate; client_no_context_takeover" {
		t.Fatalf("Sec-WebSocket-Extensions %q", got)
	}
	if f, rsv1, err := c.readFrame(); err != nil || rsv1 || !strings.HasPrefix(f.payload, "0{") {
		t.Fatalf("open packet: %v, compressed %v, %v", f, rsv1, err)
	}
	return c
}

// readInflated reads a server frame and inflates it when compressed.
func (c *rawWS) readInflated() (f srvFrame, compressed bool) {
	c.t.Helper()
	f, compressed, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if compressed {
		out, release, err := inflate([]byte(f.payload), nil, 1<<24)
		if err != nil {
			c.t.Fatalf("inflating the server's message: %v", err)
		}
		f.payload = string(out)
		release()
	}
	return f, compressed
}

// Over the network: messages at least Threshold long go out compressed
// (RSV1), shorter ones and uncompressed frames as they are; compressed
// client messages of either kind are inflated; control frames are never
// compressed; a compressed message inflating beyond MaxPayload closes
// the connection with 1009.
func TestDeflateWebSocket(t *testing.T) {
	checkGoroutines(t)
	e := deflateEnv(t, 200)
	c := dialDeflate(t, e)
	big := "4" + strings.Repeat("chat message ", 50)
	c.write(rsv1Frame(true, opText, deflateBytes(t, []byte(big))))
	if f, z := c.readInflated(); !z || f != (srvFrame{opText, big}) {
		t.Fatalf("echo of a large message: compressed %v, %v", z, f)
	}
	c.write(rsv1Frame(true, opText, deflateBytes(t, []byte("4small"))))
	if f, z := c.readInflated(); z || f != (srvFrame{opText, "4small"}) {
		t.Fatalf("echo of a small message: compressed %v, %v", z, f)
	}
	bin := bytes.Repeat([]byte{1, 2, 3, 4}, 100)
	c.write(clientFrame(true, opBinary, bin)) // uncompressed from the client
	if f, z := c.readInflated(); !z || f != (srvFrame{opBinary, string(bin)}) {
		t.Fatalf("echo of a binary message: compressed %v, %v", z, f)
	}
	c.write(clientFrame(true, opPing, bytes.Repeat([]byte("p"), 125)))
	if f, z, err := c.readFrame(); err != nil || z || f.op != opPong {
		t.Fatalf("pong: %v, compressed %v, %v", f, z, err)
	}
	sess := e.srv.Session(sessionIDs(e.srv)[0])
	sess.SendFrame(NewUncompressedFrame([]byte(big[1:]), false))
	if f, z := c.readInflated(); z || f != (srvFrame{opText, big}) {
		t.Fatalf("uncompressed frame: compressed %v, %v", z, f)
	}
	// A zip bomb: 1 MB of zeros in about a kilobyte.
	c.write(rsv1Frame(true, opText, deflateBytes(t, append([]byte("4"), make([]byte, 1e6)...))))
	f, z, err := c.readFrame()
	if err != nil || z || f.op != opClose || binary.BigEndian.Uint16([]byte(f.payload)) != closeCodeTooBig {
		t.Fatalf("after a message inflating beyond MaxPayload: %v, compressed %v, %v; want close 1009", f, z, err)
	}
	c.expectEnd()
}

// sessionIDs lists the ids of the server's open sessions.
func sessionIDs(s *Server) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.sessions {
		ids = append(ids, id)
	}
	return ids
}

// A client that offers nothing, or only what the server declines, gets
// no extension and uncompressed messages; compression off by default
// answers no offer.
func TestDeflateDeclined(t *testing.T) {
	checkGoroutines(t)
	big := "4" + strings.Repeat("x", 2000)
	for _, tc := range []struct {
		name  string
		opts  *Options
		offer string
	}{
		{"off by default", slowHeartbeat(), "permessage-deflate; client_max_window_bits"},
		{"no offer", &Options{PerMessageDeflate: &PerMessageDeflate{}}, ""},
		{"small server window", &Options{PerMessageDeflate: &PerMessageDeflate{}}, "permessage-deflate; server_max_window_bits=9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			res, c := rawHandshake(t, e, map[string]string{"Sec-WebSocket-Extensions": tc.offer})
			if c == nil {
				t.Fatalf("status %d", res.StatusCode)
			}
			if v, ok := res.Header["Sec-Websocket-Extensions"]; ok {
				t.Fatalf("Sec-WebSocket-Extensions %q, want none", v)
			}
			if _, err := c.read(); err != nil {
				t.Fatal(err)
			}
			c.write(textFrame(big))
			if f, err := c.read(); err != nil || f != (srvFrame{opText, big}) {
				t.Fatalf("echo: %v, %v", f, err)
			}
			// RSV1 without the extension is a protocol error.
			c.write(rsv1Frame(true, opText, deflateBytes(t, []byte("4hi"))))
			if f, err := c.read(); err != nil || f.op != opClose || binary.BigEndian.Uint16([]byte(f.payload)) != closeCodeProtocolError {
				t.Fatalf("RSV1 without the extension: %v, %v", f, err)
			}
		})
	}
}

// A frame queued on many sessions is compressed once: they share its
// compressed payload.
func TestDeflateSharedFrame(t *testing.T) {
	checkGoroutines(t)
	e := deflateEnv(t, 0)
	a, b := dialDeflate(t, e), dialDeflate(t, e)
	msg := strings.Repeat(`{"room":"general","text":"hello everyone"}`, 40)
	f := NewFrame([]byte(msg), false)
	for _, id := range sessionIDs(e.srv) {
		e.srv.Session(id).SendFrame(f)
	}
	for _, c := range []*rawWS{a, b} {
		if got, z := c.readInflated(); !z || got.payload != "4"+msg {
			t.Fatalf("compressed %v, %d bytes", z, len(got.payload))
		}
	}
	first := f.deflatedPayload(e.srv.deflate)
	if first == nil || len(first) >= len(msg) {
		t.Fatalf("compressed payload of %d bytes", len(first))
	}
	if &f.deflatedPayload(e.srv.deflate)[0] != &first[0] {
		t.Fatal("the compressed payload was computed again")
	}
}

// The gorilla client (permessage-deflate without context takeover on
// either side) exchanges compressed messages with the server, text and
// binary, byte-identical after inflating.
func TestDeflateGorillaClient(t *testing.T) {
	checkGoroutines(t)
	e := deflateEnv(t, -1)
	d := websocket.Dialer{EnableCompression: true}
	c, res, err := d.Dial(e.wsURL("EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := res.Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(got, "permessage-deflate") {
		t.Fatalf("Sec-WebSocket-Extensions %q", got)
	}
	readMsg(t, c) // open packet
	c.EnableWriteCompression(true)
	text := "4" + strings.Repeat("éàü chat ", 300)
	bin := bytes.Repeat([]byte{0, 1, 2, 3, 250}, 700)
	mustWrite(t, c, websocket.TextMessage, text)
	mustWrite(t, c, websocket.BinaryMessage, string(bin))
	if mt, got := readMsg(t, c); mt != websocket.TextMessage || got != text {
		t.Fatalf("text echo: type %d, %d bytes", mt, len(got))
	}
	if mt, got := readMsg(t, c); mt != websocket.BinaryMessage || got != string(bin) {
		t.Fatalf("binary echo: type %d, %d bytes", mt, len(got))
	}
}

// FuzzInflate feeds arbitrary compressed payloads to the decompressor:
// it must never panic nor return more than the limit, and what the
// server compresses comes back unchanged.
func FuzzInflate(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, false)
	f.Add([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}, true)
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00}, false)
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, false)
	f.Add([]byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, true)
	f.Add([]byte{}, false)
	f.Add([]byte{0x00}, false)
	cfg := newDeflateConfig(&PerMessageDeflate{Threshold: -1})
	f.Fuzz(func(t *testing.T, data []byte, dict bool) {
		const limit = 4096
		var d []byte
		if dict {
			d = []byte("Hello")
		}
		out, release, err := inflate(data, d, limit)
		if err == nil {
			if len(out) > limit {
				t.Fatalf("%d bytes inflated, limit %d", len(out), limit)
			}
			release()
		} else if err != errTooBig && err != errBadDeflate {
			t.Fatalf("error %v", err)
		}
		if z := cfg.compress(data); z != nil {
			back, release, err := inflate(z, nil, int64(len(data)))
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("round trip of %q: %v, %q", data, err, back)
			}
			release()
		}
	})
}

// FuzzDeflateFrames parses arbitrary client byte streams with the
// extension negotiated (context takeover on or off): no panic, no
// message over the limit, and every error a frameError with a close code.
func FuzzDeflateFrames(f *testing.F) {
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	f.Add(rsv1Frame(true, opText, hello), false)
	f.Add(concat(rsv1Frame(false, opText, hello[:3]), clientFrame(true, opContinuation, hello[3:])), false)
	f.Add(concat(rsv1Frame(true, opText, hello), rsv1Frame(true, opText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00})), true)
	f.Add(rsv1Frame(true, opBinary, deflateBytes(f, make([]byte, 5000))), false)
	f.Add(rsv1Frame(true, opPing, nil), false)
	f.Fuzz(func(t *testing.T, stream []byte, takeover bool) {
		p := &frameParser{max: 1000, deflate: true, takeover: takeover}
		sink := &limitSink{t: t, max: 1000}
		err := feed(p, sink, stream, 7)
		var fe *frameError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("error %v is not a frameError", err)
		}
		if len(p.hist) > deflateWindow {
			t.Fatalf("history of %d bytes", len(p.hist))
		}
	})
}

// limitSink fails on a message over max bytes.
type limitSink struct {
	t   *testing.T
	max int
}

func (s *limitSink) message(_ byte, p []byte) bool {
	if len(p) > s.max {
		s.t.Fatalf("message of %d bytes, limit %d", len(p), s.max)
	}
	return true
}
func (s *limitSink) control(op byte, _ []byte) bool { return op != opClose }

// keepHistory keeps the last 32 KiB of what was inflated.
func TestKeepHistory(t *testing.T) {
	var h []byte
	var all []byte
	for i := range 50 {
		msg := bytes.Repeat([]byte{byte(i)}, 1500+i*37)
		all = append(all, msg...)
		h = keepHistory(h, msg)
		want := all[max(0, len(all)-deflateWindow):]
		if !bytes.Equal(h, want) {
			t.Fatalf("after %d messages: %d bytes of history, want %d", i+1, len(h), len(want))
		}
	}
	if h = keepHistory(h, make([]byte, 40000)); len(h) != deflateWindow {
		t.Fatalf("%d bytes after a large message", len(h))
	}
}

var _ io.ByteReader = (*inflateSource)(nil)

// FuzzNegotiateDeflate answers arbitrary Sec-WebSocket-Extensions
// values: no panic, and an accepted offer's response parses as one
// permessage-deflate extension.
func FuzzNegotiateDeflate(f *testing.F) {
	for _, seed := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		`permessage-deflate; server_max_window_bits="15", permessage-deflate`,
		"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=9",
		"permessage-deflate;;",
	} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, offer string, takeover bool) {
		cfg := newDeflateConfig(&PerMessageDeflate{ClientContextTakeover: takeover})
		resp, _, ok := negotiateDeflate([]string{offer}, cfg)
		if !ok {
			return
		}
		exts, valid := parseExtensions(resp)
		if !valid || len(exts) != 1 || exts[0].name != deflateExtension {
			t.Fatalf("offer %q: response %q", offer, resp)
		}
	})
}

// A polling response made only of uncompressed frames is not
// HTTP-compressed (the reference's compress: false); one with any other
// frame is, above CompressionThreshold.
func TestPollingUncompressedFrames(t *testing.T) {
	checkGoroutines(t)
	e := newEnv(t, slowHeartbeat())
	sid := e.handshake(t)
	sess := e.srv.Session(sid)
	big := []byte(strings.Repeat("x", 2000))
	gzip := map[string]string{"Accept-Encoding": "gzip"}
	get := func() resp { return e.do(t, "GET", e.url("EIO=4&transport=polling&sid="+sid), "", gzip) }

	sess.SendFrame(NewUncompressedFrame(big, false))
	sess.SendFrame(NewUncompressedFrame(big, true))
	if r := get(); r.header.Get("Content-Encoding") != "" {
		t.Fatalf("uncompressed frames: Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
	sess.SendFrame(NewUncompressedFrame(big, false))
	sess.SendFrame(NewFrame(big, false))
	if r := get(); r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("with a compressible frame: Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
}
