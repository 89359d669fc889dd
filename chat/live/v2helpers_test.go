package live_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
)

// newChatEnvWith is newChatEnv with live options (intervals).
func newChatEnvWith(t *testing.T, opts live.Options) *chatEnv {
	t.Helper()
	return newChatEnvOn(t, nil, opts)
}

// newChatEnvOn is newChatEnvWith on a socketio server with sioOpts.
func newChatEnvOn(t *testing.T, sioOpts *socketio.Options, opts live.Options) *chatEnv {
	t.Helper()
	leakcheck.Check(t)
	url, db, accounts := startChat(t, filepath.Join(t.TempDir(), "chat.db"), sioOpts, func(db *store.DB) *chat.Messages {
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

// call is request on /user, for the events whose ack alone matters.
func call(t *testing.T, c *socketiotest.Conn, id int64, event string, arg any) json.RawMessage {
	t.Helper()
	ack, _ := request(t, c, "/user", id, event, arg)
	return ack
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
