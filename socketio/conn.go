package socketio

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/internal/event"
	"github.com/chatd/chatd/socketio/parser"
)

// serverConn is the Socket.IO side of one Engine.IO session: it decodes
// packets, reassembles binary ones, and routes them to the sockets of the
// namespaces joined over this connection.
//
// onMessage and onClose are called by the engine in order on the session's
// read path; the fields marked "read path" are touched only there.
type serverConn struct {
	server *Server
	eio    *engine.Session
	// v3 is set for an Engine.IO v3 client (socket.io-client 2.x), which
	// speaks Socket.IO protocol v4 (see protocolv4.go).
	v3 bool

	// sendMu keeps the frames of one packet (text and attachments)
	// together in the session's queue: every send takes it, a
	// single-frame one too, or a packet of another namespace could land
	// between a binary packet's text and its attachments. It is held only
	// while queueing.
	sendMu sync.Mutex

	mu        sync.Mutex
	sockets   []*Socket  // connecting or connected, one per namespace
	handshake *Handshake // the first one made, whose request fields the next share

	joined       atomic.Bool                // a namespace connection succeeded once
	connectTimer atomic.Pointer[time.Timer] // until joined

	// read path
	pending *binaryPacket  // waiting for its attachments
	dec     parser.Decoder // with Options.Parser only
}

// binaryPacket is a binary packet being received: the packet, then its
// attachments one message each.
type binaryPacket struct {
	pkt         parser.Packet
	attachments [][]byte
}

func newServerConn(srv *Server, eio *engine.Session) *serverConn {
	listHost(eio.Request())
	c := &serverConn{server: srv, eio: eio, v3: eio.Protocol() == 3}
	if srv.opts.Parser != nil {
		c.dec = srv.opts.Parser.NewDecoder()
	}
	c.connectTimer.Store(time.AfterFunc(srv.opts.ConnectTimeout, func() {
		if !c.joined.Load() {
			c.eio.Close(engine.ReasonForcedClose)
		}
	}))
	if c.v3 {
		// A v4-protocol client is in the main namespace without asking.
		c.connect("/", nil)
	}
	return c
}

// hasJoined records that a namespace connection succeeded, and drops the
// timer that closes a connection joining none.
func (c *serverConn) hasJoined() {
	if !c.joined.Swap(true) {
		c.stopConnectTimer()
	}
}

func (c *serverConn) stopConnectTimer() {
	if t := c.connectTimer.Swap(nil); t != nil {
		t.Stop()
	}
}

// socketLocked returns the socket of namespace name, or nil. c.mu must be held.
func (c *serverConn) socketLocked(name string) *Socket {
	for _, s := range c.sockets {
		if s.ns.name == name {
			return s
		}
	}
	return nil
}

var decodeOptions = &parser.DecodeOptions{MaxAttachments: 10}

func (c *serverConn) onMessage(data []byte, binary bool) {
	if c.dec != nil {
		pkt, atts, done, err := c.dec.Add(data, binary)
		if err != nil {
			c.protocolError(err.Error())
		} else if done {
			c.dispatch(&pkt, atts)
		}
		return
	}
	if binary {
		if c.pending == nil {
			c.protocolError("unexpected binary message")
			return
		}
		b := c.pending
		c.server.stats.receivedBytes(b.pkt.Type, len(data))
		b.attachments = append(b.attachments, bytes.Clone(data))
		if len(b.attachments) == b.pkt.Attachments {
			c.pending = nil
			c.dispatch(&b.pkt, b.attachments)
		}
		return
	}
	if c.pending != nil {
		c.protocolError("text message while waiting for binary attachments")
		return
	}
	pkt, err := parser.Decode(bytes.Clone(data), decodeOptions)
	if err != nil {
		c.protocolError(err.Error())
		return
	}
	c.server.stats.received(pkt.Type, len(data))
	if (pkt.Type == parser.BinaryEvent || pkt.Type == parser.BinaryAck) && pkt.Attachments > 0 {
		c.pending = &binaryPacket{pkt: pkt, attachments: make([][]byte, 0, pkt.Attachments)}
		return
	}
	c.dispatch(&pkt, nil)
}

// protocolError closes the whole connection, as the reference does for any
// packet it cannot decode; the sockets get ReasonParseError.
func (c *serverConn) protocolError(why string) {
	c.server.opts.Logger.Debug("socketio: closing connection on protocol error", "sid", c.eio.ID(), "error", why)
	c.eio.Close(engine.ReasonParseError)
}

// invalidState closes the whole connection for a packet that is valid but
// not in the namespace protocol's order (a second CONNECT, a packet for a
// namespace not joined, a CONNECT_ERROR from the client). As the
// reference's client.close(), the sockets get ReasonForcedServerClose,
// and the Engine.IO session is closed as by Session.Close.
func (c *serverConn) invalidState(why string) {
	c.server.opts.Logger.Debug("socketio: closing connection on invalid state", "sid", c.eio.ID(), "error", why)
	c.mu.Lock()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.postClose(ReasonForcedServerClose)
	}
	c.eio.Close(engine.ReasonForcedClose)
}

