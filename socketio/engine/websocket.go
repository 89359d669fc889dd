package engine

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chatd/chatd/socketio/internal/eio"
	"github.com/chatd/chatd/socketio/internal/workers"
)

// WebSocket close codes the server sends.
const (
	closeCodeNormal    = 1000
	closeCodeGoingAway = 1001
	closeCodeTooBig    = 1009
)

// Maximum size of a server-side (unmasked) WebSocket frame header.
const maxFrameHeader = 10

// closeLinger bounds how long a connection stays open after the server's
// close frame: the engine half-closes it and reads (and drops) what the
// peer still sends until the peer closes its side, so that bytes the peer
// sent before it read the close frame (the rest of a message over
// MaxPayload, its own close frame) do not make the server's TCP stack
// reset the connection and discard the close frame on the peer's side.
const closeLinger = 2 * time.Second

// ctrlFrame is a WebSocket control frame waiting for the writer.
type ctrlFrame struct {
	op      byte
	payload []byte
}

// wsConn is one WebSocket connection of a session. The engine performs
// the handshake (acceptWebSocket) and reads and writes frames itself, so
// that an idle connection holds no goroutine and no buffer: on Linux the
// poller reports when a connection has data, and a goroutine reads what
// has arrived, then exits (see readReady). Elsewhere, and on connections
// that are not plain TCP (TLS), one goroutine per connection reads
// (readLoop).
type wsConn struct {
	s   *Session
	nc  net.Conn        // the hijacked connection
	raw syscall.RawConn // nc's descriptor when the engine writes with writev itself; else nil
	ph  *pollHandle     // the poller registration (set under the session's mu before the first event); nil when read by readLoop

	// Reader state, used by one reader at a time. rsync orders the
	// readers of successive readiness events for the race detector (the
	// epoll re-arm in between is invisible to it).
	parser  frameParser
	pend    []byte // bytes of an incomplete frame, between readiness events
	discard bool   // the connection is ending: what arrives is dropped unparsed
	rsync   atomic.Uint32

	deadline time.Time // the write deadline last set; used by the writer only

	// wt marks a WebTransport stream (webtransport.go) rather than a
	// WebSocket: packets are written with the WebTransport framing, no
	// control frame is sent, and the reader is wtReadLoop. Set before the
	// connection is used.
	wt bool

	// deflate is the server's compression configuration when the
	// connection negotiated permessage-deflate, else nil. Set before the
	// connection is used.
	deflate *deflateConfig

	// Guarded by the session's mu.
	head      []byte      // the handshake response, not yet written
	spare     []*Frame    // an empty queue array to swap in, for reuse
	ctrl      []ctrlFrame // pongs, queued by the reader
	pre       []*Frame    // packets for this connection only ("3probe")
	writing   bool        // the writer goroutine is running
	finish    bool        // write a close frame after the queue, then close
	finishMsg []byte      // close frame payload
	closeSent bool        // the close frame is written; the connection lingers (closeLinger)
	peerEOF   bool        // the peer closed its side (or reading failed)
	linger    *time.Timer // closes a lingering connection
	dead      bool        // the connection is closed
}

// readBufSize is the size of the pooled buffers that readiness-driven
// readers read into; a frame larger than that gets a buffer of its size.
const readBufSize = 8 << 10

// readBufPool holds read buffers (*[]byte of readBufSize).
var readBufPool = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// upgrade performs the WebSocket handshake and wraps the connection. The
// handshake response waits in the wsConn until its writer first runs, so
// that it goes out with the first frames (the open packet) in one system
// call.
//
// With Options.PerMessageDeflate, the first acceptable permessage-deflate
// offer of the request is answered and the connection compresses.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, sess *Session, hdr http.Header) *wsConn {
	var params deflateParams
	deflate := false
	if s.deflate != nil {
		if offers := r.Header.Values("Sec-Websocket-Extensions"); len(offers) > 0 {
			var resp string
			if resp, params, deflate = negotiateDeflate(offers, s.deflate); deflate {
				hdr.Set("Sec-Websocket-Extensions", resp)
			}
		}
	}
	nc, head, err := acceptWebSocket(w, r, hdr)
	if err != nil {
		s.stats.wsHandshakeFailures.Add(1)
		s.opts.Logger.Debug("engine.io websocket handshake failed", "err", err)
		return nil
	}
	c := &wsConn{s: sess, nc: nc, raw: rawConnOf(nc), head: head}
	c.parser.max = s.opts.MaxPayload
	if deflate {
		c.deflate = s.deflate
		c.parser.deflate = true
		c.parser.takeover = params.clientTakeover
	}
	return c
}

