package client

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/socketio/parser"
)

// Transport names, for Options.Transports.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// NoRandomization, as Options.RandomizationFactor or Backoff.Jitter,
// turns the jitter of the reconnection delay off: the official client's
// randomizationFactor: 0. (A zero RandomizationFactor means the default,
// 0.5; any negative value means no jitter.)
const NoRandomization = -1.0

// NoReconnectionAttempts, as Options.ReconnectionAttempts, makes the
// Manager give up reconnecting at once: a lost connection, or a failed
// first connection, is followed by no attempt and by the OnReconnectFailed
// callbacks, as the official client does with reconnectionAttempts: 0.
// (A zero ReconnectionAttempts means the default, unlimited; any negative
// value means no attempt.) DisableReconnection also makes no attempt, but
// without reporting OnReconnectFailed.
const NoReconnectionAttempts = -1

// Options configures a Manager (the Engine.IO connection and reconnection)
// and the first Socket that Connect opens. The zero value gives the defaults
// of the official JavaScript client; a nil *Options means the zero value.
// Where the official client gives 0 a meaning of its own (no jitter, no
// reconnection attempt), a named negative constant says it here
// (NoRandomization, NoReconnectionAttempts), so that 0 stays the default.
type Options struct {
	// Path is the Engine.IO endpoint path on the server; "" means
	// "/socket.io/". A trailing slash is added when missing.
	Path string
	// Query holds extra query parameters sent with every HTTP request and
	// WebSocket handshake (EIO, transport, sid and t are set by the client).
	// They are merged with the query of the URL given to Connect, Dial or
	// NewManager ("http://host/chat?room=1"): a parameter of the URL is
	// kept, with its values, and one of Query is added unless the URL has
	// it (the URL wins, as in the official client, whose URL query replaces
	// its query option).
	Query url.Values
	// Header holds extra HTTP headers sent with every polling request and
	// WebSocket handshake (for example a Cookie or an Authorization header).
	Header http.Header
	// Transports lists the transports to use, in order; nil or empty means
	// ["polling", "websocket"]: open over HTTP long-polling, then upgrade to
	// WebSocket when the server offers it. ["websocket"] opens the
	// connection directly over WebSocket; ["polling"] never upgrades.
	// Other names (for example "webtransport", which this client does not
	// implement) make Connect, Dial and NewManager fail; a name given
	// twice counts once.
	Transports []string
	// DisableUpgrade keeps a connection opened over polling on polling
	// even when the server offers WebSocket.
	DisableUpgrade bool
	// HTTPClient sends the long-polling requests; nil means a client owned
	// by the Manager, whose idle connections are closed with the Manager.
	// It must not have a Timeout shorter than the server's ping interval.
	HTTPClient *http.Client
	// Dialer opens WebSocket connections; nil means a dialer with the
	// default settings of github.com/gorilla/websocket (and the proxy of the
	// environment).
	Dialer *websocket.Dialer

	// Timeout bounds each connection attempt (Engine.IO handshake, and the
	// WebSocket dial when the connection starts on WebSocket); 0 means 20s.
	// An attempt that times out is reported as a connect error "timeout".
	Timeout time.Duration

	// DisableReconnection turns off automatic reconnection (on by
	// default). Reconnection never follows an "io server disconnect" or "io
	// client disconnect", nor a CONNECT refused by the server.
	DisableReconnection bool
	// ReconnectionAttempts is the number of reconnection attempts before
	// giving up (see Manager.OnReconnectFailed); 0 means unlimited, and
	// NoReconnectionAttempts (any negative value) means none.
	ReconnectionAttempts int
	// ReconnectionDelay is the delay before the first reconnection
	// attempt, doubled at each further attempt; 0 means 1s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps the reconnection delay; 0 means 5s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor is the jitter of the reconnection delay: each
	// delay moves by up to that fraction of itself either way (at most 1).
	// 0 means 0.5; NoRandomization (any negative value) means no jitter.
	RandomizationFactor float64

	// ForceNew makes Connect create a new Manager instead of reusing the
	// one of an earlier Connect call to the same server and path.
	ForceNew bool

	// Auth is the payload of the CONNECT packet of the Socket that
	// Connect opens (on every connection and reconnection). It must marshal
	// to a JSON object; nil sends no payload (the server sees {}).
	Auth any
	// AuthFunc, when set, is called before every CONNECT of the Socket
	// that Connect opens, and its result is sent instead of Auth. It lets
	// a reconnection carry a fresh token.
	AuthFunc func() any
	// AckTimeout and Retries configure the Socket that Connect opens (see
	// SocketOptions).
	AckTimeout time.Duration
	// Retries: see SocketOptions.Retries.
	Retries int

	// Parser encodes and decodes the Socket.IO packets (the official
	// client's parser option); it must be the server's. nil means the
	// default parser (parser.JSON); msgpackparser.Parser{} speaks
	// socket.io-msgpack-parser.
	Parser parser.Parser
}

