package engine

import (
	"net/http"

	"github.com/chatd/chatd/socketio/internal/eio"
	"sync"
	"sync/atomic"
	"time"
)

// closeMode says how a session ends.
type closeMode int

const (
	// closeGraceful: queued packets and a close packet still go out
	// (Session.Close).
	closeGraceful closeMode = iota
	// closeAbort: queued packets are dropped; a pending poll gets a close
	// packet; a WebSocket gets a close frame (errors, ping timeout).
	closeAbort
	// closeByClient: the client sent a close packet; a pending poll gets a
	// noop.
	closeByClient
	// closeHard: the connection is dropped at once (slow consumer).
	closeHard
)

// Session is one Engine.IO session (one client connection, across an
// upgrade from polling to WebSocket). Its methods are safe for concurrent
// use from any goroutine.
type Session struct {
	srv *Server
	id  string
	req *http.Request

	// v3 is set for an Engine.IO v3 client (Options.AllowEIO3), and
	// v3Binary when its polling payloads may be binary (no b64 in the
	// handshake). Both are set before the session is shared.
	v3, v3Binary bool

	// conn is what Handler.OnOpen returned (written once under hmu,
	// before any message is delivered; read under hmu).
	conn Conn

	// hmu serializes Handler calls for this session; handlerDone (under
	// hmu) is set once OnClose has started.
	hmu         sync.Mutex
	handlerDone bool
	opened      bool // OnOpen has been called (under hmu)

	// lis holds the session's own listeners (OnPacket...), nil until one
	// is added; replaced under mu.
	lis atomic.Pointer[sessionListeners]

	mu          sync.Mutex
	closed      bool
	slow        bool // slow-consumer close scheduled
	reason      Reason
	transport   string
	queue       []*Frame
	queuedBytes int
	held        int // Hold calls not yet Released: the queue waits

	// heartbeat
	hbTimer      *time.Timer
	hbGen        uint64
	awaitingPong bool

	// polling
	poll        *pollWaiter // the pending GET
	posting     bool        // a POST is being processed
	probed      bool        // upgrade probe done: GETs get a noop
	lingering   bool        // closed; the final payload waits for one more GET
	lastTaken   int         // messages in the last polling payload (for Observer.Flush)
	lastPlain   bool        // every message of the last polling payload is uncompressed
	lingerTimer *time.Timer

	// websocket
	ws       *wsConn // the active WebSocket, when transport is websocket
	upg      *wsConn // the WebSocket being upgraded to
	upgTimer *time.Timer
}

// pollWaiter is a pending long-poll GET.
type pollWaiter struct {
	wake  chan struct{} // closed once, under Session.mu
	fixed []byte        // when set, the response body instead of the queue
}

// ID is the session id (sid).
func (s *Session) ID() string { return s.id }

// Request is the handshake request: its method, URL, header, host,
// RemoteAddr and TLS state. Its body is empty, and its context is
// context.Background(): the values the handshake's context carried (set
// by middlewares in front of the engine) are not kept; read them in
// Options.AllowRequest, which gets the request itself.
func (s *Session) Request() *http.Request { return s.req }

// Protocol is the Engine.IO protocol revision of the client: 4, or 3 for
// a client accepted with Options.AllowEIO3.
func (s *Session) Protocol() int {
	if s.v3 {
		return 3
	}
	return 4
}

// Transport is the current transport: "polling", "websocket" or
// "webtransport".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Send queues one message packet. It never blocks. It returns false when
// the session is closed or its queue is full (the session is then closed
// with ReasonSlowConsumer). The engine keeps data: the caller must not
// modify it afterwards.
func (s *Session) Send(data []byte, binary bool) bool {
	return s.SendFrame(NewFrame(data, binary))
}

// SendFrame queues a pre-encoded message packet, which may be shared by
// many sessions. It behaves like Send.
func (s *Session) SendFrame(f *Frame) bool {
	s.mu.Lock()
	if s.closed || s.slow {
		s.mu.Unlock()
		return false
	}
	if s.queuedBytes+len(f.ws) > s.srv.opts.MaxQueuedBytes {
		s.slow = true
		s.mu.Unlock()
		go s.terminate(ReasonSlowConsumer, closeHard)
		return false
	}
	s.queueLocked(f)
	s.mu.Unlock()
	s.notifyPacketCreate(f)
	return true
}

// writableSlack is how many bytes may wait for a WebSocket writer that is
// busy while the session still counts as writable.
const writableSlack = 8 << 10

