package redispresence

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/chatd/chatd/chat"
)

// Options configure a Presence. The zero value is ready to use.
type Options struct {
	// Prefix starts every key, inside braces so that all keys of a
	// prefix hash to one Redis Cluster slot: "chatd" gives keys such as
	// "{chatd}live". Nodes that share presence use the same Prefix. It
	// may not contain '{' or '}'. Default "chatd".
	Prefix string

	// NodeID names this node in the liveness set and in logs. Each start
	// (and each re-registration) adds a random suffix to it, so two
	// processes never share entries. Default: random.
	NodeID string

	// TTL is how long the node counts as alive after its last heartbeat:
	// once it is over, any node removes the node's entries. A dead node's
	// entries are gone within TTL+Interval (plus the time to remove them)
	// of its last heartbeat. Default 10 s.
	TTL time.Duration

	// Interval is the period of the heartbeat and of the sweep for dead
	// nodes. It must be less than TTL. Default TTL/4.
	Interval time.Duration

	// OnExpire, if set, is called for each room where sockets were
	// removed without a Remove: those of a node that died (by the node
	// that swept them), and those this node still held at Close. left
	// lists the users whose last socket in the room was removed, sorted;
	// it may be empty (only the socket count changed). It is called from
	// the Presence's goroutine, or from Close, one call at a time; it
	// should not block for long.
	OnExpire func(room chat.RoomID, left []string)

	// OnRestore, if set, is called for each room where this node added
	// its sockets again after Redis had lost them (the node was declared
	// dead during a long pause, Redis restarted without its data, or an
	// Add or Remove failed; see doc.go). joined lists the users who were
	// not present before, sorted; it may be empty. It is called as
	// OnExpire is.
	OnRestore func(room chat.RoomID, joined []string)

	// Logger receives heartbeat and sweep failures and re-registrations.
	// Default: discard.
	Logger *slog.Logger
}

const (
	defaultPrefix = "chatd"
	defaultTTL    = 10 * time.Second
)

// withDefaults returns o with its defaults filled in, or an error if o is
// not usable.
func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return o, fmt.Errorf("redispresence: Prefix %q contains a brace", o.Prefix)
	}
	if o.NodeID == "" {
		o.NodeID = randomHex(8)
	}
	if o.TTL == 0 {
		o.TTL = defaultTTL
	}
	if o.TTL < time.Millisecond {
		return o, fmt.Errorf("redispresence: TTL %v is below 1ms", o.TTL)
	}
	if o.Interval == 0 {
		o.Interval = o.TTL / 4
	}
	if o.Interval <= 0 || o.Interval >= o.TTL {
		return o, fmt.Errorf("redispresence: Interval %v is not within (0, TTL %v)", o.Interval, o.TTL)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
