package engine

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Transport names.
const (
	// TransportPolling is HTTP long-polling (and JSONP polling).
	TransportPolling = "polling"
	// TransportWebSocket is WebSocket.
	TransportWebSocket = "websocket"
	// TransportWebTransport is WebTransport over HTTP/3: one bidirectional
	// stream of a WebTransport session carries the packets, framed with a
	// length header (see Server.ServeWebTransport). The HTTP/3 listener is
	// not part of the engine (package socketio/h3 provides one).
	TransportWebTransport = "webtransport"
)

// Options configure a Server. The zero value gives the defaults of the
// reference Engine.IO server.
type Options struct {
	// PingInterval is the time between a pong (or the open packet) and the
	// next server ping. Defaults to 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong after a ping
	// before closing the session with ReasonPingTimeout. Defaults to 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds an upgrade from polling to WebSocket: a
	// WebSocket that has not sent the upgrade packet in time is closed and
	// the session stays on polling. Defaults to 10s.
	UpgradeTimeout time.Duration
	// MaxPayload is the largest polling POST body and the largest WebSocket
	// message accepted from a client (maxHttpBufferSize), advertised as
	// maxPayload. It also bounds the body of one polling GET response,
	// except that a single larger packet is still sent. Defaults to 1e6.
	MaxPayload int64
	// MaxQueuedBytes bounds the bytes waiting to be written to one session;
	// a session over it is closed with ReasonSlowConsumer. Defaults to 4 MiB.
	MaxQueuedBytes int
	// WriteTimeout bounds each WebSocket write: a write fails when it has
	// not completed within WriteTimeout/2 to WriteTimeout (the deadline is
	// renewed once less than half of it is left). Defaults to 10s.
	WriteTimeout time.Duration
	// Transports lists the allowed transports: TransportPolling,
	// TransportWebSocket and/or TransportWebTransport (in any order; a
	// name may repeat). Defaults to polling and WebSocket when nil.
	// WebTransport is opt-in, as in the reference: when listed, polling
	// sessions advertise it as an upgrade (after "websocket") and
	// ServeWebTransport accepts sessions; it still needs an HTTP/3
	// listener in front (package socketio/h3). Any other name or an empty
	// non-nil list makes NewServer panic: a request for a transport the
	// server cannot serve is refused with ErrorUnknownTransport in any
	// case.
	Transports []string
	// DisableUpgrades stops the server from offering and accepting upgrades
	// from polling to WebSocket (allowUpgrades=false). Defaults to false.
	DisableUpgrades bool
	// Cookie, when set, makes the handshake response set a cookie holding
	// the session id (for sticky load balancing). Defaults to nil (no cookie).
	Cookie *Cookie
	// AllowRequest is called for each handshake request (a request without
	// sid, polling or WebSocket). A non-nil error refuses it with HTTP 403
	// and {"code":4,"message":err.Error()}. Defaults to nil (allow all).
	AllowRequest func(r *http.Request) error
	// CORS, when set, adds CORS headers to every HTTP response, answers
	// preflight requests, and refuses WebSocket handshakes from origins it
	// does not allow. Defaults to nil (no CORS headers, no origin check).
	CORS *CORS
	// CompressionThreshold is the smallest polling response body that is
	// compressed (gzip or deflate, as the request's Accept-Encoding
	// allows). A negative value disables compression. Defaults to 1024.
	CompressionThreshold int
	// PerMessageDeflate, when set, negotiates WebSocket compression
	// (RFC 7692) with the clients that offer it; see PerMessageDeflate.
	// Defaults to nil: no WebSocket message is compressed (as in the
	// reference, where perMessageDeflate is off by default).
	PerMessageDeflate *PerMessageDeflate
	// AllowEIO3 accepts Engine.IO v3 clients (EIO=3 in the handshake, as
	// socket.io-client 2.x sends): their length-prefixed polling payloads,
	// binary as "b4"+base64 (or binary payloads for clients that do not
	// ask for base64 with b64), binary WebSocket messages prefixed with
	// the type byte, and the heartbeat of v3, in which the client pings
	// and the server answers (a session with no packet from the client
	// for PingInterval+PingTimeout is closed with ReasonPingTimeout).
	// Defaults to false: EIO=3 is refused with ErrorUnsupportedVersion,
	// as in the reference (allowEIO3).
	AllowEIO3 bool
	// InitialPacket, when set, is sent as a text message right after the
	// open packet of every session. Defaults to nil.
	InitialPacket []byte
	// Observer, when set, is told of engine events and may change response
	// headers. Defaults to nil (NopObserver).
	Observer Observer
	// Logger receives debug logs of session events and errors. Defaults to
	// a logger that discards everything.
	Logger *slog.Logger
}

