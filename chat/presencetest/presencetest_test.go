package presencetest_test

import (
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/presencetest"
)

// The suite passes on the reference implementation it is written against.
func TestRunOnMemoryPresence(t *testing.T) {
	presencetest.Run(t, func(*testing.T) chat.Presence { return chat.NewMemoryPresence() })
}
