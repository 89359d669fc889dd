package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chatd/chatd/socketio/internal/eio"
	"github.com/gorilla/websocket"
)

// Disconnect reasons, as the official client names them.
const (
	// ReasonIOServerDisconnect: the server disconnected the socket
	// (a DISCONNECT packet). No automatic reconnection follows.
	ReasonIOServerDisconnect = "io server disconnect"
	// ReasonIOClientDisconnect: the application called Disconnect or
	// Close. No automatic reconnection follows.
	ReasonIOClientDisconnect = "io client disconnect"
	// ReasonPingTimeout: no ping arrived from the server within
	// pingInterval+pingTimeout.
	ReasonPingTimeout = "ping timeout"
	// ReasonTransportClose: the server closed the connection (an
	// Engine.IO close packet), or the WebSocket connection ended, cleanly
	// or not (a close frame, EOF, a reset: a server that went away).
	ReasonTransportClose = "transport close"
	// ReasonTransportError: a long-polling request failed (for example
	// to a server that went away), or the server broke the WebSocket
	// protocol.
	ReasonTransportError = "transport error"
	// ReasonParseError: the server sent a packet the client cannot decode.
	ReasonParseError = "parse error"
)

// handshake is the JSON of the Engine.IO open packet.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// engineHandler receives what an engine connection reads. Its methods are
// called from the connection's reader goroutine, one at a time, without any
// engine lock held; onClose is called exactly once, last.
type engineHandler interface {
	onEngineMessage(p packet)
	onEngineClose(reason string, err error)
}

// transport is one Engine.IO transport of a connection. write is called by
// the writer goroutine only; read by the reader goroutine only; abort from
// anywhere.
type transport interface {
	name() string
	// write sends the packets, in order.
	write(ctx context.Context, pkts []packet) error
	// read returns the next packets.
	read(ctx context.Context) ([]packet, error)
	// abort releases the transport at once, unblocking read and write.
	abort()
}

// engineConn is one Engine.IO v4 client connection (one session id).
type engineConn struct {
	cfg     *config
	base    *url.URL // http(s)://host with the path, no query
	client  *http.Client
	dialer  *websocket.Dialer
	handler engineHandler

	sid          string
	upgrades     []string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int

	ctx    context.Context // canceled when the connection ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // reader, writer and upgrade goroutines

	mu        sync.Mutex
	cond      *sync.Cond
	tr        transport
	queue     []packet
	paused    bool // upgrade in progress: the writer must not start a write
	writing   bool
	closing   bool // graceful close requested: flush the queue, then close
	closed    bool
	pingTimer *time.Timer
	stopRead  atomic.Bool // the polling reader stops after its current GET
	readDone  chan struct{}
	closedCh  chan struct{}
}

// dialEngine performs the Engine.IO handshake over the first configured
// transport and starts the connection's goroutines.
func dialEngine(ctx context.Context, cfg *config, base *url.URL, client *http.Client, dialer *websocket.Dialer, h engineHandler) (*engineConn, error) {
	e := &engineConn{cfg: cfg, base: base, client: client, dialer: dialer, handler: h, closedCh: make(chan struct{})}
	e.cond = sync.NewCond(&e.mu)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, e.cancel) // the handshake follows ctx
	var (
		tr   transport
		rest []packet
		err  error
	)
	if cfg.transports[0] == TransportWebSocket {
		tr, rest, err = e.openWebSocket()
	} else {
		tr, rest, err = e.openPolling()
	}
	if !stop() || err != nil {
		if tr != nil {
			tr.abort()
		}
		e.cancel()
		if err == nil || ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, err
	}
	e.tr = tr
	e.pingTimer = time.AfterFunc(e.pingInterval+e.pingTimeout, func() {
		e.terminate(ReasonPingTimeout, nil)
	})
	e.readDone = make(chan struct{})
	e.wg.Add(2)
	go e.writer()
	go e.reader(tr, rest, e.readDone)
	if tr.name() == TransportPolling && !cfg.DisableUpgrade &&
		contains(cfg.transports, TransportWebSocket) && contains(e.upgrades, TransportWebSocket) {
		e.wg.Add(1)
		go e.upgrade()
	}
	return e, nil
}

