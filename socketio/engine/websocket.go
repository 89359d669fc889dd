package engine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocket close codes the server sends.
const (
	closeCodeNormal    = websocket.CloseNormalClosure
	closeCodeGoingAway = websocket.CloseGoingAway
	closeCodeTooBig    = websocket.CloseMessageTooBig
)

// Maximum size of a server-side (unmasked) WebSocket frame header.
const maxFrameHeader = 10

// lockedConn serializes writes to the hijacked connection. The session's
// writer goroutine is the only regular writer; the lock only guards against
// gorilla writing a close frame on its own after a protocol error.
type lockedConn struct {
	net.Conn
	mu       sync.Mutex
	deadline time.Time // the write deadline last set, guarded by mu
}

func (c *lockedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(p)
}

// hijackWriter hands gorilla a lockedConn instead of the raw connection.
type hijackWriter struct {
	http.ResponseWriter
	lc *lockedConn
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.lc = &lockedConn{Conn: c}
	return h.lc, brw, nil
}

// ctrlFrame is a WebSocket control frame waiting for the writer.
type ctrlFrame struct {
	op      byte
	payload []byte
}

// wsConn is one WebSocket connection of a session. Its fields below conn
// are guarded by the session's mu.
type wsConn struct {
	s    *Session
	conn *websocket.Conn
	lc   *lockedConn

	spare     []*Frame    // an empty queue array to swap in, for reuse
	ctrl      []ctrlFrame // pongs, queued by the ping handler
	pre       []*Frame    // packets for this connection only ("3probe")
	writing   bool        // the writer goroutine is running
	finish    bool        // write a close frame after the queue, then close
	finishMsg []byte      // close frame payload
	dead      bool        // the connection is closed
}

// readBufPool holds buffers for incoming WebSocket messages.
var readBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// upgrade performs the WebSocket handshake and wraps the connection.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, sess *Session, hdr http.Header) *wsConn {
	hw := &hijackWriter{ResponseWriter: w}
	conn, err := s.upgrader.Upgrade(hw, r, hdr)
	if err != nil {
		s.opts.Logger.Debug("engine.io websocket handshake failed", "err", err)
		return nil
	}
	c := &wsConn{s: sess, conn: conn, lc: hw.lc}
	conn.SetPingHandler(func(data string) error {
		sess.mu.Lock()
		// Answering only the latest ping is allowed and keeps a client
		// that pings without reading from growing this queue.
		c.ctrl = append(c.ctrl[:0], ctrlFrame{op: websocket.PongMessage, payload: []byte(data)})
		c.kickLocked()
		sess.mu.Unlock()
		return nil
	})
	conn.SetCloseHandler(func(code int, _ string) error {
		sess.mu.Lock()
		if code == websocket.CloseNoStatusReceived {
			c.finishWithLocked(nil)
		} else {
			c.finishLocked(code)
		}
		sess.mu.Unlock()
		return nil
	})
	return c
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
func (s *Server) serveWebSocketHandshake(w http.ResponseWriter, r *http.Request) {
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
	sess := s.register(r, TransportWebSocket)
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
		return
	}
	sess.ws = c
	sess.mu.Unlock()
	if s.open(sess, nil) {
		go c.readLoop()
	}
}

// serveUpgrade accepts a WebSocket for a live polling session.
func (s *Server) serveUpgrade(w http.ResponseWriter, r *http.Request, sess *Session) {
	if !s.checkWSOrigin(w, r) {
		return
	}
	sess.mu.Lock()
	ok := !sess.closed && sess.ws == nil && sess.upg == nil && !s.opts.DisableUpgrades
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
		c.finishLocked(closeCodeGoingAway) // the writer closes it
		sess.mu.Unlock()
		return
	}
	sess.upg = c
	sess.upgTimer = time.AfterFunc(s.opts.UpgradeTimeout, func() { sess.cancelUpgrade(c) })
	sess.mu.Unlock()
	go c.readLoop()
}

// cancelUpgrade closes an upgrade WebSocket that did not complete; the
// session goes on with polling.
func (s *Session) cancelUpgrade(c *wsConn) {
	s.mu.Lock()
	if s.upg == c {
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

// readLoop is the connection's only reader. It runs until the connection
// fails or is closed.
func (c *wsConn) readLoop() {
	s := c.s
	opts := &s.srv.opts
	max := opts.MaxPayload
	idle := opts.PingInterval + opts.PingTimeout + time.Second
	defer func() {
		// The writer sends the close frame and closes the connection.
		s.mu.Lock()
		c.finishLocked(closeCodeNormal)
		s.mu.Unlock()
	}()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(idle))
		mt, rd, err := c.conn.NextReader()
		if err != nil {
			reason := ReasonTransportError
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				reason = ReasonTransportClose
			}
			c.readFailed(reason, 0)
			return
		}
		buf := readBufPool.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(io.LimitReader(rd, max+1))
		if err == nil && int64(buf.Len()) > max {
			readBufPool.Put(buf)
			c.readFailed(ReasonTransportError, closeCodeTooBig)
			return
		}
		if err != nil {
			readBufPool.Put(buf)
			c.readFailed(ReasonTransportError, 0)
			return
		}
		var p Packet
		if mt == websocket.BinaryMessage {
			p = Packet{Type: PacketMessage, Data: buf.Bytes(), Binary: true}
		} else {
			p, err = DecodePacket(buf.Bytes(), false)
		}
		alive := false
		if err != nil {
			c.readFailed(ReasonParseError, 0)
		} else {
			alive = c.onPacket(p)
		}
		if buf.Cap() <= 64<<10 {
			readBufPool.Put(buf)
		}
		if !alive {
			return
		}
	}
}

