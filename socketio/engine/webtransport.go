package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// WebTransport framing (engine.io-parser's packet encoder and decoder
// streams): every packet on the stream is a header, then the payload.
// The header's first byte has the binary flag in its high bit and a
// 7-bit length: below 126 it is the payload length; 126 means a 16-bit
// big-endian length follows; 127 a 64-bit one. A text packet's payload
// is its UTF-8 encoding ("<type><data>"); a binary message's payload is
// the data itself (the packet type, message, is implied).
const (
	wtBinaryFlag = 0x80
	wtLen16      = 126
	wtLen64      = 127
	// wtMaxHeader is the largest header: the first byte and 8 length bytes.
	wtMaxHeader = 9
)

// errWTFrame is a malformed WebTransport frame: an empty payload (which
// the reference decoder refuses too), a length beyond the limit, or a
// text payload that is not UTF-8.
var errWTFrame = errors.New("engine: malformed webtransport frame")

// AppendWebTransportFrame appends one packet in the WebTransport framing
// to dst: the header for a payload of len(payload) bytes, binary or text,
// then payload.
func AppendWebTransportFrame(dst, payload []byte, binary bool) []byte {
	return append(appendWTHeader(dst, len(payload), binary), payload...)
}

// appendWTHeader appends the WebTransport frame header of an n-byte
// payload.
func appendWTHeader(dst []byte, n int, bin bool) []byte {
	var flag byte
	if bin {
		flag = wtBinaryFlag
	}
	switch {
	case n < wtLen16:
		return append(dst, flag|byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, flag|wtLen16), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, flag|wtLen64), uint64(n))
	}
}

// ParseWebTransportFrame reads the frame at the start of b. It returns
// the payload (aliasing b), whether it is binary, and the size of the
// whole frame; n is 0 when b holds only part of the frame, and need is
// then the size of the frame once its header is complete (else 0). A
// payload larger than max bytes, an empty one, and a text payload that is
// not valid UTF-8 are errors.
func ParseWebTransportFrame(b []byte, max int64) (payload []byte, bin bool, n, need int, err error) {
	if len(b) == 0 {
		return nil, false, 0, 0, nil
	}
	bin = b[0]&wtBinaryFlag != 0
	size := uint64(b[0] &^ wtBinaryFlag)
	hlen := 1
	switch size {
	case wtLen16:
		if len(b) < 3 {
			return nil, false, 0, 0, nil
		}
		size, hlen = uint64(binary.BigEndian.Uint16(b[1:3])), 3
	case wtLen64:
		if len(b) < wtMaxHeader {
			return nil, false, 0, 0, nil
		}
		size, hlen = binary.BigEndian.Uint64(b[1:wtMaxHeader]), wtMaxHeader
	}
	if size == 0 {
		return nil, false, 0, 0, fmt.Errorf("%w: empty payload", errWTFrame)
	}
	if max > 0 && size > uint64(max) || size > uint64(maxInt-hlen) {
		return nil, false, 0, 0, fmt.Errorf("%w: payload of %d bytes over the limit", errWTFrame, size)
	}
	total := hlen + int(size)
	if len(b) < total {
		return nil, false, 0, total, nil
	}
	payload = b[hlen:total]
	if !bin && !utf8.Valid(payload) {
		return nil, false, 0, 0, fmt.Errorf("%w: text payload is not UTF-8", errWTFrame)
	}
	return payload, bin, total, 0, nil
}

const maxInt = int(^uint(0) >> 1)

// decodeWTPacket turns a frame payload into a packet.
func decodeWTPacket(payload []byte, bin bool) (Packet, error) {
	if bin {
		return Packet{Type: PacketMessage, Data: payload, Binary: true}, nil
	}
	return DecodePacket(payload, false)
}