// SocketOptions configures one namespace Socket of a Manager.
type SocketOptions struct {
	// Auth is the CONNECT payload (see Options.Auth).
	Auth any
	// AuthFunc computes the CONNECT payload at every connection (see
	// Options.AuthFunc).
	AuthFunc func() any
	// AckTimeout bounds the wait of every EmitWithAck (and, with Retries,
	// of every try); an acknowledgement that does not come in time is an
	// ErrAckTimeout error. 0 means no limit other than the context's.
	AckTimeout time.Duration
	// Retries, when positive, makes delivery at-least-once, as the
	// official client's "retries" option: every Emit and EmitWithAck
	// waits in a queue and is sent with an acknowledgement request, one at
	// a time; an event whose acknowledgement does not come within
	// AckTimeout, or whose connection is lost, is sent again, up to
	// Retries more times, then dropped (EmitWithAck returns the error).
	// The server must acknowledge every event, and may see an event more
	// than once.
	Retries int
	// NoAutoConnect leaves a new Socket unconnected until Connect (the
	// official client's autoConnect: false): handlers registered between
	// Manager.Socket and Connect then see the first connection, which
	// otherwise may complete before they are registered.
	NoAutoConnect bool
}

// config is Options with the defaults filled in.
type config struct {
	Options
	transports []string
}

// newConfig validates opts and fills in the defaults.
func newConfig(opts *Options) (*config, error) {
	c := &config{}
	if opts != nil {
		c.Options = *opts
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/" + c.Path
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	for _, t := range c.Transports {
		if t != TransportPolling && t != TransportWebSocket {
			return nil, fmt.Errorf("socket.io client: unsupported transport %q (want %q or %q)", t, TransportPolling, TransportWebSocket)
		}
		if !contains(c.transports, t) {
			c.transports = append(c.transports, t)
		}
	}
	if len(c.transports) == 0 {
		c.transports = []string{TransportPolling, TransportWebSocket}
	}
	return c, nil
}

// withURLQuery merges the query of the URL the Manager is created with
// into the Query option (see Options.Query); c.Query is replaced, never
// modified, as it is the caller's.
func (c *config) withURLQuery(u *url.URL) error {
	if u.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("socket.io client: URL query: %w", err)
	}
	for k, v := range c.Query {
		if _, ok := q[k]; !ok {
			q[k] = append([]string(nil), v...)
		}
	}
	c.Query = q
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *config) backoff() *Backoff {
	return &Backoff{Min: c.ReconnectionDelay, Max: c.ReconnectionDelayMax, Jitter: c.RandomizationFactor}
}

// giveUp reports whether the Manager stops reconnecting instead of making
// attempt n (counting from 1).
func (c *config) giveUp(n int) bool {
	limit := c.ReconnectionAttempts
	return limit < 0 || (limit > 0 && n > limit)
}
