package live_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
)

// newChatEnvWith is newChatEnv with live options (intervals).
func newChatEnvWith(t *testing.T, opts live.Options) *chatEnv {
	t.Helper()
	leakcheck.Check(t)
	url, db, accounts := startChat(t, filepath.Join(t.TempDir(), "chat.db"), nil, func(db *store.DB) *chat.Messages {
		return chat.NewMessages(db, chat.MessagesOptions{CacheHistory: true})
	}, opts)
	return &chatEnv{t: t, url: url, db: db, accounts: accounts}
}

// connectUser dials with h, connects /user and reads nsRoomLoad.
func (e *chatEnv) connectUser(h http.Header) *socketiotest.Conn {
	e.t.Helper()
	c := e.dial(h)
	c.Connect("/user", nil)
	c.ExpectEvent("/user", "nsRoomLoad")
	return c
}

// call emits event with args and an ack id and returns the ack's first
// argument, skipping the events that come before it.
func call(t *testing.T, c *socketiotest.Conn, id int64, event string, args ...any) json.RawMessage {
	t.Helper()
	c.Emit("/user", id, event, args...)
	for {
		ev := c.ReadEvent()
		if ev.Name == "" && ev.ID == id {
			if len(ev.Args) == 0 {
				t.Fatalf("%s: an empty ack", event)
			}
			return ev.Args[0]
		}
	}
}

// post sends a message from c (in a room) and returns its id, once c has
// its comPeRoom and ack.
func postMsg(t *testing.T, c *socketiotest.Conn, id int64, text string) int64 {
	t.Helper()
	var body struct {
		ID    int64
		Error string
	}
	if err := json.Unmarshal(call(t, c, id, "newMsg2Server", map[string]string{"text": text}), &body); err != nil || body.ID == 0 {
		t.Fatalf("newMsg2Server %q: %+v %v", text, body, err)
	}
	return body.ID
}

// nextOf reads events of c until one named name; it fails on any event
// named in never on the way.
func nextOf(t *testing.T, c *socketiotest.Conn, name string, never ...string) socketiotest.Event {
	t.Helper()
	for {
		ev := c.ReadEvent()
		if ev.Name == name {
			return ev
		}
		for _, n := range never {
			if ev.Name == n {
				t.Fatalf("got %s %s while waiting for %s", ev.Name, ev.Args, name)
			}
		}
	}
}