// readFailed ends the connection after a read error: the whole session if
// the connection is the active transport, the upgrade otherwise.
func (c *wsConn) readFailed(reason Reason, code int) {
	s := c.s
	s.mu.Lock()
	active := s.ws == c
	if code != 0 {
		c.finishLocked(code)
	}
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
		s.srv.obs().Upgrading(s)
		return true
	case p.Type == PacketUpgrade:
		s.upg = nil
		s.probed = false
		if s.upgTimer != nil {
			s.upgTimer.Stop()
		}
		s.ws = c
		s.transport = TransportWebSocket
		s.wakePollLocked(nil) // a GET still pending gets 400, as after the upgrade
		c.kickLocked()
		s.mu.Unlock()
		s.srv.opts.Logger.Debug("engine.io session upgraded", "sid", s.id)
		s.srv.obs().Upgrade(s)
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
	c.finishWithLocked(websocket.FormatCloseMessage(code, ""))
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
	if c.writing || c.dead {
		return
	}
	s := c.s
	if len(c.ctrl) == 0 && len(c.pre) == 0 && !c.finish && (s.ws != c || len(s.queue) == 0) {
		return
	}
	c.writing = true
	go c.writeLoop()
}

// closeConn closes the network connection (idempotent).
func (c *wsConn) closeConn() {
	c.s.mu.Lock()
	c.dead = true
	c.s.mu.Unlock()
	_ = c.conn.Close()
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
		ctrl, pre := c.ctrl, c.pre
		c.ctrl, c.pre = nil, nil
		if s.ws == c && len(s.queue) > 0 {
			frames = s.queue
			s.queue, c.spare = c.spare, nil
			s.queuedBytes = 0
		}
		n := len(ctrl) + len(pre) + len(frames)
		final := c.finish
		if n == 0 && !final {
			// Under load more frames are usually queued within one round
			// of the scheduler: look once more before exiting, which spares
			// starting a new writer (and growing its stack) for them.
			if !yielded {
				yielded = true
				s.mu.Unlock()
				runtime.Gosched()
				continue
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
		add := func(op byte, payload []byte) {
			start := len(hdr)
			hdr = appendFrameHeader(hdr, op, len(payload))
			bufs = append(bufs, hdr[start:len(hdr):len(hdr)])
			if len(payload) > 0 {
				bufs = append(bufs, payload)
			}
		}
		for _, f := range ctrl {
			add(f.op, f.payload)
		}
		for _, f := range pre {
			add(websocket.TextMessage, f.ws)
		}
		for _, f := range frames {
			op := byte(websocket.TextMessage)
			if f.binary {
				op = websocket.BinaryMessage
			}
			add(op, f.ws)
		}
		if final {
			add(websocket.CloseMessage, finishMsg)
		}
		obs := s.srv.obs()
		if len(frames) > 0 {
			obs.Flush(s, len(frames))
		}
		err := c.write(bufs, timeout)
		if err == nil && len(frames) > 0 {
			s.mu.Lock()
			drained := len(s.queue) == 0
			s.mu.Unlock()
			if drained {
				obs.Drain(s)
			}
		}
		clear(frames)
		if err != nil || final {
			s.mu.Lock()
			c.writing = false
			active := s.ws == c
			s.mu.Unlock()
			c.closeConn()
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
// connection, or one joined buffer on any other connection (TLS).
func (c *wsConn) write(bufs net.Buffers, timeout time.Duration) error {
	c.lc.mu.Lock()
	defer c.lc.mu.Unlock()
	// Renewing the deadline costs a timer update; renew it only when less
	// than half of the timeout is left, so a write gets at least half.
	if now := time.Now(); c.lc.deadline.Sub(now) < timeout/2 {
		c.lc.deadline = now.Add(timeout)
		if err := c.lc.Conn.SetWriteDeadline(c.lc.deadline); err != nil {
			return err
		}
	}
	if _, ok := c.lc.Conn.(*net.TCPConn); ok || len(bufs) == 1 {
		_, err := bufs.WriteTo(c.lc.Conn)
		return err
	}
	bp := joinPool.Get().(*[]byte)
	b := (*bp)[:0]
	for _, p := range bufs {
		b = append(b, p...)
	}
	_, err := c.lc.Conn.Write(b)
	if cap(b) <= 1<<20 {
		*bp = b
		joinPool.Put(bp)
	}
	return err
}

// appendFrameHeader appends an unmasked, final WebSocket frame header.
func appendFrameHeader(dst []byte, op byte, n int) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}