// Writable reports whether a packet sent now would go out at once: on
// WebSocket less than 8 KiB waits for the writer; on polling a GET is
// waiting (and no upgrade is in progress). Use it to drop volatile
// packets.
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.slow {
		return false
	}
	if s.ws != nil {
		return !s.ws.finish && s.queuedBytes < writableSlack
	}
	return s.poll != nil && !s.probed
}

// Close ends the session with reason: packets already queued are still
// delivered, then the close packet. OnClose(reason) is called once, on
// another goroutine, after any Handler call in progress has returned.
// Close is idempotent and does not block.
func (s *Session) Close(reason Reason) {
	mode := closeGraceful
	if reason == ReasonSlowConsumer {
		mode = closeHard
	}
	s.terminate(reason, mode)
}

// queueLocked appends f and makes the transport send it.
func (s *Session) queueLocked(f *Frame) {
	if s.queue == nil {
		s.queue = queuePool.Get().(*[initialQueue]*Frame)[:0]
	}
	s.queue = append(s.queue, f)
	s.queuedBytes += len(f.ws)
	s.flushLocked()
}

// Hold makes packets queued from now on wait, in order, until the
// matching Release (calls nest): the layer above holds a session while it
// runs the handlers of a new connection, so that its answer reaches the
// client only with what those handlers did. A held session still closes
// normally; closing ends the hold.
func (s *Session) Hold() {
	s.mu.Lock()
	s.held++
	s.mu.Unlock()
}

// Release ends one Hold; when none is left, what is queued goes out.
func (s *Session) Release() {
	s.mu.Lock()
	if s.held > 0 {
		s.held--
		if s.held == 0 && !s.closed {
			s.flushLocked()
		}
	}
	s.mu.Unlock()
}

// flushLocked makes the current transport pick up the queue.
func (s *Session) flushLocked() {
	if s.held > 0 {
		return
	}
	if s.ws != nil {
		s.ws.kickLocked()
		return
	}
	if !s.probed && len(s.queue) > 0 {
		s.wakePollLocked(nil)
	}
}

// wakePollLocked answers the pending GET: with fixed, or with the queue
// when fixed is nil.
func (s *Session) wakePollLocked(fixed []byte) {
	p := s.poll
	if p == nil {
		return
	}
	s.poll = nil
	p.fixed = fixed
	close(p.wake)
}

// takeLocked removes queued frames for one polling response, up to
// MaxPayload bytes (at least one frame), and encodes them.
func (s *Session) takePayloadLocked() []byte {
	if len(s.queue) == 0 {
		return nil
	}
	max := int(s.srv.opts.MaxPayload)
	size, n := 0, 0
	onlyNoops := true
	for _, f := range s.queue {
		l := s.pollLen(f)
		if n > 0 && size+l > max {
			break
		}
		// The close packet goes in a response of its own after the last
		// messages (a noop may precede it), as the reference does: the
		// official client handles a payload's messages on a later tick
		// than its close packet, so in one payload the close would win.
		if f == frameClose && !onlyNoops {
			break
		}
		onlyNoops = onlyNoops && f == frameNoop
		size += l
		n++
	}
	s.lastTaken = n
	s.lastPlain = true
	var body []byte
	if s.v3 {
		body = s.payloadV3(s.queue[:n], size)
	} else {
		body = make([]byte, 0, size)
		for i, f := range s.queue[:n] {
			if i > 0 {
				body = append(body, RecordSeparator)
			}
			body = append(body, f.pollBytes()...)
		}
	}
	for _, f := range s.queue[:n] {
		s.lastPlain = s.lastPlain && f.noCompress
		s.queuedBytes -= len(f.ws)
	}
	// Keep the queue's array (when small) so that steady traffic does not
	// allocate a new one after every response.
	k := copy(s.queue, s.queue[n:])
	clear(s.queue[k:])
	s.queue = s.queue[:k]
	if k == 0 && cap(s.queue) > maxKeptQueue {
		s.queue = nil
	}
	return body
}

// pollLen is about the number of bytes f adds to a polling payload of
// the session's protocol (exactly, but for the length prefix of v3).
func (s *Session) pollLen(f *Frame) int {
	if s.v3 {
		return len(f.pollBytesV3())
	}
	return len(f.pollBytes()) + 1
}

