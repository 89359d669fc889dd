package adapter_test

import (
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

func TestMemoryConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter { return adapter.NewMemory(e) })
}