// Cookie configures the session id cookie set on handshake responses. Its
// zero value gives the reference defaults: name "io", path "/", HttpOnly,
// SameSite=Lax.
type Cookie struct {
	// Name is the cookie name. Defaults to "io".
	Name string
	// Path is the cookie path. Defaults to "/".
	Path string
	// Domain is the cookie domain. Defaults to none (the request host).
	Domain string
	// MaxAge in seconds; zero means a session cookie. Defaults to 0.
	MaxAge int
	// Secure restricts the cookie to HTTPS. Defaults to false.
	Secure bool
	// ScriptVisible omits the HttpOnly attribute. Defaults to false (the
	// cookie is HttpOnly).
	ScriptVisible bool
	// SameSite is the SameSite attribute. Defaults to http.SameSiteLaxMode.
	SameSite http.SameSite
}

// CORS configures cross-origin headers for the polling transport and the
// origin check of WebSocket handshakes.
type CORS struct {
	// Origins lists the allowed origins, compared exactly with the Origin
	// header; "*" allows any origin. Defaults to none.
	Origins []string
	// AllowOrigin decides whether an origin is allowed; it takes precedence
	// over Origins when set. Defaults to nil.
	AllowOrigin func(origin string, r *http.Request) bool
	// Credentials adds Access-Control-Allow-Credentials: true. With "*" in
	// Origins the request's origin is then echoed instead of "*", since
	// browsers refuse credentials with a wildcard. Defaults to false.
	Credentials bool
	// Methods are the methods announced to preflight requests. Defaults to
	// GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders are announced to preflight requests. Defaults to the
	// request's Access-Control-Request-Headers.
	AllowedHeaders []string
	// ExposedHeaders are sent as Access-Control-Expose-Headers. Defaults to
	// none.
	ExposedHeaders []string
	// MaxAge is sent as Access-Control-Max-Age on preflight responses when
	// positive. Defaults to 0 (not sent).
	MaxAge time.Duration
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1e6
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = 4 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Transports == nil {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	} else {
		c.Transports = slices.Clone(c.Transports)
	}
	if err := checkTransports(c.Transports); err != nil {
		panic(err.Error())
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = 1024
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Cookie != nil {
		ck := *c.Cookie
		if ck.Name == "" {
			ck.Name = "io"
		}
		if ck.Path == "" {
			ck.Path = "/"
		}
		if ck.SameSite == 0 {
			ck.SameSite = http.SameSiteLaxMode
		}
		c.Cookie = &ck
	}
	if c.PerMessageDeflate != nil {
		d := *c.PerMessageDeflate
		c.PerMessageDeflate = &d
	}
	if c.CORS != nil {
		cc := *c.CORS
		if len(cc.Methods) == 0 {
			cc.Methods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}
		}
		c.CORS = &cc
	}
	return c
}

// checkTransports reports a Transports list naming a transport the engine
// does not implement, or none at all.
func checkTransports(ts []string) error {
	if len(ts) == 0 {
		return errors.New("engine: Options.Transports lists no transport (nil means both)")
	}
	for _, t := range ts {
		if t != TransportPolling && t != TransportWebSocket && t != TransportWebTransport {
			return fmt.Errorf("engine: unknown transport %q in Options.Transports (want %q, %q or %q)", t, TransportPolling, TransportWebSocket, TransportWebTransport)
		}
	}
	return nil
}

// allows reports whether transport is one the server serves over HTTP/1.1
// and the options allow. WebTransport sessions do not come through
// ServeHTTP: a request naming it is refused as an unknown transport.
func (o *Options) allows(transport string) bool {
	return (transport == TransportPolling || transport == TransportWebSocket) && slices.Contains(o.Transports, transport)
}
