package adaptertest_test

import (
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

// The suite passes on the in-memory adapter it is written against.
func TestRunOnMemory(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter { return adapter.NewMemory(e) })
}
