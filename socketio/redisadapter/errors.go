package redisadapter

import "errors"

// ErrTimeout is wrapped by the error of a request whose answers did not all
// arrive within Options.RequestsTimeout.
var ErrTimeout = errors.New("redisadapter: timeout reached while waiting for responses")
