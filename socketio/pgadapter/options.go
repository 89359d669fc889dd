package pgadapter

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure the adapters made by New. The zero value gives the
// defaults of the reference adapter (@socket.io/postgres-adapter 0.5.x),
// whose option names are given in parentheses.
type Options struct {
	// ChannelPrefix is the prefix of the NOTIFY channel of a namespace,
	// "<ChannelPrefix>#<nsp>" ("channelPrefix"). Defaults to "socket.io".
	// PostgreSQL channel names are identifiers: the whole name must be
	// shorter than 64 bytes.
	ChannelPrefix string

	// TableName is the table of the messages too large for NOTIFY or
	// holding binary values ("tableName"); see CreateTable. A name made of
	// letters, digits and underscores, optionally schema-qualified, is
	// used as written (so unquoted, as the reference does); any other is
	// quoted. Defaults to "socket_io_attachments".
	TableName string

	// PayloadThreshold is the size in bytes of the JSON text of a message
	// above which it goes through the table ("payloadThreshold"). Defaults
	// to 8000. Messages of 8000 bytes or more always do, as NOTIFY takes
	// no more.
	PayloadThreshold int

	// CleanupInterval is both the period of the removal of old rows of the
	// table and the age above which a row is removed ("cleanupInterval").
	// Defaults to 30 s.
	CleanupInterval time.Duration

	// HeartbeatInterval is the longest pause between two messages of a
	// node: a heartbeat is sent when the node has published nothing for
	// that long ("heartbeatInterval"). Defaults to 5 s.
	HeartbeatInterval time.Duration

	// HeartbeatTimeout is the silence after which another node is
	// considered gone ("heartbeatTimeout"). Defaults to 10 s.
	HeartbeatTimeout time.Duration

	// RequestsTimeout bounds the wait for the answers of the other nodes
	// (FetchSockets without a timeout flag, ServerSideEmitWithAck) and the
	// relaying of the acknowledgements of a broadcast without one.
	// Defaults to 5 s, the reference's.
	RequestsTimeout time.Duration

	// DecodeData decodes the application data (socket.data) of a socket
	// described by another node, given as JSON. Defaults to json.Unmarshal
	// into an any.
	DecodeData func(raw json.RawMessage) (any, error)

	// Logger receives PostgreSQL failures (rate-limited) and reconnections.
	// Defaults to discarding them.
	Logger *slog.Logger
}

// maxNotifyPayload is the size from which PostgreSQL refuses a NOTIFY
// payload.
const maxNotifyPayload = 8000

func (o Options) withDefaults() Options {
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.TableName == "" {
		o.TableName = "socket_io_attachments"
	}
	if o.PayloadThreshold <= 0 {
		o.PayloadThreshold = 8000
	}
	if o.CleanupInterval <= 0 {
		o.CleanupInterval = 30 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 5 * time.Second
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 10 * time.Second
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

var plainTableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// tableSQL returns the table name as it goes into SQL text.
func tableSQL(name string) string {
	if plainTableName.MatchString(name) {
		return name
	}
	return pgx.Identifier{name}.Sanitize()
}

// channelOf returns the NOTIFY channel of namespace nsp.
func (o Options) channelOf(nsp string) string { return o.ChannelPrefix + "#" + nsp }