func (e *engineConn) parseOpen(p packet) error {
	if p.Type != eio.PacketOpen || p.Binary {
		return fmt.Errorf("%w: expected an open packet", errBadPacket)
	}
	var hs handshake
	if err := json.Unmarshal(p.Data, &hs); err != nil || hs.SID == "" {
		return fmt.Errorf("%w: bad open packet %q", errBadPacket, p.Data)
	}
	e.sid = hs.SID
	e.upgrades = hs.Upgrades
	e.pingInterval = time.Duration(hs.PingInterval) * time.Millisecond
	e.pingTimeout = time.Duration(hs.PingTimeout) * time.Millisecond
	e.maxPayload = hs.MaxPayload
	return nil
}

// requestURL returns the endpoint URL for a transport, with the query
// parameters of the protocol and of the options.
func (e *engineConn) requestURL(transportName string, withSID bool) string {
	u := *e.base
	q := url.Values{}
	for k, v := range e.cfg.Query {
		q[k] = append([]string(nil), v...)
	}
	q.Set("EIO", "4")
	q.Set("transport", transportName)
	if withSID {
		q.Set("sid", e.sid)
	}
	if transportName == TransportWebSocket {
		switch u.Scheme {
		case "https":
			u.Scheme = "wss"
		default:
			u.Scheme = "ws"
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// send queues packets for the writer; they are kept together and in order.
// It reports false when the connection is closed or closing.
func (e *engineConn) send(pkts ...packet) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.closing {
		return false
	}
	e.queue = append(e.queue, pkts...)
	e.cond.Broadcast()
	return true
}

// writable reports whether a packet sent now would be written without
// waiting for an upgrade (used for volatile emits).
func (e *engineConn) writable() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.closed && !e.closing && !e.paused
}

// transportName returns the name of the transport in use.
func (e *engineConn) transportName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tr.name()
}

// close flushes the queued packets, tells the server the connection ends
// and closes it; after timeout it gives up flushing. It waits for the
// connection's goroutines to end.
func (e *engineConn) close(timeout time.Duration) {
	e.mu.Lock()
	if !e.closed {
		e.closing = true
		e.cond.Broadcast()
	}
	e.mu.Unlock()
	t := time.NewTimer(timeout)
	select {
	case <-e.closedCh:
	case <-t.C:
		e.terminate(ReasonIOClientDisconnect, nil)
	}
	t.Stop()
	e.wg.Wait()
}

// terminate ends the connection at once and reports reason to the handler
// (once, whatever the number of calls).
func (e *engineConn) terminate(reason string, err error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.cond.Broadcast()
	if e.pingTimer != nil {
		e.pingTimer.Stop()
	}
	tr := e.tr
	e.mu.Unlock()
	e.cancel()
	if tr != nil {
		tr.abort()
	}
	close(e.closedCh)
	e.handler.onEngineClose(reason, err)
}

// writer sends the queued packets: one POST per batch on polling, one frame
// per packet on WebSocket.
func (e *engineConn) writer() {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		for !e.closed && (e.paused || (len(e.queue) == 0 && !e.closing)) {
			e.cond.Wait()
		}
		if e.closed {
			e.mu.Unlock()
			return
		}
		tr := e.tr
		var batch []packet
		if len(e.queue) == 0 { // closing, everything flushed
			e.mu.Unlock()
			if tr.name() == TransportPolling {
				_ = tr.write(e.ctx, []packet{{Type: eio.PacketClose}})
			} else if ws, ok := tr.(*wsTransport); ok {
				ws.writeClose()
			}
			e.terminate(ReasonIOClientDisconnect, nil)
			return
		}
		n := len(e.queue)
		if tr.name() == TransportPolling {
			n = takeBatch(e.queue, e.maxPayload)
		}
		batch = append(batch, e.queue[:n]...)
		e.queue = append(e.queue[:0], e.queue[n:]...)
		e.writing = true
		e.mu.Unlock()

		err := tr.write(e.ctx, batch)

		e.mu.Lock()
		e.writing = false
		e.cond.Broadcast()
		e.mu.Unlock()
		if err != nil {
			e.terminate(errorReason(tr, err), err)
			return
		}
	}
}

