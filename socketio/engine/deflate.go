package engine

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
)

// The permessage-deflate extension (RFC 7692).
//
// The server never uses context takeover: each message it sends is
// compressed on its own, so that the compressed payload of a frame is
// computed once and shared by every session the frame is queued on (a
// broadcast compresses once, whatever the number of recipients), and so
// that a connection keeps no compressor between messages. The client's
// messages are inflated with a pooled decompressor; unless
// PerMessageDeflate.ClientContextTakeover is set, the server answers
// every offer with client_no_context_takeover, and a connection keeps no
// window between messages either.

// deflateExtension is the extension's token.
const deflateExtension = "permessage-deflate"

// deflateWindow is the LZ77 window of compress/flate (15 bits), the only
// one it compresses with, and the most history a message may refer to.
const deflateWindow = 1 << 15

// deflateTail ends a message's compressed payload for the decompressor:
// the four octets the sender removed (RFC 7692 section 7.2.2), then an
// empty final stored block, so that the decompressor reports io.EOF at
// the end of the message instead of waiting for more input.
const deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

// PerMessageDeflate configures WebSocket compression (RFC 7692
// permessage-deflate, the reference's perMessageDeflate option). The
// extension is negotiated with clients that offer it; text and binary
// messages at least Threshold bytes long are then sent compressed,
// unless they were created uncompressed (NewUncompressedFrame, the
// Socket.IO layer's Compress(false)). Control frames are never
// compressed.
//
// The server compresses each message on its own (no context takeover):
// the compressed payload is shared by every recipient of a broadcast and
// computed once, and an idle connection holds no compressor. The
// trade-off is a lower ratio on small messages, which cannot refer to the
// previous ones.
type PerMessageDeflate struct {
	// Threshold is the smallest payload, in bytes, that is compressed.
	// Defaults to 1024 (as in the reference); a negative value compresses
	// every message (a message that would not shrink is still sent
	// uncompressed).
	Threshold int
	// Level is the compress/flate level, 1 (flate.BestSpeed) to 9
	// (flate.BestCompression), or flate.HuffmanOnly. Defaults to 0, which
	// means flate.DefaultCompression.
	Level int
	// ClientContextTakeover lets clients compress each message with the
	// previous ones as a dictionary (better ratios for small client
	// messages): the server then keeps up to 32 KiB of history per
	// connection. Defaults to false: the response to every offer carries
	// client_no_context_takeover, and a connection keeps nothing between
	// messages.
	ClientContextTakeover bool
}

// deflateConfig is the server's compression state: the options with
// defaults, and the pool of compressors.
type deflateConfig struct {
	threshold       int
	level           int
	clientTakeover  bool
	compressorsPool sync.Pool // *compressor
}

func newDeflateConfig(o *PerMessageDeflate) *deflateConfig {
	if o == nil {
		return nil
	}
	c := &deflateConfig{threshold: o.Threshold, level: o.Level, clientTakeover: o.ClientContextTakeover}
	switch {
	case c.threshold == 0:
		c.threshold = 1024
	case c.threshold < 0:
		c.threshold = 0
	}
	if c.level == 0 {
		c.level = flate.DefaultCompression
	}
	if c.level < flate.HuffmanOnly || c.level > flate.BestCompression {
		panic("engine: PerMessageDeflate.Level out of range (flate.HuffmanOnly to flate.BestCompression)")
	}
	return c
}

// compressor is a pooled flate writer with its output buffer.
type compressor struct {
	w   *flate.Writer
	buf bytes.Buffer
}

// maxPooledBuffer bounds the buffers kept in pools, so that one large
// message does not keep a large buffer alive.
const maxPooledBuffer = 64 << 10

// compress returns p compressed as one permessage-deflate message (a
// sync-flushed DEFLATE stream without its last four octets), or nil when
// that would not be smaller than p.
func (c *deflateConfig) compress(p []byte) []byte {
	return c.compressTo(p, true)
}

// compressTo is compress; with smaller false it returns the compressed
// form whatever its size.
func (c *deflateConfig) compressTo(p []byte, smaller bool) []byte {
	z, _ := c.compressorsPool.Get().(*compressor)
	if z == nil {
		z = &compressor{}
		z.w, _ = flate.NewWriter(&z.buf, c.level) // the level was checked
	}
	z.buf.Reset()
	z.w.Reset(&z.buf)
	_, _ = z.w.Write(p) // a bytes.Buffer does not fail
	_ = z.w.Flush()
	out := bytes.TrimSuffix(z.buf.Bytes(), []byte(deflateTail[:4]))
	var res []byte
	if len(out) < len(p) || !smaller {
		res = bytes.Clone(out)
	}
	if z.buf.Cap() > maxPooledBuffer {
		z.buf = bytes.Buffer{}
	}
	c.compressorsPool.Put(z)
	return res
}

