package socketio

import (
	"log/slog"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
)

// Options configure a Server. The zero value gives the reference server's
// defaults.
type Options struct {
	// Path is the URL path the server answers under (the reference
	// option "path"). Requests are matched by the prefix Path + "/".
	// Defaults to "/socket.io".
	Path string

	// DisableClientFiles stops serving the official JavaScript client
	// bundles under Path (the reference option serveClient: false).
	// Defaults to false: <Path>/socket.io.min.js and the other bundles
	// of the pinned client release are served.
	DisableClientFiles bool

	// ConnectTimeout closes a connection that has not joined any
	// namespace within this time. Defaults to 45 s.
	ConnectTimeout time.Duration

	// Adapter creates the adapter of each namespace. Defaults to
	// adapter.NewMemory (a single node).
	Adapter adapter.Factory

	// CleanupEmptyChildNamespaces removes a child namespace created by
	// a parent (OfRegexp, OfFunc) when its last socket leaves. Defaults
	// to false.
	CleanupEmptyChildNamespaces bool

	// MaxPendingEvents bounds the incoming events of one socket that
	// wait for its handlers; when full, reading from that connection
	// pauses until a handler returns. Defaults to 256.
	MaxPendingEvents int

	// Engine holds the Engine.IO options (heartbeat, payload limits,
	// transports, CORS, cookie, allowRequest...).
	Engine engine.Options

	// Logger receives the server's logs. Defaults to discarding them.
	Logger *slog.Logger
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
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.Adapter == nil {
		c.Adapter = adapter.NewMemory
	}
	if c.MaxPendingEvents <= 0 {
		c.MaxPendingEvents = 256
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}