// payloadV3 encodes frames as a v3 polling payload: a binary payload when
// the client supports it and a frame is binary, else a text payload.
func (s *Session) payloadV3(frames []*Frame, size int) []byte {
	binary := false
	if s.v3Binary {
		for _, f := range frames {
			binary = binary || f.binary
		}
	}
	if !binary {
		body := make([]byte, 0, size)
		for _, f := range frames {
			body = append(body, f.pollBytesV3()...)
		}
		return body
	}
	pkts := make([]Packet, len(frames))
	for i, f := range frames {
		if f.binary {
			pkts[i] = Packet{Type: PacketMessage, Data: f.ws, Binary: true}
		} else {
			pkts[i] = Packet{Type: f.typ, Data: f.ws[1:]}
		}
	}
	return eio.AppendBinaryPayloadV3(make([]byte, 0, eio.BinaryPayloadLenV3(pkts)), pkts)
}

// initialQueue is the capacity (in frames) of a new queue array: enough
// for a burst without regrowing, small enough to keep.
const initialQueue = 16

// queuePool holds empty queue arrays of initialQueue frames. A WebSocket
// writer that goes idle returns its arrays here, so an idle connection
// keeps none.
var queuePool = sync.Pool{New: func() any { return new([initialQueue]*Frame) }}

// releaseQueue returns an empty queue array to queuePool when it has the
// pooled size.
func releaseQueue(q []*Frame) {
	if cap(q) == initialQueue {
		a := (*[initialQueue]*Frame)(q[:initialQueue])
		clear(a[:])
		queuePool.Put(a)
	}
}

// maxKeptQueue is the largest queue array (in frames) kept for reuse once
// the queue is empty.
const maxKeptQueue = 64

// deliver calls Conn.OnMessage unless the session has been closed.
func (s *Session) deliver(p Packet) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if !s.handlerDone && !s.isClosed() {
		s.conn.OnMessage(s, p.Data, p.Binary)
	}
}

// schedulePingLocked arms the heartbeat for the next ping. For a v3
// client, which pings itself, it arms the timeout instead: the session is
// closed unless a packet arrives within PingInterval+PingTimeout.
func (s *Session) schedulePingLocked() {
	if s.v3 {
		s.awaitingPong = true
		s.armHeartbeatLocked(s.srv.opts.PingInterval + s.srv.opts.PingTimeout)
		return
	}
	s.armHeartbeatLocked(s.srv.opts.PingInterval)
}

func (s *Session) armHeartbeatLocked(d time.Duration) {
	s.hbGen++
	gen := s.hbGen
	if s.hbTimer != nil {
		s.hbTimer.Stop()
	}
	s.hbTimer = time.AfterFunc(d, func() { s.heartbeat(gen) })
}

// heartbeat runs when the heartbeat timer fires: send a ping, or close the
// session when the previous ping went unanswered.
func (s *Session) heartbeat(gen uint64) {
	s.mu.Lock()
	if s.closed || gen != s.hbGen {
		s.mu.Unlock()
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.terminate(ReasonPingTimeout, closeAbort)
		return
	}
	s.awaitingPong = true
	s.queueLocked(framePing)
	s.armHeartbeatLocked(s.srv.opts.PingTimeout)
	s.mu.Unlock()
}

func (s *Session) onPong() {
	s.mu.Lock()
	beat := !s.closed && s.awaitingPong
	if beat {
		s.awaitingPong = false
		s.schedulePingLocked()
	}
	s.mu.Unlock()
	if beat {
		s.notifyHeartbeat()
	}
}

// onPacket handles one packet from the client on the active transport. It
// returns false when the packet ended the session.
func (s *Session) onPacket(p Packet) bool {
	s.notifyPacket(p)
	if s.v3 {
		return s.onPacketV3(p)
	}
	switch p.Type {
	case PacketMessage:
		s.deliver(p)
	case PacketPong:
		s.onPong()
	case PacketClose:
		s.terminate(ReasonTransportClose, closeByClient)
		return false
	case PacketPing:
		// v4 heartbeats go server to client only.
		s.terminate(ReasonParseError, closeAbort)
		return false
	}
	return true
}