// WebTransportStream is the bidirectional stream of a WebTransport
// session that carries an Engine.IO session, as the HTTP/3 layer hands it
// to ServeWebTransport (package socketio/h3 adapts webtransport-go's).
type WebTransportStream interface {
	io.Reader
	io.Writer
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// CloseWrite ends the sending side of the stream: the peer reads
	// the end of the stream after what was written.
	CloseWrite() error
	// Close ends the whole WebTransport session.
	Close() error
}

// CheckOrigin applies the CORS origin rule (Options.CORS) to a request
// that does not go through ServeHTTP, such as the CONNECT request of a
// WebTransport session: without CORS, or without an Origin header, any
// origin passes.
func (s *Server) CheckOrigin(r *http.Request) bool {
	if s.opts.CORS == nil {
		return true
	}
	origin := r.Header.Get("Origin")
	return origin == "" || s.originAllowed(origin, r)
}

// ServeWebTransport serves an Engine.IO session on st, the first
// bidirectional stream of a WebTransport session whose CONNECT request
// was r. The client's first packet is an open packet: without data it
// starts a new session (the server answers with its own open packet, as
// on a WebSocket handshake; Options.AllowRequest is applied to r); with
// {"sid":"..."} it upgrades that live polling session (probe, then the
// upgrade packet, as for WebSocket). ServeWebTransport waits at most
// Options.UpgradeTimeout for that packet, then returns; the session goes
// on on a goroutine of its own. It returns an error, and closes st, when
// the stream is refused: WebTransport not in Options.Transports, a bad
// first packet, an unknown sid, a refused request.
func (s *Server) ServeWebTransport(st WebTransportStream, r *http.Request) error {
	refuse := func(err error) error {
		_ = st.Close()
		s.opts.Logger.Debug("engine.io webtransport refused", "err", err, "remote", r.RemoteAddr)
		return err
	}
	if !slices.Contains(s.opts.Transports, TransportWebTransport) {
		return refuse(errors.New("engine: webtransport is not in Options.Transports"))
	}
	nc := &wtNetConn{st: st, r: r}
	c := &wsConn{nc: nc, wt: true}
	// The open packet: read it with a deadline.
	_ = st.SetReadDeadline(time.Now().Add(s.opts.UpgradeTimeout))
	buf := make([]byte, 0, 512)
	var first Packet
	for {
		payload, bin, n, need, err := ParseWebTransportFrame(buf, s.opts.MaxPayload)
		if err != nil {
			return refuse(err)
		}
		if n > 0 {
			if bin {
				return refuse(errors.New("engine: webtransport handshake is not an open packet"))
			}
			if first, err = decodeWTPacket(payload, bin); err != nil {
				return refuse(err)
			}
			// Keep what follows the open packet for the reader.
			first.Data = append([]byte(nil), first.Data...)
			buf = buf[:copy(buf, buf[n:])]
			break
		}
		buf = growFor(buf, need)
		m, err := st.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			return refuse(fmt.Errorf("engine: reading the webtransport handshake: %w", err))
		}
	}
	if first.Type != PacketOpen {
		return refuse(errors.New("engine: webtransport handshake is not an open packet"))
	}
	if len(first.Data) == 0 {
		return s.serveWebTransportHandshake(c, r, buf, refuse)
	}
	sid, err := parseWTSid(first.Data)
	if err != nil {
		return refuse(err)
	}
	s.mu.Lock()
	sess := s.sessions[sid]
	s.mu.Unlock()
	if sess == nil {
		return refuse(errors.New("engine: webtransport upgrade for an unknown sid"))
	}
	c.s = sess
	sess.mu.Lock()
	if sess.closed || s.opts.DisableUpgrades || sess.v3 || sess.ws != nil || sess.upg != nil {
		sess.mu.Unlock()
		return refuse(errors.New("engine: webtransport upgrade refused (session closed, upgrading or upgraded)"))
	}
	sess.upg = c
	sess.upgTimer = time.AfterFunc(s.opts.UpgradeTimeout, func() { sess.cancelUpgrade(c) })
	sess.mu.Unlock()
	go c.wtReadLoop(buf)
	return nil
}