// wsGUID is appended to the client's key to compute Sec-WebSocket-Accept
// (RFC 6455 section 4.2.2).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptWebSocket checks an opening handshake the caller has already
// recognized as a WebSocket upgrade (websocket.IsWebSocketUpgrade),
// hijacks the connection and returns it with the 101 response to send
// (not sent yet). A bad handshake gets the response gorilla's Upgrader
// gives: 405 for a method other than GET, 400 for a missing or bad
// Sec-WebSocket-Key or a version other than 13. No subprotocol is
// negotiated; an extension is, when the caller put its response in hdr.
func acceptWebSocket(w http.ResponseWriter, r *http.Request, hdr http.Header) (net.Conn, []byte, error) {
	fail := func(status int, reason string) (net.Conn, []byte, error) {
		w.Header().Set("Sec-Websocket-Version", "13")
		http.Error(w, http.StatusText(status), status)
		return nil, nil, errors.New("websocket: " + reason)
	}
	if r.Method != http.MethodGet {
		return fail(http.StatusMethodNotAllowed, "request method is not GET")
	}
	if r.Header.Get("Sec-Websocket-Version") != "13" {
		return fail(http.StatusBadRequest, "unsupported version: 13 not found in 'Sec-Websocket-Version' header")
	}
	key := r.Header.Get("Sec-Websocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return fail(http.StatusBadRequest, "'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length")
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fail(http.StatusInternalServerError, "hijack: "+err.Error())
	}
	if brw.Reader.Buffered() > 0 {
		_ = nc.Close()
		return nil, nil, errors.New("websocket: client sent data before handshake is complete")
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	b := make([]byte, 0, 160)
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = base64.StdEncoding.AppendEncode(b, sum[:])
	b = append(b, "\r\n"...)
	for k, vs := range hdr {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			for i := 0; i < len(v); i++ {
				c := v[i]
				if c <= 31 { // no header injection through a value
					c = ' '
				}
				b = append(b, c)
			}
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	return nc, b, nil
}

// startReading hands the connection to the poller, or to a reader
// goroutine when the poller cannot take it.
func (c *wsConn) startReading() {
	if p := getPoller(); p != nil {
		if h, err := p.register(c, c.raw); err == nil {
			s := c.s
			s.mu.Lock()
			dead := c.dead
			c.ph = h // closeConn unregisters it from now on
			s.mu.Unlock()
			if dead {
				h.unregister()
				return
			}
			c.rsync.Add(1)
			if err := h.arm(c.raw); err == nil {
				return
			}
			h.unregister()
		}
	}
	go c.readLoop()
}

// checkWSOrigin applies the CORS origin rule to a WebSocket handshake.
func (s *Server) checkWSOrigin(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.CORS == nil {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" || s.originAllowed(origin, r) {
		return true
	}
	s.fail(w, r, ErrorForbidden, "")
	return false
}

// serveWebSocketHandshake opens a session directly on WebSocket.
func (s *Server) serveWebSocketHandshake(w http.ResponseWriter, r *http.Request, q reqQuery) {
	if !s.checkWSOrigin(w, r) {
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	// The sid is needed for the cookie before the handshake response, so
	// the session is registered first and dropped if the upgrade fails.
	sess := s.register(r, TransportWebSocket, q)
	if sess == nil {
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	hdr := http.Header{}
	if ck := s.cookie(sess); ck != "" {
		hdr.Set("Set-Cookie", ck)
	}
	s.obs().InitialHeaders(hdr, r)
	s.obs().Headers(hdr, r)
	c := s.upgrade(w, r, sess, hdr)
	if c == nil {
		sess.terminate(ReasonTransportError, closeAbort)
		return
	}
	sess.mu.Lock()
	if sess.closed { // Server.Close ran during the handshake
		c.finishLocked(closeCodeGoingAway)
		sess.mu.Unlock()
		c.drainOnly()
		return
	}
	sess.ws = c
	sess.mu.Unlock()
	if s.open(sess, nil) {
		c.startReading()
	}
}

// serveUpgrade accepts a WebSocket for a live polling session.
//
// A WebSocket for a session that is already upgrading or upgraded (a
// second tab's stale sid, or the official test suite's "ignores WebSocket
// connection with same sid after upgrade") completes its handshake and is
// then closed with an empty close frame, as the reference server does;
// the session and its first WebSocket are not affected. Clients such as
// the ws package report any other answer than 101 as an error.
func (s *Server) serveUpgrade(w http.ResponseWriter, r *http.Request, sess *Session) {
	if !s.checkWSOrigin(w, r) {
		return
	}
	sess.mu.Lock()
	ok := !sess.closed && !s.opts.DisableUpgrades
	sess.mu.Unlock()
	if !ok {
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	hdr := http.Header{}
	s.obs().Headers(hdr, r)
	c := s.upgrade(w, r, sess, hdr)
	if c == nil {
		return
	}
	sess.mu.Lock()
	if sess.closed || sess.ws != nil || sess.upg != nil {
		if sess.closed {
			c.finishLocked(closeCodeGoingAway)
		} else {
			c.finishWithLocked(nil)
		}
		sess.mu.Unlock()
		c.drainOnly() // the writer sends the close frame
		return
	}
	sess.upg = c
	sess.upgTimer = time.AfterFunc(s.opts.UpgradeTimeout, func() { sess.cancelUpgrade(c) })
	c.kickLocked() // the handshake response
	sess.mu.Unlock()
	c.startReading()
}

// cancelUpgrade closes an upgrade WebSocket that did not complete; the
// session goes on with polling.
func (s *Session) cancelUpgrade(c *wsConn) {
	s.mu.Lock()
	if s.upg == c {
		s.srv.stats.upgradeFailures.Add(1)
		s.upg = nil
		s.probed = false
		if s.upgTimer != nil {
			s.upgTimer.Stop()
		}
		s.flushLocked()
	}
	c.finishLocked(closeCodeNormal)
	s.mu.Unlock()
}

// errWouldBlock: a non-blocking read found no data.
var errWouldBlock = errors.New("engine: read would block")

// readReady reads what a connection reported readable by the poller has
// received, without waiting, handles the complete frames, keeps the bytes
// of an incomplete one, and re-arms the connection. It runs on a goroutine
// of its own, one at a time per connection.
func (c *wsConn) readReady() {
	c.rsync.Load()
	if c.discard {
		c.drainReady()
		return
	}
	bp := readBufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	if len(c.pend) > cap(buf) {
		buf = c.pend
	} else {
		buf = append(buf, c.pend...)
	}
	c.pend = nil
	need := 0
	for {
		buf = growFor(buf, need)
		n, err := readNonblock(c.raw, buf[len(buf):cap(buf)])
		if err == errWouldBlock {
			break
		}
		if err != nil {
			readBufPool.Put(bp)
			c.readFailed(readErrReason(err), 0)
			c.peerGone()
			return
		}
		short := len(buf)+n < cap(buf)
		var ok bool
		buf, need, ok = c.consume(buf[:len(buf)+n])
		if !ok {
			readBufPool.Put(bp)
			c.discard = true
			c.drainReady()
			return
		}
		if short {
			// A read that did not fill the buffer has most likely
			// drained the socket: re-arm instead of reading again. The
			// re-arm is level-triggered, so anything that arrived
			// meanwhile still reports at once.
			break
		}
	}
	if len(buf) > 0 {
		if &buf[:1][0] == &(*bp)[:1][0] {
			c.pend = bytes.Clone(buf)
		} else {
			c.pend = buf
		}
	}
	readBufPool.Put(bp)
	c.rsync.Add(1)
	if err := c.ph.rearm(c.raw); err != nil {
		c.readFailed(ReasonTransportError, 0)
		c.peerGone()
	}
}

// drainReady is readReady for a connection that is ending (discard): it
// reads and drops what has arrived, and re-arms the connection until the
// peer closes it.
func (c *wsConn) drainReady() {
	bp := readBufPool.Get().(*[]byte)
	buf := (*bp)[:cap(*bp)]
	for {
		n, err := readNonblock(c.raw, buf)
		if err == errWouldBlock {
			break
		}
		if err != nil {
			readBufPool.Put(bp)
			c.peerGone()
			return
		}
		if n < len(buf) {
			break
		}
	}
	readBufPool.Put(bp)
	c.rsync.Add(1)
	if err := c.ph.rearm(c.raw); err != nil {
		c.closeConn()
	}
}

// drainOnly starts reading a connection that the server refuses after its
// handshake: what the peer sends is dropped, and the connection is closed
// once the peer closes it after the close frame (or closeLinger passes).
func (c *wsConn) drainOnly() {
	c.discard = true
	c.startReading()
}

// peerGone is called by the reader when the peer has closed its side of
// the connection (or reading failed): the connection is closed now if the
// close frame has been written, else by the writer right after it.
func (c *wsConn) peerGone() {
	s := c.s
	s.mu.Lock()
	c.peerEOF = true
	sent := c.closeSent
	s.mu.Unlock()
	if sent {
		c.closeConn()
	}
}

// readLoop reads the connection with a goroutine of its own until it
// fails or is closed, for connections the poller does not take. A
// connection silent for longer than a heartbeat round is dropped.
func (c *wsConn) readLoop() {
	opts := &c.s.srv.opts
	idle := opts.PingInterval + opts.PingTimeout + time.Second
	buf := make([]byte, 0, 4<<10)
	need := 0
	discard := c.discard
	for {
		buf = growFor(buf, need)
		_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		if n > 0 && !discard {
			full := buf[:len(buf)+n]
			var ok bool
			buf, need, ok = c.consume(full)
			if !ok {
				// The connection is ending: drop what comes until the
				// peer closes it.
				discard = true
				buf, need = full[:0], 0
			}
		}
		if err != nil {
			if !discard {
				c.readFailed(readErrReason(err), 0)
			}
			c.peerGone()
			return
		}
	}
}

// growFor makes room in a full buf: it doubles it, but never beyond need,
// the size of the frame being read when known. It grows only as data
// arrives, so a frame header announcing a large payload costs nothing until
// the payload comes.
func growFor(buf []byte, need int) []byte {
	if len(buf) < cap(buf) {
		return buf
	}
	n := 2*cap(buf) + 512
	if need > len(buf) && need < n {
		n = need
	}
	nb := make([]byte, len(buf), n)
	copy(nb, buf)
	return nb
}

// readErrReason is the close reason for a read error.
func readErrReason(err error) Reason {
	if errors.Is(err, io.EOF) {
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// consume handles the complete frames at the start of buf and returns the
// rest moved to the front, the size of the frame it starts with when
// known, and false when reading must stop (the connection is done).
func (c *wsConn) consume(buf []byte) ([]byte, int, bool) {
	n, need, stop, err := c.parser.parse(buf, c)
	if err != nil {
		var fe *frameError
		code := closeCodeProtocolError
		if errors.As(err, &fe) {
			code = fe.code
		}
		c.readFailed(ReasonTransportError, code)
		return nil, 0, false
	}
	if stop {
		return nil, 0, false
	}
	return buf[:copy(buf, buf[n:])], need, true
}

// message is a data message from the client (frameSink).
func (c *wsConn) message(op byte, payload []byte) bool {
	var p Packet
	var err error
	switch {
	case op == opBinary && c.s.v3:
		p, err = eio.DecodeBinaryPacketV3(payload)
	case op == opBinary:
		p = Packet{Type: PacketMessage, Data: payload, Binary: true}
	default:
		p, err = DecodePacket(payload, false)
	}
	if err != nil {
		c.readFailed(ReasonParseError, 0)
		return false
	}
	if !c.onPacket(p) {
		c.s.mu.Lock()
		c.finishLocked(closeCodeNormal)
		c.s.mu.Unlock()
		return false
	}
	return true
}

// control is a control frame from the client (frameSink): a ping is
// answered by the writer, a close frame is echoed and ends the connection.
func (c *wsConn) control(op byte, payload []byte) bool {
	s := c.s
	switch op {
	case opPing:
		s.mu.Lock()
		// Answering only the latest ping is allowed and keeps a client
		// that pings without reading from growing this queue.
		c.ctrl = append(c.ctrl[:0], ctrlFrame{op: opPong, payload: bytes.Clone(payload)})
		c.kickLocked()
		s.mu.Unlock()
	case opClose:
		s.mu.Lock()
		if len(payload) == 0 {
			c.finishWithLocked(nil)
		} else {
			c.finishLocked(int(binary.BigEndian.Uint16(payload)))
		}
		s.mu.Unlock()
		c.readFailed(ReasonTransportClose, 0)
		return false
	}
	return true
}

// readFailed ends the connection after a read error (or a close frame):
// the whole session if the connection is the active transport, the
// upgrade otherwise. The writer sends a close frame with code (1000 when
// 0) and closes the connection.
func (c *wsConn) readFailed(reason Reason, code int) {
	s := c.s
	if code == 0 {
		code = closeCodeNormal
	}
	s.mu.Lock()
	active := s.ws == c
	c.finishLocked(code)
	s.mu.Unlock()
	if active {
		s.terminate(reason, closeAbort)
		return
	}
	s.cancelUpgrade(c)
}

// onPacket handles a packet read from c; false ends the read loop.
func (c *wsConn) onPacket(p Packet) bool {
	s := c.s
	s.mu.Lock()
	switch {
	case s.ws == c:
		s.mu.Unlock()
		return s.onPacket(p)
	case s.upg != c:
		c.finishLocked(closeCodeNormal)
		s.mu.Unlock()
		return false
	case p.Type == PacketPing && string(p.Data) == "probe":
		if len(c.pre) < 8 {
			c.pre = append(c.pre, frameProbe)
			c.kickLocked()
		}
		s.probed = true
		s.noopSoonLocked()
		s.mu.Unlock()
		s.notifyUpgrading()
		return true
	case p.Type == PacketUpgrade:
		s.upg = nil
		s.probed = false
		if s.upgTimer != nil {
			s.upgTimer.Stop()
		}
		s.ws = c
		s.transport = c.transportName()
		s.wakePollLocked(nil) // a GET still pending gets 400, as after the upgrade
		c.kickLocked()
		s.mu.Unlock()
		s.srv.stats.upgrades.Add(1)
		s.srv.opts.Logger.Debug("engine.io session upgraded", "sid", s.id)
		s.notifyUpgrade()
		return true
	case p.Type == PacketNoop:
		s.mu.Unlock()
		return true
	}
	// Anything else before the upgrade completes aborts the upgrade.
	s.mu.Unlock()
	s.cancelUpgrade(c)
	return false
}

// finishLocked makes the writer end the connection with a close frame
// carrying code, after what is queued.
func (c *wsConn) finishLocked(code int) {
	c.finishWithLocked(binary.BigEndian.AppendUint16(nil, uint16(code)))
}

func (c *wsConn) finishWithLocked(msg []byte) {
	if c.finish {
		return
	}
	c.finish = true
	c.finishMsg = msg
	c.kickLocked()
}

// kickLocked starts the writer goroutine when there is something to write
// and it is not running.
func (c *wsConn) kickLocked() {
	if c.writing || c.dead || c.closeSent {
		return
	}
	s := c.s
	if len(c.head) == 0 && len(c.ctrl) == 0 && len(c.pre) == 0 && !c.finish && (s.ws != c || len(s.queue) == 0 || s.held > 0) {
		return
	}
	c.writing = true
	workers.Go(c.writeLoop)
}

// closeConn closes the network connection (idempotent).
func (c *wsConn) closeConn() {
	c.s.mu.Lock()
	c.dead = true
	ph := c.ph
	if c.linger != nil {
		c.linger.Stop()
		c.linger = nil
	}
	c.s.mu.Unlock()
	if ph != nil {
		ph.unregister()
	}
	_ = c.nc.Close()
}

// lingerLocked is called by the writer once the close frame is written
// without error: unless the peer has already closed its side, the
// connection is half-closed (the peer reads the end of the stream after
// the close frame) and stays open for the reader to drop what the peer
// still sends, until the peer closes it or closeLinger passes. It reports
// whether the connection is to be closed now instead.
func (c *wsConn) lingerLocked() (closeNow bool) {
	if c.peerEOF || c.dead {
		return true
	}
	c.closeSent = true
	c.linger = time.AfterFunc(closeLinger, c.closeConn)
	return false
}

// halfClose ends the writing side of the connection where the
// connection allows it (TCP: a FIN; TLS: a close_notify alert).
func (c *wsConn) halfClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// writeLoop is the connection's only writer. It takes everything queued,
// writes it as WebSocket frames with one vectored write, and exits when
// nothing is left.
func (c *wsConn) writeLoop() {
	s := c.s
	timeout := s.srv.opts.WriteTimeout
	sc := writeScratchPool.Get().(*writeScratch)
	bufs, hdr := sc.bufs, sc.hdr
	defer func() {
		// Drop references to payloads before the scratch is reused.
		clear(bufs[:cap(bufs)])
		if cap(bufs) <= maxScratchBufs && cap(hdr) <= maxScratchBufs*maxFrameHeader {
			sc.bufs, sc.hdr = bufs[:0], hdr[:0]
			writeScratchPool.Put(sc)
		}
	}()
	var frames []*Frame
	yielded := false
	for {
		s.mu.Lock()
		if frames != nil && cap(frames) <= maxKeptQueue && c.spare == nil {
			c.spare = frames[:0]
		}
		frames = nil
		if c.dead {
			c.writing = false
			s.mu.Unlock()
			return
		}
		head, ctrl, pre := c.head, c.ctrl, c.pre
		c.head, c.ctrl, c.pre = nil, nil, nil
		if s.ws == c && len(s.queue) > 0 && s.held == 0 {
			frames = s.queue
			s.queue, c.spare = c.spare, nil
			s.queuedBytes = 0
		}
		n := len(ctrl) + len(pre) + len(frames)
		final := c.finish
		if n == 0 && !final && head == nil {
			// Under load more frames are usually queued within one round
			// of the scheduler: look once more before exiting, which spares
			// starting a new writer (and growing its stack) for them.
			if !yielded {
				yielded = true
				s.mu.Unlock()
				runtime.Gosched()
				continue
			}
			// Going idle: an idle connection keeps no queue array.
			if c.spare != nil {
				releaseQueue(c.spare)
				c.spare = nil
			}
			if s.queue != nil && len(s.queue) == 0 {
				releaseQueue(s.queue)
				s.queue = nil
			}
			c.writing = false
			s.mu.Unlock()
			return
		}
		yielded = false
		var finishMsg []byte
		if final {
			finishMsg = c.finishMsg
			n++
		}
		s.mu.Unlock()

		if cap(hdr) < n*maxFrameHeader {
			hdr = make([]byte, 0, n*maxFrameHeader)
		}
		hdr = hdr[:0]
		bufs = bufs[:0]
		if head != nil {
			bufs = append(bufs, head)
		}
		add := func(op byte, payload []byte) {
			start := len(hdr)
			if c.wt {
				// No control frames (the close frame) on WebTransport.
				if op != opText && op != opBinary {
					return
				}
				hdr = appendWTHeader(hdr, len(payload), op == opBinary)
			} else {
				hdr = appendFrameHeader(hdr, op, len(payload), false)
			}
			bufs = append(bufs, hdr[start:len(hdr):len(hdr)])
			if len(payload) > 0 {
				bufs = append(bufs, payload)
			}
		}
		for _, f := range ctrl {
			add(f.op, f.payload)
		}
		for _, f := range pre {
			add(opText, f.ws)
		}
		for _, f := range frames {
			op := byte(opText)
			if f.binary {
				op = opBinary
			}
			if f.binary && s.v3 {
				// The type byte, then the data (not compressed).
				start := len(hdr)
				hdr = appendFrameHeader(hdr, op, 1+len(f.ws), false)
				bufs = append(bufs, hdr[start:len(hdr):len(hdr)], v3BinaryPrefix, f.ws)
				continue
			}
			if c.deflate != nil {
				if z := f.deflatedPayload(c.deflate); z != nil {
					start := len(hdr)
					hdr = appendFrameHeader(hdr, op, len(z), true)
					bufs = append(bufs, hdr[start:len(hdr):len(hdr)], z)
					continue
				}
			}
			add(op, f.ws)
		}
		if final {
			add(opClose, finishMsg)
		}
		if len(frames) > 0 {
			s.notifyFlush(len(frames))
		}
		err := c.write(bufs, timeout, sc)
		if err == nil && len(frames) > 0 {
			s.mu.Lock()
			drained := len(s.queue) == 0
			s.mu.Unlock()
			if drained {
				s.notifyDrain()
			}
		}
		clear(frames)
		if err != nil || final {
			s.mu.Lock()
			c.writing = false
			active := s.ws == c
			closeNow := err != nil || c.lingerLocked()
			s.mu.Unlock()
			if closeNow {
				c.closeConn()
			} else {
				c.halfClose()
			}
			if err != nil && active {
				s.terminate(ReasonTransportError, closeAbort)
			}
			return
		}
	}
}

// writeScratch is the working memory of a writer goroutine: the frame
// headers and the vector of a write. Writers exit whenever their queue is
// empty, so the scratch lives in writeScratchPool between wake-ups rather
// than being allocated again at each one.
type writeScratch struct {
	bufs net.Buffers
	hdr  []byte
	vec  vecWriter // writev calls, when the engine makes them
}

// writeScratchPool holds writeScratch values of idle writers.
var writeScratchPool = sync.Pool{New: func() any { return new(writeScratch) }}

// maxScratchBufs is the largest vector (in buffers) kept in
// writeScratchPool.
const maxScratchBufs = 256

// joinPool holds buffers used to join frames for connections that cannot
// do vectored writes.
var joinPool = sync.Pool{New: func() any { return new([]byte) }}

// write sends bufs in one write: a vectored write (writev) on a TCP
// connection, or one joined buffer on any other connection (TLS). Only the
// writer goroutine calls it.
func (c *wsConn) write(bufs net.Buffers, timeout time.Duration, sc *writeScratch) error {
	if len(bufs) == 0 { // the end of a WebTransport stream: nothing to write
		return nil
	}
	// Renewing the deadline costs a timer update; renew it only when less
	// than half of the timeout is left, so a write gets at least half.
	if now := time.Now(); c.deadline.Sub(now) < timeout/2 {
		c.deadline = now.Add(timeout)
		if err := c.nc.SetWriteDeadline(c.deadline); err != nil {
			return err
		}
	}
	if c.raw != nil {
		// The engine's own writev keeps its vector in the pooled
		// scratch; net.Buffers would keep one in each connection.
		return sc.vec.writev(c.raw, bufs)
	}
	if _, ok := c.nc.(*net.TCPConn); ok || len(bufs) == 1 {
		_, err := bufs.WriteTo(c.nc)
		return err
	}
	bp := joinPool.Get().(*[]byte)
	b := (*bp)[:0]
	for _, p := range bufs {
		b = append(b, p...)
	}
	_, err := c.nc.Write(b)
	if cap(b) <= 1<<20 {
		*bp = b
		joinPool.Put(bp)
	}
	return err
}

// appendFrameHeader appends an unmasked, final WebSocket frame header,
// with RSV1 set for a compressed message (permessage-deflate).
func appendFrameHeader(dst []byte, op byte, n int, compressed bool) []byte {
	b0 := 0x80 | op
	if compressed {
		b0 |= 0x40
	}
	dst = append(dst, b0)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}