// inflateSource feeds a decompressor a message's payload then
// deflateTail. It implements io.ByteReader so that compress/flate reads
// it directly instead of through a bufio.Reader of its own.
type inflateSource struct {
	p    []byte
	tail int // bytes of deflateTail already read
}

func (r *inflateSource) Read(b []byte) (int, error) {
	if len(r.p) > 0 {
		n := copy(b, r.p)
		r.p = r.p[n:]
		return n, nil
	}
	if r.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(b, deflateTail[r.tail:])
	r.tail += n
	return n, nil
}

func (r *inflateSource) ReadByte() (byte, error) {
	if len(r.p) > 0 {
		c := r.p[0]
		r.p = r.p[1:]
		return c, nil
	}
	if r.tail == len(deflateTail) {
		return 0, io.EOF
	}
	c := deflateTail[r.tail]
	r.tail++
	return c, nil
}

// decompressor is a pooled flate reader with its source and output buffer.
type decompressor struct {
	src inflateSource
	r   io.ReadCloser // implements flate.Resetter
	out []byte
}

var decompressorPool sync.Pool // *decompressor

// inflate decompresses one message's payload, with dict as the history
// it may refer to (nil without context takeover). The result is in a
// pooled buffer, valid until release is called. A result over maxSize bytes
// fails with errTooBig: the decompressor stops there, so a small payload
// that would inflate to much more (a zip bomb) costs no more than maxSize.
func inflate(payload, dict []byte, maxSize int64) (out []byte, release func(), err error) {
	d, _ := decompressorPool.Get().(*decompressor)
	if d == nil {
		d = &decompressor{}
		d.src = inflateSource{p: payload}
		d.r = flate.NewReaderDict(&d.src, dict)
	} else {
		d.src = inflateSource{p: payload}
		_ = d.r.(flate.Resetter).Reset(&d.src, dict)
	}
	release = func() {
		d.src = inflateSource{}
		if cap(d.out) > maxPooledBuffer {
			d.out = nil
		}
		decompressorPool.Put(d)
	}
	limit := int(min(maxSize, 1<<62)) + 1 // one byte more than allowed: reaching it means too big
	buf := d.out[:0]
	for {
		if len(buf) == cap(buf) {
			n := min(max(2*cap(buf), 512), limit)
			nb := make([]byte, len(buf), n)
			copy(nb, buf)
			buf = nb
		}
		n, rerr := d.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) >= limit {
			d.out = buf
			release()
			return nil, nil, errTooBig
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			d.out = buf
			release()
			return nil, nil, errBadDeflate
		}
	}
	d.out = buf
	return buf, release, nil
}

// keepHistory returns the history a client using context takeover may
// refer to in its next message: the last 32 KiB of hist followed by msg,
// in hist's array when it is large enough.
func keepHistory(hist, msg []byte) []byte {
	if len(msg) >= deflateWindow {
		return append(hist[:0], msg[len(msg)-deflateWindow:]...)
	}
	if drop := len(hist) + len(msg) - deflateWindow; drop > 0 {
		hist = hist[:copy(hist, hist[drop:])]
	}
	return append(hist, msg...)
}

// deflateParams are the parameters of an accepted offer that matter to
// the connection.
type deflateParams struct {
	clientTakeover bool // the client may use context takeover
}