// serveWebTransportHandshake opens a new session on a WebTransport
// stream whose open packet has been read; rest is what followed it.
func (s *Server) serveWebTransportHandshake(c *wsConn, r *http.Request, rest []byte, refuse func(error) error) error {
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			return refuse(fmt.Errorf("engine: webtransport request refused: %w", err))
		}
	}
	sess := s.register(r, TransportWebTransport, reqQuery{eio: "4", transport: TransportWebTransport})
	if sess == nil {
		return refuse(errors.New("engine: server closed"))
	}
	c.s = sess
	sess.mu.Lock()
	sess.ws = c
	sess.mu.Unlock()
	if s.open(sess, nil) {
		go c.wtReadLoop(rest)
	}
	return nil
}

// parseWTSid reads the sid of an upgrade's open packet, {"sid":"..."}.
func parseWTSid(data []byte) (string, error) {
	var v struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(data, &v); err != nil || v.SID == "" {
		return "", errors.New("engine: webtransport handshake: bad open packet data")
	}
	return v.SID, nil
}

// wtReadLoop reads the stream of a WebTransport connection until it
// fails or ends, starting with the bytes already read (buf). A stream
// silent for longer than a heartbeat round is dropped.
func (c *wsConn) wtReadLoop(buf []byte) {
	opts := &c.s.srv.opts
	idle := opts.PingInterval + opts.PingTimeout + time.Second
	discard := false
	need := 0
	for {
		for !discard && len(buf) > 0 {
			payload, bin, n, nd, err := ParseWebTransportFrame(buf, opts.MaxPayload)
			if err != nil {
				c.readFailed(ReasonParseError, 0)
				discard = true
				break
			}
			if n == 0 {
				need = nd
				break
			}
			p, err := decodeWTPacket(payload, bin)
			if err != nil {
				c.readFailed(ReasonParseError, 0)
				discard = true
				break
			}
			if !c.onPacket(p) {
				c.s.mu.Lock()
				c.finishLocked(closeCodeNormal)
				c.s.mu.Unlock()
				discard = true
				break
			}
			buf = buf[:copy(buf, buf[n:])]
			need = 0
		}
		if discard {
			buf, need = buf[:0], 0
		}
		buf = growFor(buf, need)
		_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if !discard {
				c.readFailed(readErrReason(err), 0)
			}
			c.peerGone()
			return
		}
	}
}

// transportName is the session transport c stands for.
func (c *wsConn) transportName() string {
	if c.wt {
		return TransportWebTransport
	}
	return TransportWebSocket
}

// wtNetConn presents a WebTransportStream as the net.Conn a wsConn
// writes to.
type wtNetConn struct {
	st WebTransportStream
	r  *http.Request
}

func (w *wtNetConn) Read(b []byte) (int, error)         { return w.st.Read(b) }
func (w *wtNetConn) Write(b []byte) (int, error)        { return w.st.Write(b) }
func (w *wtNetConn) Close() error                       { return w.st.Close() }
func (w *wtNetConn) CloseWrite() error                  { return w.st.CloseWrite() }
func (w *wtNetConn) LocalAddr() net.Addr                { return wtAddr("") }
func (w *wtNetConn) RemoteAddr() net.Addr               { return wtAddr(w.r.RemoteAddr) }
func (w *wtNetConn) SetReadDeadline(t time.Time) error  { return w.st.SetReadDeadline(t) }
func (w *wtNetConn) SetWriteDeadline(t time.Time) error { return w.st.SetWriteDeadline(t) }
func (w *wtNetConn) SetDeadline(t time.Time) error {
	return errors.Join(w.st.SetReadDeadline(t), w.st.SetWriteDeadline(t))
}

// wtAddr is the address of a WebTransport peer, as the request gave it.
type wtAddr string

func (a wtAddr) Network() string { return "udp" }
func (a wtAddr) String() string  { return string(a) }
