package redisadapter

import (
	"errors"

	"github.com/chatd/chatd/socketio/adapter"
)

// ErrTimeout is wrapped by the error of a request whose answers did not all
// arrive within Options.RequestsTimeout.
var ErrTimeout = errors.New("redisadapter: timeout reached while waiting for responses")

// ErrAcksUnsupported is returned by BroadcastWithAck when the namespace's
// Emitter does not implement AckEmitter.
var ErrAcksUnsupported = adapter.ErrAcksUnsupported
