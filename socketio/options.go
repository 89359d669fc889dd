package socketio

import (
	"log/slog"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
)

// Options configure a Server. The zero value gives the reference server's
// defaults.
type Options struct {
	// Path is the URL path the server answers under (the reference
	// option "path"). Requests are matched by the prefix Path + "/"
	// (see DisableTrailingSlash). Defaults to "/socket.io".
	Path string

	// DisableTrailingSlash also serves requests for Path itself, without
	// the slash, such as "/socket.io?EIO=4&transport=polling" (the
	// reference option addTrailingSlash: false, which the official
	// clients pair with their own addTrailingSlash: false). Defaults to
	// false: only paths under Path + "/" are served, the others get
	// 404, as the reference's default addTrailingSlash: true. Unlike
	// the reference, which compares the raw URL with the path as a
	// string prefix, a path that merely starts with Path (such as
	// "/socket.iox") is not served. Mount the server on Path too: on
	// http.ServeMux, the pattern "/socket.io/" alone answers
	// "/socket.io" with a redirect.
	DisableTrailingSlash bool

	// DisableClientFiles stops serving the official JavaScript client
	// bundles under Path (the reference option serveClient: false).
	// Defaults to false: <Path>/socket.io.min.js and the other bundles
	// of the pinned client release are served.
	DisableClientFiles bool

	// ConnectTimeout closes a connection that has not joined any
	// namespace within this time. Defaults to 45 s.
	ConnectTimeout time.Duration

	// Adapter creates the adapter of each namespace. Defaults to the
	// in-memory adapter of adapter.NewMemory (a single node).
	Adapter adapter.Factory

	// CleanupEmptyChildNamespaces removes a child namespace created by
	// a parent (OfRegexp, OfFunc) when its last socket leaves. Defaults
	// to false.
	CleanupEmptyChildNamespaces bool

	// ConnectionStateRecovery, when set, lets a client that lost its
	// connection resume its socket: same id, rooms and data, plus every
	// event it missed (see RecoveryOptions). Defaults to nil: off, as in
	// the reference server. It needs an adapter whose EnableRecovery
	// succeeds: the in-memory one's does; redisadapter's refuses (a
	// socket resumed on one node would miss what the other nodes sent
	// meanwhile) and NewServer panics.
	ConnectionStateRecovery *RecoveryOptions

	// MaxPendingEvents bounds the incoming events of one socket that
	// wait for its handlers; when full, reading from that connection
	// pauses until a handler returns. Defaults to 256.
	MaxPendingEvents int

	// Parser encodes and decodes the packets of every connection (the
	// reference option "parser"); clients must use the same one.
	// Defaults to nil: the default parser (parser.JSON, text packets
	// with binary attachments), which is also the fastest, since its
	// packets are written without going through the interface. The
	// msgpack parser of socket.io-msgpack-parser is
	// msgpackparser.Parser{}.
	Parser parser.Parser

	// AllowEIO3 accepts socket.io-client 2.x: Engine.IO v3 clients
	// (Engine.AllowEIO3, which this sets) speaking Socket.IO protocol v4
	// (implicit connection to "/", namespace query as auth, CONNECT
	// answer without sid, CONNECT_ERROR data as is). Defaults to false:
	// they are refused, as in the reference.
	AllowEIO3 bool

	// Engine holds the Engine.IO options (heartbeat, payload limits,
	// transports, CORS, cookie, allowRequest...).
	Engine engine.Options

	// Logger receives the server's logs. Defaults to discarding them.
	Logger *slog.Logger
}

// RecoveryOptions configure connection state recovery. With it, the
// CONNECT reply carries a private session id ("pid"), and every event sent
// without an acknowledgement and not volatile carries an offset as its last
// argument (the official client keeps the last one and sends both back when
// it reconnects; its listeners see the extra argument, as with the
// reference server). A socket that disconnected for a recoverable reason
// (transport error or close, ping timeout, forced close, server shutdown,
// slow consumer) and reconnects within MaxDisconnectionDuration gets its id,
// rooms and data back, then the events it missed, and Recovered reports
// true.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long sessions and sent events are
	// kept. Defaults to 2 minutes.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace middlewares for a recovered
	// socket too (the reference's skipMiddlewares: false). Defaults to
	// false: they are skipped.
	RunMiddlewares bool
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io"
	}
	for len(c.Path) > 1 && c.Path[len(c.Path)-1] == '/' {
		c.Path = c.Path[:len(c.Path)-1]
	}
	if c.Path[0] != '/' {
		c.Path = "/" + c.Path
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.Adapter == nil {
		c.Adapter = newMemoryAdapter
	}
	if c.ConnectionStateRecovery != nil {
		r := *c.ConnectionStateRecovery
		if r.MaxDisconnectionDuration <= 0 {
			r.MaxDisconnectionDuration = 2 * time.Minute
		}
		c.ConnectionStateRecovery = &r
	}
	if c.MaxPendingEvents <= 0 {
		c.MaxPendingEvents = 256
	}
	if c.Parser == parser.JSON {
		c.Parser = nil // the built-in path
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.AllowEIO3 {
		c.Engine.AllowEIO3 = true
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}

// newMemoryAdapter is the default Options.Adapter.
func newMemoryAdapter(e adapter.Emitter) adapter.Adapter { return adapter.NewMemory(e) }