// onPacketV3 is onPacket for a v3 client: any packet resets the
// heartbeat timeout, the client's pings are answered with a pong carrying
// the same data, and a pong from the client is an error (as the
// reference's "invalid heartbeat direction").
func (s *Session) onPacketV3(p Packet) bool {
	s.mu.Lock()
	if !s.closed {
		s.schedulePingLocked()
	}
	s.mu.Unlock()
	switch p.Type {
	case PacketMessage:
		s.deliver(p)
	case PacketPing:
		pong := framePong
		if len(p.Data) > 0 {
			pong = newTextFrame(PacketPong, p.Data)
		}
		s.mu.Lock()
		if !s.closed && !s.slow {
			s.queueLocked(pong)
		}
		s.mu.Unlock()
		s.notifyHeartbeat()
	case PacketClose:
		s.terminate(ReasonTransportClose, closeByClient)
		return false
	case PacketPong:
		s.terminate(ReasonParseError, closeAbort)
		return false
	}
	return true
}

// fixedBody is the polling response body made of the control packet f
// alone, in the session's protocol.
func (s *Session) fixedBody(f *Frame) []byte {
	if s.v3 {
		return f.pollBytesV3()
	}
	return f.ws
}

// terminate ends the session once.
func (s *Session) terminate(reason Reason, mode closeMode) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.reason = reason
	s.held = 0
	s.hbGen++
	if s.hbTimer != nil {
		s.hbTimer.Stop()
	}
	if s.upgTimer != nil {
		s.upgTimer.Stop()
	}
	var hard []*wsConn
	if u := s.upg; u != nil {
		s.upg = nil
		s.probed = false
		u.finishLocked(closeCodeGoingAway)
	}
	if mode != closeGraceful {
		clear(s.queue)
		s.queue = nil
		s.queuedBytes = 0
	}
	linger := false
	if c := s.ws; c != nil {
		switch mode {
		case closeGraceful:
			s.queueLocked(frameClose)
			c.finishLocked(closeCodeNormal)
		case closeHard:
			hard = append(hard, c)
		default:
			c.finishLocked(closeCodeNormal)
		}
	} else {
		switch {
		case mode == closeByClient && s.poll != nil:
			s.wakePollLocked(s.fixedBody(frameNoop))
		case mode == closeByClient:
			// A GET sent together with the close packet may arrive
			// just after it: it gets the noop it would have got.
			s.queue = append(s.queue, frameNoop)
			s.lingering = true
			linger = true
			s.lingerTimer = time.AfterFunc(s.srv.opts.PingTimeout, func() { s.endLinger() })
		case mode != closeGraceful:
			s.wakePollLocked(s.fixedBody(frameClose))
		case s.poll != nil && len(s.queue) == 0:
			s.wakePollLocked(s.fixedBody(frameClose))
		default:
			// The final payload (what is queued, then the close packet)
			// waits for the next GETs; a pending one takes it now.
			if len(s.queue) == 0 {
				s.queue = append(s.queue, frameNoop)
			}
			s.queue = append(s.queue, frameClose)
			s.lingering = true
			linger = true
			d := s.srv.opts.PingInterval + s.srv.opts.PingTimeout
			s.lingerTimer = time.AfterFunc(d, func() { s.endLinger() })
			s.wakePollLocked(nil)
		}
	}
	s.mu.Unlock()

	for _, c := range hard {
		c.closeConn()
	}
	s.srv.count.Add(-1)
	if !linger {
		s.srv.unregister(s)
	}
	s.srv.opts.Logger.Debug("engine.io session closed", "sid", s.id, "reason", string(reason))
	go func() {
		defer s.srv.closeWG.Done()
		s.hmu.Lock()
		defer s.hmu.Unlock()
		s.handlerDone = true
		if s.opened { // a session refused during its handshake was never opened
			s.srv.stats.closed(reason)
			s.srv.obs().Close(s, reason)
			s.conn.OnClose(s, reason)
			s.notifyClose(reason)
		}
	}()
}

// observeFlush tells the Observer that a polling response took n messages
// and whether it emptied the queue.
func (s *Session) observeFlush(n int, drained bool) {
	if n == 0 {
		return
	}
	s.notifyFlush(n)
	if drained {
		s.notifyDrain()
	}
}

// endLingerIfDrainedLocked ends the lingering of a closed polling session
// once its final payload has been taken; the caller then unregisters it.
func (s *Session) endLingerIfDrainedLocked() bool {
	if len(s.queue) > 0 {
		return false
	}
	s.lingering = false
	if s.lingerTimer != nil {
		s.lingerTimer.Stop()
	}
	return true
}

// endLinger drops the final payload of a closed polling session.
func (s *Session) endLinger() {
	s.mu.Lock()
	s.lingering = false
	s.queue = nil
	s.queuedBytes = 0
	s.mu.Unlock()
	s.srv.unregister(s)
}