func (c *serverConn) dispatch(pkt *parser.Packet, atts [][]byte) {
	c.mu.Lock()
	s := c.socketLocked(pkt.Namespace)
	c.mu.Unlock()
	if pkt.Type == parser.Connect {
		if s != nil {
			c.invalidState("second CONNECT to " + pkt.Namespace)
			return
		}
		if c.v3 {
			c.connect(v4ConnectArgs(pkt.Namespace))
			return
		}
		c.connect(pkt.Namespace, pkt.Data)
		return
	}
	if s == nil || !s.connected.Load() || pkt.Type == parser.ConnectError {
		c.invalidState("packet for a namespace not joined: " + pkt.Namespace)
		return
	}
	switch pkt.Type {
	case parser.Disconnect:
		s.postClose(ReasonClientNamespaceDisconnect)
	case parser.Event, parser.BinaryEvent:
		// Decode has validated the payload: it is not checked again.
		raw, err := parser.SplitValidArray(pkt.Data)
		if err != nil || len(raw) == 0 {
			c.protocolError("invalid event payload")
			return
		}
		event, ok := eventName(raw[0])
		if !ok || parser.IsReservedEvent(event) {
			c.protocolError("invalid event name")
			return
		}
		s.onEvent(event, newArgs(raw[1:], atts), pkt.ID, pkt.HasID)
	case parser.Ack, parser.BinaryAck:
		if !pkt.HasID {
			return // only from parsers that allow it; ignored, as the reference does
		}
		raw, err := parser.SplitValidArray(pkt.Data)
		if err != nil {
			c.protocolError("invalid ack payload")
			return
		}
		s.onAck(pkt.ID, newArgs(raw, atts))
	}
}

// eventName reads the first element of an EVENT: a string, or a number
// (accepted by the reference and turned into its decimal text).
func eventName(raw json.RawMessage) (string, bool) {
	if s, ok := event.PlainString(raw); ok {
		return s, true
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// emptyAuth is the auth of a CONNECT without payload, shared by the
// handshakes of such sockets (which must not modify it).
var emptyAuth = json.RawMessage("{}")

// connect starts a namespace connection: the socket exists from now on
// for this client (a second CONNECT is a protocol error) and its
// middlewares run on its own goroutine.
func (c *serverConn) connect(name string, auth json.RawMessage) {
	if len(auth) == 0 {
		auth = emptyAuth
	}
	ns := c.server.lookup(name, auth)
	if ns == nil {
		data := json.RawMessage(`{"message":"Invalid namespace"}`)
		if c.v3 {
			data = json.RawMessage(`"Invalid namespace"`)
		}
		c.sendPacket(&parser.Packet{Type: parser.ConnectError, Namespace: name, Data: data}, nil)
		c.server.stats.connectErrs.Add(1)
		return
	}
	var restored *adapter.RecoverySession
	if !c.v3 { // v4-protocol clients cannot resume a session
		restored = restoreSession(ns, auth)
	}
	s := newSocket(ns, c, auth, restored)
	c.mu.Lock()
	c.sockets = append(c.sockets, s)
	c.mu.Unlock()
	s.box.post(s.runConnect, false)
}

// forget removes a socket from the connection.
func (c *serverConn) forget(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
		if len(c.sockets) == 0 {
			c.sockets = nil
		}
	}
	c.mu.Unlock()
}

func (c *serverConn) onClose(reason Reason) {
	c.stopConnectTimer()
	c.mu.Lock()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.postClose(reason)
	}
}

// sendPacket encodes and queues one packet with its attachments.
func (c *serverConn) sendPacket(p *parser.Packet, atts [][]byte) bool {
	return c.sendPacketCompress(p, atts, true)
}

// sendPacketCompress is sendPacket; with compress false, the frames are
// never compressed (Compress(false)).
func (c *serverConn) sendPacketCompress(p *parser.Packet, atts [][]byte, compress bool) bool {
	return c.sendTextCompress(p.Encode(), atts, compress)
}

// sendText queues one packet, given in the text form of the default
// parser, and its attachments. With another parser the text is decoded
// back into the packet, which that parser encodes.
func (c *serverConn) sendText(text []byte, atts [][]byte) bool {
	return c.sendTextCompress(text, atts, true)
}

// sendTextCompress is sendText; with compress false, the frames are never
// compressed (Compress(false)).
func (c *serverConn) sendTextCompress(text []byte, atts [][]byte, compress bool) bool {
	if c.dec != nil {
		p, err := parser.Decode(text, &parser.DecodeOptions{MaxAttachments: math.MaxInt})
		if err != nil {
			c.server.opts.Logger.Error("socketio: packet not sent", "sid", c.eio.ID(), "error", err)
			return false
		}
		ok := c.sendFrames(c.server.encodeFrames(&p, atts, !compress))
		if ok {
			c.server.stats.sent(text, atts, 1)
		}
		return ok
	}
	newFrame := engine.NewFrame
	if !compress {
		newFrame = engine.NewUncompressedFrame
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	ok := c.eio.SendFrame(newFrame(text, false))
	for _, a := range atts {
		ok = ok && c.eio.SendFrame(newFrame(a, true))
	}
	if ok {
		c.server.stats.sent(text, atts, 1)
	}
	return ok
}

// sendFrames queues pre-encoded frames (shared with other recipients).
func (c *serverConn) sendFrames(frames []*engine.Frame) bool {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	ok := len(frames) > 0
	for _, f := range frames {
		ok = ok && c.eio.SendFrame(f)
	}
	return ok
}

// disconnectAll disconnects every socket of the connection, then closes it.
func (c *serverConn) disconnectAll() {
	c.mu.Lock()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.Disconnect(false)
	}
	c.eio.Close(engine.ReasonForcedClose)
}

// restoreSession finds the session a reconnecting client resumes, from the
// pid and offset the official client adds to its CONNECT payload.
func restoreSession(ns *Namespace, auth json.RawMessage) *adapter.RecoverySession {
	sa := ns.sessionStore()
	if sa == nil {
		return nil
	}
	var a struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == "" || a.Offset == "" {
		return nil
	}
	sess := sa.RestoreSession(a.PID, a.Offset)
	if sess == nil {
		return nil
	}
	if ns.Socket(sess.SID) != nil {
		sa.ResumeSession(sess.SID, false)
		return nil
	}
	return sess
}
