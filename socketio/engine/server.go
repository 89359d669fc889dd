package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// Error codes of the reference server, sent as {"code":N,"message":"..."}
// with HTTP 400 (403 for ErrorForbidden).
const (
	ErrorUnknownTransport   = 0 // "Transport unknown"
	ErrorUnknownSID         = 1 // "Session ID unknown"
	ErrorBadHandshakeMethod = 2 // "Bad handshake method"
	ErrorBadRequest         = 3 // "Bad request"
	ErrorForbidden          = 4 // "Forbidden"
	ErrorUnsupportedVersion = 5 // "Unsupported protocol version"
)

var errorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// Server is an Engine.IO v4 server. It is an http.Handler that serves every
// request it is given as an Engine.IO request, whatever the path: mount it
// where the Engine.IO path should be. All methods are safe for concurrent
// use.
type Server struct {
	h    Handler
	opts Options

	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool

	observer Observer
	deflate  *deflateConfig // nil without Options.PerMessageDeflate

	lmu           sync.Mutex                                  // serializes changes of connListeners
	connListeners atomic.Pointer[[]*listener[func(*Session)]] // OnConnection

	stats serverStats

	count   atomic.Int64
	closeWG sync.WaitGroup // one per session until its OnClose returns
}

// NewServer returns a Server that reports sessions to h. opts may be nil.
// It panics when opts.Transports names a transport the engine does not
// implement or is empty but not nil (see Options.Transports): such a
// server could not serve what it was configured for.
func NewServer(h Handler, opts *Options) *Server {
	s := &Server{
		h:        h,
		opts:     opts.withDefaults(),
		sessions: make(map[string]*Session),
	}
	s.observer = s.opts.Observer
	s.deflate = newDeflateConfig(s.opts.PerMessageDeflate)
	if s.observer == nil {
		s.observer = NopObserver{}
	}
	return s
}

// ClientsCount is the number of open sessions.
func (s *Server) ClientsCount() int { return int(s.count.Load()) }

// Session returns the open session with the given id, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.Lock()
	sess := s.sessions[id]
	s.mu.Unlock()
	if sess == nil || sess.isClosed() {
		return nil
	}
	return sess
}

// Close closes every session (each gets a close packet where the transport
// allows and OnClose with ReasonServerClosing) and refuses later requests.
// It waits until every OnClose call has returned or ctx is done.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.Close(ReasonServerClosing)
	}
	done := make(chan struct{})
	go func() {
		s.closeWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP handles one Engine.IO request: a handshake, a long-polling GET
// or POST, or a WebSocket handshake (new session or upgrade).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.CORS != nil && s.applyCORS(w, r) {
		return
	}
	q := parseQuery(r.URL.RawQuery)
	transport := q.transport
	if !s.opts.allows(transport) {
		s.fail(w, r, ErrorUnknownTransport, "")
		return
	}
	isUpgrade := websocket.IsWebSocketUpgrade(r)
	if sid := q.sid; sid != "" {
		s.mu.Lock()
		sess := s.sessions[sid]
		s.mu.Unlock()
		if sess == nil {
			s.fail(w, r, ErrorUnknownSID, "")
			return
		}
		if transport == TransportWebSocket {
			if !isUpgrade {
				s.fail(w, r, ErrorBadRequest, "")
				return
			}
			s.serveUpgrade(w, r, sess)
			return
		}
		if isUpgrade {
			s.fail(w, r, ErrorBadRequest, "")
			return
		}
		s.servePolling(w, r, sess, q)
		return
	}
	if r.Method != http.MethodGet {
		s.fail(w, r, ErrorBadHandshakeMethod, "")
		return
	}
	if transport == TransportWebSocket && !isUpgrade {
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			s.fail(w, r, ErrorForbidden, err.Error())
			return
		}
	}
	if q.eio != "4" && !(q.eio == "3" && s.opts.AllowEIO3) {
		s.fail(w, r, ErrorUnsupportedVersion, "")
		return
	}
	if transport == TransportWebSocket {
		s.serveWebSocketHandshake(w, r, q)
		return
	}
	s.servePollingHandshake(w, r, q)
}

