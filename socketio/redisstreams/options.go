package redisstreams

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf16"
)

// Options configure the adapters made by New. The zero value gives the
// defaults of the reference adapter (@socket.io/redis-streams-adapter
// 0.3.x), whose option names are given in parentheses.
type Options struct {
	// StreamName is the Redis stream the nodes share ("streamName").
	// Defaults to "socket.io".
	StreamName string

	// StreamCount spreads the namespaces over this many streams named
	// "<StreamName>-<i>", a namespace going to the one its name hashes to
	// as in the reference ("streamCount"). Defaults to 1: one stream,
	// named StreamName.
	StreamCount int

	// ChannelPrefix is the prefix of the pub/sub channels of the requests
	// and responses that are not kept in the stream ("channelPrefix").
	// Defaults to "socket.io".
	ChannelPrefix string

	// MaxLen bounds the stream: every XADD trims it to about this many
	// entries (MAXLEN ~), as the reference ("maxLen"). Defaults to
	// 10000. Packets trimmed away cannot be replayed to a client that
	// resumes its session.
	MaxLen int64

	// ReadCount is the largest number of entries read by one XREAD
	// ("readCount"). Defaults to 100.
	ReadCount int64

	// BlockTime is the BLOCK time of XREAD ("blockTimeInMs"). Defaults to
	// 5 s. Closing the last adapter of a stream stops its reader once
	// the XREAD under way returns.
	BlockTime time.Duration

	// SessionKeyPrefix is the prefix of the Redis keys of the sessions
	// kept for connection state recovery ("sessionKeyPrefix"). Defaults
	// to "sio:session:".
	SessionKeyPrefix string

	// RequestsTimeout bounds the wait for the answers of the other nodes
	// (FetchSockets, Sockets, ServerSideEmitWithAck) and, with connection
	// state recovery, the wait of a broadcast for its own entry to be
	// read back. Defaults to 5 s, the reference's fixed timeout.
	RequestsTimeout time.Duration

	// DecodeData decodes the application data (socket.data) of a socket
	// described by another node, or of a session restored from Redis,
	// given as JSON. Defaults to json.Unmarshal into an any (objects
	// become map[string]any, numbers float64).
	DecodeData func(raw json.RawMessage) (any, error)

	// Logger receives Redis failures (rate-limited) and recoveries.
	// Defaults to discarding them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.StreamName == "" {
		o.StreamName = "socket.io"
	}
	if o.StreamCount <= 0 {
		o.StreamCount = 1
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 10000
	}
	if o.ReadCount <= 0 {
		o.ReadCount = 100
	}
	if o.BlockTime <= 0 {
		o.BlockTime = 5 * time.Second
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = "sio:session:"
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

// streamOf returns the stream of namespace nsp, as the reference's
// computeStreamName: the Java-style 32-bit hash of the name (over its
// UTF-16 code units), remainder taken with the sign of the hash.
func (o Options) streamOf(nsp string) string {
	if o.StreamCount == 1 {
		return o.StreamName
	}
	var h int32
	for _, u := range utf16.Encode([]rune(nsp)) {
		h = h*31 + int32(u)
	}
	return o.StreamName + "-" + strconv.Itoa(int(h%int32(o.StreamCount)))
}
