package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/socketio/parser"
)

// ErrManagerClosed is returned when a Manager is used after Close.
var ErrManagerClosed = errors.New("socket.io client: manager closed")

// closeFlushTimeout bounds how long a graceful close waits for queued
// packets to be written.
const closeFlushTimeout = 2 * time.Second

// Manager is one Engine.IO connection to a server, shared by the Sockets of
// several namespaces (multiplexing). It opens the connection when a Socket
// needs it, reconnects with exponential backoff after the connection is
// lost, and closes it when no Socket uses it any more. All methods are safe
// for concurrent use.
type Manager struct {
	cfg       *config
	base      *url.URL
	client    *http.Client
	ownClient bool
	dialer    *websocket.Dialer
	backoff   *Backoff
	cacheKey  string

	events serialQueue // manager event callbacks

	mu           sync.Mutex
	nsps         map[string]*Socket
	eng          *engineConn
	opening      bool
	reconnecting bool
	retryTimer   *time.Timer
	closed       bool
	ctx          context.Context // canceled by Close
	cancel       context.CancelFunc
	wg           sync.WaitGroup // connection attempts
	onReconnect  []func(attempt int)
	onAttempt    []func(attempt int)
	onReconnErr  []func(err error)
	onFailed     []func()
	onOpen       []func()
	onClose      []func(reason string, err error)
	closing      map[*engineConn]struct{} // connections being closed gracefully
}

// NewManager returns a Manager for the server at rawURL (http, https, ws or
// wss; any path in it is ignored: the Engine.IO path is opts.Path; its
// query is sent with every request, merged with opts.Query). It does not
// connect until a Socket is opened with Socket. The error reports an
// invalid URL or options.
func NewManager(rawURL string, opts *Options) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("socket.io client: %w", err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newManager(u, cfg)
}

func newManager(u *url.URL, cfg *config) (*Manager, error) {
	if err := cfg.withURLQuery(u); err != nil {
		return nil, err
	}
	base := &url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host, User: u.User, Path: cfg.Path}
	switch base.Scheme {
	case "http", "https":
	case "ws":
		base.Scheme = "http"
	case "wss":
		base.Scheme = "https"
	default:
		return nil, fmt.Errorf("socket.io client: unsupported URL scheme %q", u.Scheme)
	}
	if base.Host == "" {
		return nil, errors.New("socket.io client: URL has no host")
	}
	m := &Manager{cfg: cfg, base: base, backoff: cfg.backoff(), nsps: map[string]*Socket{}}
	m.client = cfg.HTTPClient
	if m.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		m.client = &http.Client{Transport: tr}
		m.ownClient = true
	}
	m.dialer = cfg.Dialer
	if m.dialer == nil {
		m.dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Socket returns the Socket of namespace nsp ("/" when empty) on this
// Manager, creating it and connecting it when needed. Calling it again for
// the same namespace returns the same Socket (reconnecting it if it was
// disconnected). opts may be nil.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if nsp == "" {
		nsp = "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	s, ok := m.nsps[nsp]
	if !ok {
		s = newSocket(m, nsp, opts)
		m.nsps[nsp] = s
	}
	m.mu.Unlock()
	if opts == nil || !opts.NoAutoConnect {
		s.Connect()
	}
	return s
}

// hasActiveSocket reports whether namespace nsp already has an active Socket.
func (m *Manager) hasActiveSocket(nsp string) bool {
	m.mu.Lock()
	s := m.nsps[nsp]
	m.mu.Unlock()
	return s != nil && s.Active()
}

// Transport returns the name of the transport in use ("polling" or
// "websocket"), or "" when not connected.
func (m *Manager) Transport() string {
	m.mu.Lock()
	eng := m.eng
	m.mu.Unlock()
	if eng == nil {
		return ""
	}
	return eng.transportName()
}

// Close disconnects every Socket ("io client disconnect"), closes the
// connection, stops reconnecting and waits for the Manager's network
// goroutines to end. The Manager cannot be used again.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	socks := make([]*Socket, 0, len(m.nsps))
	for _, s := range m.nsps {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	for _, s := range socks {
		s.Disconnect()
	}
	m.mu.Lock()
	m.closed = true
	m.cancel()
	if m.retryTimer != nil {
		m.retryTimer.Stop()
	}
	m.reconnecting = false
	engs := []*engineConn{}
	if m.eng != nil {
		engs = append(engs, m.eng)
	}
	for e := range m.closing {
		engs = append(engs, e)
	}
	m.eng = nil
	m.mu.Unlock()
	forgetManager(m)
	for _, eng := range engs {
		eng.close(closeFlushTimeout)
	}
	m.wg.Wait()
	if m.ownClient {
		m.client.CloseIdleConnections()
	}
	return nil
}

