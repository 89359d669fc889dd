package pgadapter

import (
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

// TestConformance runs the adapter conformance suite on the test database,
// with a table and channels of each test's own.
func TestConformance(t *testing.T) {
	checkGoroutines(t)
	adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter {
		pool := needPool(t)
		return newTestAdapter(t, e, pool, testOptions(t, pool))
	})
}