// fail writes an Engine.IO error response.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if msg == "" {
		msg = errorMessages[code]
	}
	status := http.StatusBadRequest
	if code == ErrorForbidden {
		status = http.StatusForbidden
	}
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	s.stats.refused[code].Add(1)
	s.obs().ConnectionError(r, code, msg)
	s.opts.Logger.Debug("engine.io request refused", "code", code, "message", msg,
		"method", r.Method, "url", r.URL.String(), "remote", r.RemoteAddr)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// originAllowed reports whether origin passes the CORS option.
func (s *Server) originAllowed(origin string, r *http.Request) bool {
	c := s.opts.CORS
	if c.AllowOrigin != nil {
		return c.AllowOrigin(origin, r)
	}
	return slices.Contains(c.Origins, "*") || slices.Contains(c.Origins, origin)
}

// ApplyCORS applies the CORS option to a request the server does not
// serve itself but that belongs with it, such as the client bundles the
// Socket.IO layer serves: it sets the CORS headers and reports whether the
// request was a preflight (OPTIONS), which it has answered. Without the
// CORS option it does nothing and returns false.
func (s *Server) ApplyCORS(w http.ResponseWriter, r *http.Request) bool {
	return s.opts.CORS != nil && s.applyCORS(w, r)
}

// applyCORS sets the CORS headers and reports whether the request was a
// preflight that has been answered.
func (s *Server) applyCORS(w http.ResponseWriter, r *http.Request) bool {
	c := s.opts.CORS
	h := w.Header()
	origin := r.Header.Get("Origin")
	wildcard := c.AllowOrigin == nil && slices.Contains(c.Origins, "*")
	switch {
	case wildcard && !(c.Credentials && origin != ""):
		h.Set("Access-Control-Allow-Origin", "*")
	case origin != "" && s.originAllowed(origin, r):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		if len(c.ExposedHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
		}
		return false
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(c.Methods, ","))
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
		h.Set("Access-Control-Allow-Headers", rh)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// newID returns a fresh session id: 20 base64url characters from 15 random
// bytes.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// keptRequest is what a session keeps of its handshake request: its
// method, URL, header, host, remote address and TLS state, shared with r
// (net/http never reuses a request's header map or URL), without its
// context. The context would keep, for as long as the session lives, the
// chain of contexts and requests that the HTTP server and the routers in
// front of the engine derived from it (about a kilobyte per connection).
func keptRequest(r *http.Request) *http.Request {
	return &http.Request{
		Method:     r.Method,
		URL:        r.URL,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     r.Header,
		Body:       http.NoBody,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: r.RequestURI,
		TLS:        r.TLS,
	}
}

// register creates and registers a session; nil when the server is closed.
func (s *Server) register(r *http.Request, transport string, q reqQuery) *Session {
	sess := &Session{srv: s, req: keptRequest(r), transport: transport}
	if q.eio == "3" {
		sess.v3 = true
		// As the reference: binary payloads unless b64 is set (to
		// anything but an empty string) in the handshake.
		sess.v3Binary = q.b64 == ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	for {
		sess.id = newID()
		if _, dup := s.sessions[sess.id]; !dup {
			break
		}
	}
	s.sessions[sess.id] = sess
	s.count.Add(1)
	s.closeWG.Add(1)
	return sess
}

// unregister removes sess from the session table.
func (s *Server) unregister(sess *Session) {
	s.mu.Lock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
	s.mu.Unlock()
}

// openPacket builds the open packet of sess: the JSON of
// {sid, upgrades, pingInterval, pingTimeout, maxPayload}, written directly
// (the sid is base64url and transport names are plain words, so nothing
// needs escaping).
func (s *Server) openPacket(sess *Session, upgrades []string) *Frame {
	b := make([]byte, 0, 128)
	b = append(b, byte(PacketOpen))
	b = append(b, `{"sid":"`...)
	b = append(b, sess.id...)
	b = append(b, `","upgrades":[`...)
	for i, u := range upgrades {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, u)
	}
	b = append(b, `],"pingInterval":`...)
	b = strconv.AppendInt(b, s.opts.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, s.opts.PingTimeout.Milliseconds(), 10)
	if !sess.v3 { // v3 clients have no maxPayload
		b = append(b, `,"maxPayload":`...)
		b = strconv.AppendInt(b, s.opts.MaxPayload, 10)
	}
	b = append(b, '}')
	return &Frame{typ: PacketOpen, ws: b, poll: b}
}

// cookie returns the Set-Cookie value for sess, or "".
func (s *Server) cookie(sess *Session) string {
	c := s.opts.Cookie
	if c == nil {
		return ""
	}
	ck := &http.Cookie{
		Name:     c.Name,
		Value:    sess.id,
		Path:     c.Path,
		Domain:   c.Domain,
		MaxAge:   c.MaxAge,
		Secure:   c.Secure,
		HttpOnly: !c.ScriptVisible,
		SameSite: c.SameSite,
	}
	return ck.String()
}

// open queues the open packet (and the initial packet), starts the
// heartbeat and calls OnOpen. It returns false when the session was closed
// in the meantime (by Server.Close).
//
// The handler lock is taken before the open packet is queued and held
// until OnOpen returns: once the packet can reach the client, the session
// can be closed (by the server, a slow-consumer close, the heartbeat),
// and its OnClose, which waits for that lock, must find OnOpen done.
func (s *Server) open(sess *Session, upgrades []string) bool {
	sess.hmu.Lock()
	defer sess.hmu.Unlock()
	sess.mu.Lock()
	if sess.closed {
		sess.mu.Unlock()
		return false
	}
	sess.queueLocked(s.openPacket(sess, upgrades))
	if s.opts.InitialPacket != nil {
		sess.queueLocked(NewFrame(s.opts.InitialPacket, false))
	}
	sess.schedulePingLocked()
	sess.mu.Unlock()
	if testHookQueuedOpen != nil {
		testHookQueuedOpen(sess)
	}
	s.opts.Logger.Debug("engine.io session opened", "sid", sess.id, "transport", sess.transport)
	sess.opened = true
	s.stats.opened.Add(1)
	if sess.conn = s.h.OnOpen(sess); sess.conn == nil {
		sess.conn = nopConn{}
	}
	s.notifyConnection(sess)
	return true
}

// testHookQueuedOpen, when set by a test, runs in open between queueing
// the open packet and calling OnOpen.
var testHookQueuedOpen func(*Session)

// reqQuery holds the query parameters the engine reads: the first value
// of each, as url.Values.Get would give it.
type reqQuery struct {
	transport, sid, eio, j, b64 string
	hasJ                        bool // j is present (JSONP), even if empty
}

// parseQuery reads the engine's parameters from a raw query string
// without building a url.Values, following url.ParseQuery's rules: pairs
// separated by '&', pairs with a ';' or a bad escape skipped, '+' and
// %XX decoded.
func parseQuery(raw string) reqQuery {
	var q reqQuery
	var seen uint8 // bits of the keys already seen
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" || strings.Contains(kv, ";") {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, ok := queryUnescape(k)
		if !ok {
			continue
		}
		var bit uint8
		var dst *string
		switch k {
		case "transport":
			bit, dst = 1, &q.transport
		case "sid":
			bit, dst = 2, &q.sid
		case "EIO":
			bit, dst = 4, &q.eio
		case "j":
			bit, dst = 8, &q.j
		case "b64":
			bit, dst = 16, &q.b64
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		v, ok = queryUnescape(v)
		if !ok {
			continue
		}
		seen |= bit
		*dst = v
		if bit == 8 {
			q.hasJ = true
		}
	}
	return q
}

// queryUnescape decodes one query component; ok is false for a bad
// escape.
func queryUnescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