// OnOpen registers fn, called each time the connection opens.
func (m *Manager) OnOpen(fn func()) { m.addCallback(func() { m.onOpen = append(m.onOpen, fn) }) }

// OnClose registers fn, called each time the connection closes, with the
// disconnect reason and the transport error if any.
func (m *Manager) OnClose(fn func(reason string, err error)) {
	m.addCallback(func() { m.onClose = append(m.onClose, fn) })
}

// OnReconnectAttempt registers fn, called before each reconnection attempt
// with its number (from 1).
func (m *Manager) OnReconnectAttempt(fn func(attempt int)) {
	m.addCallback(func() { m.onAttempt = append(m.onAttempt, fn) })
}

// OnReconnect registers fn, called when a reconnection succeeds, with the
// number of attempts it took.
func (m *Manager) OnReconnect(fn func(attempt int)) {
	m.addCallback(func() { m.onReconnect = append(m.onReconnect, fn) })
}

// OnReconnectError registers fn, called when a reconnection attempt fails.
func (m *Manager) OnReconnectError(fn func(err error)) {
	m.addCallback(func() { m.onReconnErr = append(m.onReconnErr, fn) })
}

// OnReconnectFailed registers fn, called when Options.ReconnectionAttempts
// attempts have failed and the Manager gives up.
func (m *Manager) OnReconnectFailed(fn func()) {
	m.addCallback(func() { m.onFailed = append(m.onFailed, fn) })
}

func (m *Manager) addCallback(add func()) {
	m.mu.Lock()
	add()
	m.mu.Unlock()
}

// emitEvent runs call on the manager's event goroutine, after the calls
// queued before it. Callers hold m.mu, so that the order of the calls
// follows the order of the state changes.
func (m *Manager) emitEvent(call func()) { m.events.push(call) }

// openLocked starts connecting unless connected, connecting or waiting to
// reconnect. Called with m.mu held.
func (m *Manager) openLocked() {
	if m.closed || m.eng != nil || m.opening || m.reconnecting {
		return
	}
	m.opening = true
	m.wg.Add(1)
	go m.attempt(0)
}

// attempt dials the server once; n is the reconnection attempt number (0
// for the first connection).
func (m *Manager) attempt(n int) {
	defer m.wg.Done()
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	h := &managerConn{m: m, readyCh: make(chan struct{})}
	if m.cfg.Parser != nil {
		h.dec = m.cfg.Parser.NewDecoder()
	}
	eng, err := dialEngine(ctx, m.cfg, m.base, m.client, m.dialer, h)
	var nerr net.Error
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout())
	cancel()

	m.mu.Lock()
	m.opening = false
	if err == nil && (m.closed || !m.anyActiveLocked()) {
		m.mu.Unlock()
		close(h.readyCh) // h.eng stays nil: the close is not reported
		eng.close(0)
		return
	}
	if err != nil {
		if m.closed {
			m.mu.Unlock()
			return
		}
		cerr := &ConnectError{Message: err.Error(), Err: err}
		if timedOut {
			cerr.Message = "timeout"
		}
		for _, s := range m.nsps {
			s.onManagerError(cerr)
		}
		if n > 0 {
			cbs := m.onReconnErr
			m.emitEvent(func() {
				for _, fn := range cbs {
					fn(cerr)
				}
			})
		}
		m.reconnectLocked()
		m.mu.Unlock()
		return
	}
	m.eng = eng
	h.eng = eng
	m.backoff.Reset()
	opens, recs := m.onOpen, m.onReconnect
	m.emitEvent(func() {
		for _, fn := range opens {
			fn()
		}
		if n > 0 {
			for _, fn := range recs {
				fn(n)
			}
		}
	})
	socks := m.activeSocketsLocked()
	m.mu.Unlock()
	// The CONNECT packets are queued before anything read is processed.
	for _, s := range socks {
		s.onManagerOpen(eng)
	}
	close(h.readyCh)
}

// reconnectLocked schedules the next reconnection attempt, when allowed.
func (m *Manager) reconnectLocked() {
	if m.closed || m.reconnecting || m.cfg.DisableReconnection || !m.anyActiveLocked() {
		return
	}
	n := m.backoff.Attempts() + 1
	if m.cfg.giveUp(n) {
		m.backoff.Reset()
		cbs := m.onFailed
		m.emitEvent(func() {
			for _, fn := range cbs {
				fn()
			}
		})
		return
	}
	delay := m.backoff.Duration()
	m.reconnecting = true
	m.retryTimer = time.AfterFunc(delay, func() {
		m.mu.Lock()
		m.reconnecting = false
		if m.closed || m.eng != nil || m.opening || !m.anyActiveLocked() {
			m.mu.Unlock()
			return
		}
		m.opening = true
		m.wg.Add(1)
		cbs := m.onAttempt
		m.emitEvent(func() {
			for _, fn := range cbs {
				fn(n)
			}
		})
		m.mu.Unlock()
		m.attempt(n)
	})
}

