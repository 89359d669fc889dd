package redisadapter

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Options configure the adapters made by New. The zero value gives the
// reference adapter's defaults.
type Options struct {
	// Key is the prefix of the Redis channels. Defaults to "socket.io",
	// as the reference adapter; every server of a cluster must use the
	// same key.
	Key string

	// RequestsTimeout bounds the wait for the answers of the other nodes
	// (FetchSockets, Sockets, AllRooms, ServerSideEmitWithAck). Defaults
	// to 5 s.
	RequestsTimeout time.Duration

	// PublishOnSpecificResponseChannel makes this node answer requests on
	// the requesting node's own response channel
	// ("<key>-response#<nsp>#<uid>#") instead of the shared one, as the
	// reference option of the same name.
	PublishOnSpecificResponseChannel bool

	// DecodeData decodes the application data (socket.data) of a socket
	// described by another node, given as JSON. Defaults to json.Unmarshal
	// into an any (objects become map[string]any, numbers float64).
	DecodeData func(raw json.RawMessage) (any, error)

	// Logger receives publish failures and subscription losses and
	// recoveries. Defaults to discarding them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Key == "" {
		o.Key = "socket.io"
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.DecodeData == nil {
		o.DecodeData = func(raw json.RawMessage) (any, error) {
			var v any
			err := json.Unmarshal(raw, &v)
			return v, err
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