// errorReason names the end of a connection whose transport failed with
// err, as the official client does. Over polling a failed request is a
// "transport error" ("xhr poll error", "xhr post error"). Over WebSocket
// the loss of the underlying connection, clean (a close frame) or not (EOF,
// a reset, any network error), is a "transport close": the official client
// (with the ws package, and in browsers) sees a close event then, never an
// error event, and ignores failed writes until that close event. Only a
// WebSocket protocol violation (a bad frame, a message over the read
// limit) is a "transport error". A packet that cannot be decoded is a
// "parse error" on either transport.
func errorReason(tr transport, err error) string {
	if errors.Is(err, errBadPacket) {
		return ReasonParseError
	}
	if tr.name() != TransportWebSocket {
		return ReasonTransportError
	}
	var (
		ce *websocket.CloseError
		ne net.Error
	)
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// reader reads packets from tr until the connection ends or, on polling,
// until an upgrade asks it to stop. first holds packets that came with the
// handshake.
func (e *engineConn) reader(tr transport, first []packet, done chan struct{}) {
	defer e.wg.Done()
	defer close(done)
	if !e.handle(first) {
		return
	}
	for {
		if tr.name() == TransportPolling && e.stopRead.Load() {
			return
		}
		pkts, err := tr.read(e.ctx)
		if err != nil {
			e.terminate(errorReason(tr, err), err)
			return
		}
		if !e.handle(pkts) {
			return
		}
	}
}

// handle processes received packets; it returns false when the connection
// has ended.
func (e *engineConn) handle(pkts []packet) bool {
	for _, p := range pkts {
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			return false
		}
		switch {
		case p.Binary || p.Type == eio.PacketMessage:
			e.handler.onEngineMessage(p)
		case p.Type == eio.PacketPing:
			e.mu.Lock()
			e.pingTimer.Reset(e.pingInterval + e.pingTimeout)
			e.mu.Unlock()
			e.send(packet{Type: eio.PacketPong})
		case p.Type == eio.PacketClose:
			e.terminate(ReasonTransportClose, nil)
			return false
		case p.Type == eio.PacketNoop, p.Type == eio.PacketPong:
		default:
			e.terminate(ReasonParseError, fmt.Errorf("%w: unexpected packet %q", errBadPacket, p.Type))
			return false
		}
	}
	return true
}

// upgrade probes a WebSocket for the session and, when the probe succeeds,
// moves the connection onto it: pause the writer, let the pending poll end,
// send the upgrade packet, then resume on WebSocket.
func (e *engineConn) upgrade() {
	defer e.wg.Done()
	conn, _, err := e.dialWS(e.ctx, true)
	if err != nil {
		return // stay on polling, as the official client does
	}
	ws := &wsTransport{conn: conn}
	ok := false
	defer func() {
		if !ok {
			ws.abort()
		}
	}()
	stop := context.AfterFunc(e.ctx, ws.abort)
	defer stop()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(e.pingInterval + e.pingTimeout))
	mt, msg, err := conn.ReadMessage()
	if err != nil || mt != websocket.TextMessage || string(msg) != "3probe" {
		return
	}
	_ = conn.SetReadDeadline(time.Time{})

	e.mu.Lock()
	e.paused = true
	for e.writing && !e.closed {
		e.cond.Wait()
	}
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return
	}
	e.stopRead.Store(true)
	<-e.readDone // the pending poll ends: the server answers it with a noop
	e.mu.Lock()
	closed = e.closed
	e.mu.Unlock()
	if closed {
		return
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte{byte(eio.PacketUpgrade)}); err != nil {
		e.terminate(ReasonTransportError, err)
		return
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	old := e.tr
	e.tr = ws
	e.paused = false
	e.cond.Broadcast()
	done := make(chan struct{})
	e.readDone = done
	e.wg.Add(1)
	e.mu.Unlock()
	ok = true
	old.abort()
	go e.reader(ws, nil, done)
}