// negotiateDeflate picks the first permessage-deflate offer of the
// client's Sec-WebSocket-Extensions header lines that the server can
// honour (RFC 7692 section 7.1) and returns the response's extension
// header value; ok is false when no offer is acceptable, and the
// connection is then not compressed. An offer is declined when it has
// an unknown or repeated parameter, a parameter with an invalid value,
// or server_max_window_bits below 15 (compress/flate compresses with a
// 32 KiB window only). The server's messages never use context takeover
// (it answers server_no_context_takeover when offered); the client is
// asked for client_no_context_takeover unless the configuration allows
// context takeover.
func negotiateDeflate(lines []string, c *deflateConfig) (response string, params deflateParams, ok bool) {
	offers, valid := parseExtensions(strings.Join(lines, ","))
	if !valid {
		return "", deflateParams{}, false
	}
offers:
	for _, o := range offers {
		if !strings.EqualFold(o.name, deflateExtension) {
			continue
		}
		var seen [4]bool
		var serverNoTakeover, clientNoTakeover, serverBits bool
		for _, p := range o.params {
			i := -1
			switch strings.ToLower(p.name) {
			case "server_no_context_takeover":
				i = 0
				if p.hasValue {
					continue offers
				}
				serverNoTakeover = true
			case "client_no_context_takeover":
				i = 1
				if p.hasValue {
					continue offers
				}
				clientNoTakeover = true
			case "server_max_window_bits":
				i = 2
				bits, okBits := windowBits(p.value)
				if !p.hasValue || !okBits || bits != 15 {
					continue offers
				}
				serverBits = true
			case "client_max_window_bits":
				i = 3
				// Any window the client uses is one the decompressor
				// handles: the parameter needs no answer.
				if p.hasValue {
					if _, okBits := windowBits(p.value); !okBits {
						continue offers
					}
				}
			default:
				continue offers
			}
			if seen[i] {
				continue offers
			}
			seen[i] = true
		}
		var b strings.Builder
		b.WriteString(deflateExtension)
		if serverNoTakeover {
			b.WriteString("; server_no_context_takeover")
		}
		takeover := c.clientTakeover && !clientNoTakeover
		if !takeover {
			b.WriteString("; client_no_context_takeover")
		}
		if serverBits {
			b.WriteString("; server_max_window_bits=15")
		}
		return b.String(), deflateParams{clientTakeover: takeover}, true
	}
	return "", deflateParams{}, false
}

// windowBits parses a window size parameter value: 8 to 15, in decimal
// without leading zeros.
func windowBits(v string) (int, bool) {
	switch len(v) {
	case 1:
		if v[0] >= '8' && v[0] <= '9' {
			return int(v[0] - '0'), true
		}
	case 2:
		if v[0] == '1' && v[1] >= '0' && v[1] <= '5' {
			return 10 + int(v[1]-'0'), true
		}
	}
	return 0, false
}

// extension is one element of a Sec-WebSocket-Extensions header.
type extension struct {
	name   string
	params []extParam
}

// extParam is one parameter of an extension; value is unquoted.
type extParam struct {
	name     string
	value    string
	hasValue bool
}

// parseExtensions parses a Sec-WebSocket-Extensions value (RFC 6455
// section 9.1: extension *( ";" param [ "=" ( token / quoted-string ) ] ),
// comma-separated, empty elements allowed). ok is false when it is
// malformed.
func parseExtensions(h string) (exts []extension, ok bool) {
	i := 0
	skipSpace := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
	}
	token := func() string {
		start := i
		for i < len(h) && isTokenChar(h[i]) {
			i++
		}
		return h[start:i]
	}
	for {
		skipSpace()
		if i == len(h) {
			return exts, true
		}
		if h[i] == ',' {
			i++
			continue
		}
		name := token()
		if name == "" {
			return nil, false
		}
		e := extension{name: name}
		for {
			skipSpace()
			if i == len(h) || h[i] == ',' {
				break
			}
			if h[i] != ';' {
				return nil, false
			}
			i++
			skipSpace()
			p := extParam{name: token()}
			if p.name == "" {
				return nil, false
			}
			skipSpace()
			if i < len(h) && h[i] == '=' {
				i++
				skipSpace()
				p.hasValue = true
				if i < len(h) && h[i] == '"' {
					i++
					var v strings.Builder
					for {
						if i == len(h) {
							return nil, false
						}
						c := h[i]
						i++
						if c == '"' {
							break
						}
						if c == '\\' {
							if i == len(h) {
								return nil, false
							}
							c = h[i]
							i++
						}
						v.WriteByte(c)
					}
					p.value = v.String()
					// RFC 6455 section 9.1: a quoted value must be a token
					// once unquoted.
					for j := 0; j < len(p.value); j++ {
						if !isTokenChar(p.value[j]) {
							return nil, false
						}
					}
					if p.value == "" {
						return nil, false
					}
				} else if p.value = token(); p.value == "" {
					return nil, false
				}
			}
			e.params = append(e.params, p)
		}
		exts = append(exts, e)
	}
}

// isTokenChar reports whether c may appear in an HTTP token.
func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c))
}