func (m *Manager) anyActiveLocked() bool {
	for _, s := range m.nsps {
		if s.Active() {
			return true
		}
	}
	return false
}

func (m *Manager) activeSocketsLocked() []*Socket {
	var out []*Socket
	for _, s := range m.nsps {
		if s.Active() {
			out = append(out, s)
		}
	}
	return out
}

// socketActivated is called when a Socket wants to connect: it gets the
// open connection (then sends its CONNECT) or makes the Manager connect.
func (m *Manager) socketActivated(s *Socket) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.mu.Lock()
		s.active = false
		s.emitConnectErrorLocked(&ConnectError{Message: ErrManagerClosed.Error(), Err: ErrManagerClosed})
		s.mu.Unlock()
		return
	}
	eng := m.eng
	if eng == nil {
		m.openLocked()
	}
	m.mu.Unlock()
	if eng != nil {
		s.onManagerOpen(eng)
	}
}

// socketDeactivated is called when a Socket stops wanting a connection;
// the connection closes when no other Socket uses it.
func (m *Manager) socketDeactivated() {
	m.mu.Lock()
	if m.anyActiveLocked() {
		m.mu.Unlock()
		return
	}
	if m.retryTimer != nil {
		m.retryTimer.Stop()
	}
	m.reconnecting = false
	m.backoff.Reset()
	eng := m.eng
	m.eng = nil
	if eng != nil {
		if m.closing == nil {
			m.closing = map[*engineConn]struct{}{}
		}
		m.closing[eng] = struct{}{}
	}
	m.mu.Unlock()
	if eng != nil {
		go func() {
			eng.close(closeFlushTimeout)
			m.mu.Lock()
			delete(m.closing, eng)
			idle := m.eng == nil && !m.opening
			m.mu.Unlock()
			if idle && m.ownClient {
				m.client.CloseIdleConnections()
			}
		}()
	}
}

// managerConn receives the packets of one engine connection and decodes
// Socket.IO packets, reassembling binary ones.
type managerConn struct {
	m       *Manager
	eng     *engineConn
	readyCh chan struct{} // closed once the Manager has taken eng

	pending *parser.Packet
	atts    [][]byte
	dec     parser.Decoder // with Options.Parser only
}

// wait holds back what the connection reports until the Manager has taken
// it; false means the Manager is closed.
func (h *managerConn) wait() bool {
	select {
	case <-h.readyCh:
		return true
	case <-h.m.ctx.Done():
		return false
	}
}

func (h *managerConn) onEngineMessage(p packet) {
	if !h.wait() || h.eng == nil {
		return
	}
	if h.dec != nil {
		pkt, atts, done, err := h.dec.Add(p.Data, p.Binary)
		if err != nil {
			h.eng.terminate(ReasonParseError, err)
		} else if done {
			h.dispatch(pkt, atts)
		}
		return
	}
	if p.Binary {
		if h.pending == nil {
			h.eng.terminate(ReasonParseError, errors.New("socket.io client: unexpected binary message"))
			return
		}
		h.atts = append(h.atts, p.Data)
		if len(h.atts) == h.pending.Attachments {
			pkt, atts := *h.pending, h.atts
			h.pending, h.atts = nil, nil
			h.dispatch(pkt, atts)
		}
		return
	}
	if h.pending != nil {
		h.eng.terminate(ReasonParseError, errors.New("socket.io client: missing binary attachments"))
		return
	}
	data := append([]byte(nil), p.Data...)
	pkt, err := parser.Decode(data, &parser.DecodeOptions{MaxAttachments: 1 << 16})
	if err != nil {
		h.eng.terminate(ReasonParseError, err)
		return
	}
	if pkt.Type.IsBinary() && pkt.Attachments > 0 {
		h.pending = &pkt
		return
	}
	h.dispatch(pkt, nil)
}

func (h *managerConn) dispatch(pkt parser.Packet, atts [][]byte) {
	h.m.mu.Lock()
	s := h.m.nsps[pkt.Namespace]
	h.m.mu.Unlock()
	if s != nil {
		s.onPacket(h.eng, pkt, atts)
	}
}

func (h *managerConn) onEngineClose(reason string, err error) {
	if !h.wait() {
		return
	}
	m := h.m
	m.mu.Lock()
	if m.eng != h.eng || h.eng == nil {
		m.mu.Unlock()
		return
	}
	m.eng = nil
	socks := m.activeSocketsLocked()
	cbs := m.onClose
	m.emitEvent(func() {
		for _, fn := range cbs {
			fn(reason, err)
		}
	})
	m.mu.Unlock()
	for _, s := range socks {
		s.onManagerClose(h.eng, reason)
	}
	m.mu.Lock()
	m.reconnectLocked()
	m.mu.Unlock()
}