// dialWS opens a WebSocket to the endpoint. The dial ends when ctx ends or
// after the configured Timeout, whichever comes first: the dialer's network
// connection is closed then, even during the WebSocket handshake.
func (e *engineConn) dialWS(ctx context.Context, withSID bool) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	d := *e.dialer
	netDial := d.NetDialContext
	if netDial == nil && d.NetDial != nil {
		nd := d.NetDial
		netDial = func(_ context.Context, network, addr string) (net.Conn, error) { return nd(network, addr) }
	}
	if netDial == nil {
		netDial = (&net.Dialer{}).DialContext
	}
	d.NetDial = nil
	var stopWatch func() bool
	outer := ctx
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := netDial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// Unblock the handshake when the dial's context ends.
		stopWatch = context.AfterFunc(outer, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
		return c, nil
	}
	conn, resp, err := d.DialContext(ctx, e.requestURL(TransportWebSocket, withSID), e.cfg.Header.Clone())
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err == nil && stopWatch != nil && !stopWatch() {
		conn.Close() // the deadline fired as the handshake completed
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, resp, fmt.Errorf("websocket error: %w", err)
	}
	return conn, resp, nil
}

// openWebSocket performs the handshake directly over WebSocket.
func (e *engineConn) openWebSocket() (transport, []packet, error) {
	conn, _, err := e.dialWS(e.ctx, false)
	if err != nil {
		return nil, nil, err
	}
	ws := &wsTransport{conn: conn}
	stop := context.AfterFunc(e.ctx, ws.abort)
	defer stop()
	pkts, err := ws.read(e.ctx)
	if err == nil && len(pkts) > 0 {
		err = e.parseOpen(pkts[0])
	} else if err == nil {
		err = errBadPacket
	}
	if err != nil {
		ws.abort()
		return nil, nil, fmt.Errorf("websocket error: %w", err)
	}
	return ws, nil, nil
}

// openPolling performs the handshake over HTTP long-polling.
func (e *engineConn) openPolling() (transport, []packet, error) {
	pt := &pollTransport{e: e}
	pkts, err := pt.get(e.ctx, false)
	if err == nil {
		err = e.parseOpen(pkts[0])
	}
	if err != nil {
		return nil, nil, fmt.Errorf("xhr poll error: %w", err)
	}
	return pt, pkts[1:], nil
}

// pollTransport is the HTTP long-polling transport.
type pollTransport struct {
	e       *engineConn
	counter atomic.Uint64
}

func (t *pollTransport) name() string { return TransportPolling }

func (t *pollTransport) url() string {
	u := t.e.requestURL(TransportPolling, true)
	// A cache buster, like the official client's "t" parameter.
	return u + "&t=" + strconv.FormatUint(t.counter.Add(1), 36)
}

func (t *pollTransport) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range t.e.cfg.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	return req, nil
}

func (t *pollTransport) get(ctx context.Context, withSID bool) ([]packet, error) {
	u := t.e.requestURL(TransportPolling, withSID)
	if withSID {
		u = t.url()
	}
	req, err := t.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("polling GET: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return decodePayload(body)
}

func (t *pollTransport) read(ctx context.Context) ([]packet, error) { return t.get(ctx, true) }

func (t *pollTransport) write(ctx context.Context, pkts []packet) error {
	req, err := t.newRequest(ctx, http.MethodPost, t.url(), strings.NewReader(string(encodePayload(pkts))))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := t.e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("polling POST: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// abort: the requests follow the connection's context, canceled by
// terminate.
func (t *pollTransport) abort() {}

// wsTransport is the WebSocket transport.
type wsTransport struct {
	conn      *websocket.Conn
	abortOnce sync.Once
}

func (t *wsTransport) name() string { return TransportWebSocket }

func (t *wsTransport) write(_ context.Context, pkts []packet) error {
	var buf []byte
	for _, p := range pkts {
		var err error
		if p.Binary {
			err = t.conn.WriteMessage(websocket.BinaryMessage, p.Data)
		} else {
			buf = appendPacket(buf[:0], p)
			err = t.conn.WriteMessage(websocket.TextMessage, buf)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *wsTransport) read(context.Context) ([]packet, error) {
	mt, msg, err := t.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt == websocket.BinaryMessage {
		return []packet{binaryMessage(msg)}, nil
	}
	if len(msg) > 0 && msg[0] == 'b' {
		return nil, fmt.Errorf("%w: base64 packet on WebSocket", errBadPacket)
	}
	p, err := decodeTextPacket(msg)
	if err != nil {
		return nil, err
	}
	return []packet{p}, nil
}

// writeClose sends a normal closure frame (best effort).
func (t *wsTransport) writeClose() {
	_ = t.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

func (t *wsTransport) abort() { t.abortOnce.Do(func() { t.conn.Close() }) }
