package chat_test

import (
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/presencetest"
)

func TestMemoryPresence(t *testing.T) {
	presencetest.Run(t, func(*testing.T) chat.Presence { return chat.NewMemoryPresence() })
}
