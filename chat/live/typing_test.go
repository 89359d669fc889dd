package live_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/socketiotest"
)

type typingEv struct {
	Room     string
	Username string
	Typing   bool
}

func nextTyping(t *testing.T, c *socketiotest.Conn, never ...string) typingEv {
	t.Helper()
	ev := nextOf(t, c, "userTyping", never...)
	var ty typingEv
	ev.Decode(t, 0, &ty)
	return ty
}

// typing reaches the room except the typist's sockets; "true" at most
// once per interval; "false" at once on stop, before the message's
// comPeRoom on send, on leaving and on disconnect, and only after a
// forwarded "true".
func TestTyping(t *testing.T) {
	e := newChatEnvWith(t, live.Options{TypingInterval: time.Hour})
	aliceH := e.user("alice", chat.RoleUser)
	a1, a2 := e.connectUser(aliceH), e.connectUser(aliceH)
	b := e.connectUser(e.user("bob", chat.RoleUser))
	wantError(t, "typing without a room", call(t, a1, 1, "typing", map[string]bool{"typing": true}))
	for _, c := range []*socketiotest.Conn{a1, a2, b} {
		join(t, c, "/user", "chat", 2)
	}
	for i, bad := range []any{"yes", map[string]string{"typing": "true"}, map[string]int{"typing": 1}, map[string]any{}, 7} {
		wantError(t, fmt.Sprintf("typing(%v)", bad), call(t, a1, int64(10+i), "typing", bad))
	}

	wantOK(t, "typing true", call(t, a1, 20, "typing", map[string]bool{"typing": true}))
	if ty := nextTyping(t, b); ty != (typingEv{"chat", "alice", true}) {
		t.Fatalf("bob got %+v", ty)
	}
	// Again within the interval, from either socket: not forwarded; the
	// ack is optional.
	a1.Emit("/user", -1, "typing", map[string]bool{"typing": true})
	wantOK(t, "typing true again", call(t, a2, 21, "typing", map[string]bool{"typing": true}))
	// One socket stopping is not the user stopping.
	wantOK(t, "a2 stops", call(t, a2, 22, "typing", map[string]bool{"typing": false}))
	// Sending the message stops the typing: false before its comPeRoom.
	id := send(t, a1, "/user", 23, "hello").ID
	if ty := nextTyping(t, b, "comPeRoom"); ty != (typingEv{"chat", "alice", false}) {
		t.Fatalf("bob got %+v before the message", ty)
	}
	ev := nextOf(t, b, "comPeRoom", "userTyping")
	var msg chat.Message
	ev.Decode(t, 0, &msg)
	if msg.ID != id {
		t.Fatalf("comPeRoom %+v, want id %d", msg, id)
	}
	// alice's own sockets heard no userTyping: comPeRoom came with none
	// before it.
	nextOf(t, a2, "comPeRoom", "userTyping")

	// A false without a forwarded true is not forwarded; a true within
	// the interval is not forwarded either, and so its false is not.
	wantOK(t, "bob false", call(t, b, 3, "typing", map[string]bool{"typing": false}))
	wantOK(t, "alice true in the interval", call(t, a1, 24, "typing", map[string]bool{"typing": true}))
	wantOK(t, "alice false", call(t, a1, 25, "typing", map[string]bool{"typing": false}))
	send(t, a2, "/user", 26, "marker")
	nextOf(t, a1, "comPeRoom", "userTyping")
	nextOf(t, b, "comPeRoom", "userTyping")
}

// Leaving the room and disconnecting send "false" for a forwarded "true".
func TestTypingStopsOnLeaveAndDisconnect(t *testing.T) {
	e := newChatEnvWith(t, live.Options{TypingInterval: time.Nanosecond})
	a := e.connectUser(e.user("alice", chat.RoleUser))
	b := e.connectUser(e.user("bob", chat.RoleUser))
	c := e.connectUser(e.user("carol", chat.RoleUser))
	for _, s := range []*socketiotest.Conn{a, b, c} {
		join(t, s, "/user", "chat", 1)
	}
	wantOK(t, "alice types", call(t, a, 2, "typing", map[string]bool{"typing": true}))
	if ty := nextTyping(t, c); ty != (typingEv{"chat", "alice", true}) {
		t.Fatalf("carol got %+v", ty)
	}
	join(t, a, "/user", "random", 3)
	if ty := nextTyping(t, c); ty != (typingEv{"chat", "alice", false}) {
		t.Fatalf("carol got %+v after alice left", ty)
	}
	wantOK(t, "bob types", call(t, b, 2, "typing", map[string]bool{"typing": true}))
	if ty := nextTyping(t, c); ty != (typingEv{"chat", "bob", true}) {
		t.Fatalf("carol got %+v", ty)
	}
	_ = b.WS.Close()
	if ty := nextTyping(t, c); ty != (typingEv{"chat", "bob", false}) {
		t.Fatalf("carol got %+v after bob's disconnect", ty)
	}
}

// "true" is volatile: a long-polling member without a request waiting
// cannot be written to and misses it; "false" is kept for its next poll.
func TestTypingTrueIsVolatile(t *testing.T) {
	leakcheck.Check(t)
	e := newBenchEnv(t, 2)
	typist, watcher := e.connect(0), e.connect(1)
	typist.join("chat", 1)
	watcher.join("chat", 1)
	typist.post(`42/user,2["typing",{"typing":true}]`)
	typist.until(`43/user,2[{"ok":true}]`)
	typist.post(`42/user,3["typing",{"typing":false}]`)
	typist.until(`43/user,3[{"ok":true}]`)
	for {
		body := e.do("GET", "/socket.io/?EIO=4&transport=polling&sid="+watcher.sid, watcher.cookie, "")
		if strings.Contains(body, `"typing":true`) {
			t.Fatalf("the watcher got the volatile true: %s", body)
		}
		if strings.Contains(body, `["userTyping",{"room":"chat","username":"user00000","typing":false}]`) {
			return
		}
	}
}

// A room forwards MaxTypists typists at a time: a further typist is
// heard only once one of them stops.
func TestTypingPlaces(t *testing.T) {
	e := newChatEnvWith(t, live.Options{TypingInterval: time.Nanosecond, MaxTypists: 1})
	a := e.connectUser(e.user("alice", chat.RoleUser))
	b := e.connectUser(e.user("bob", chat.RoleUser))
	c := e.connectUser(e.user("carol", chat.RoleUser))
	for _, s := range []*socketiotest.Conn{a, b, c} {
		join(t, s, "/user", "chat", 1)
	}
	wantOK(t, "alice types", call(t, a, 2, "typing", map[string]bool{"typing": true}))
	if ty := nextTyping(t, c); ty != (typingEv{"chat", "alice", true}) {
		t.Fatalf("carol got %+v", ty)
	}
	// bob finds the one place taken: neither his true nor his false goes
	// out (the message marker comes first).
	wantOK(t, "bob types", call(t, b, 2, "typing", map[string]bool{"typing": true}))
	wantOK(t, "bob stops", call(t, b, 3, "typing", map[string]bool{"typing": false}))
	send(t, a, "/user", 3, "marker")
	if ty := nextTyping(t, c, "comPeRoom"); ty != (typingEv{"chat", "alice", false}) {
		t.Fatalf("carol got %+v before the message", ty)
	}
	nextOf(t, c, "comPeRoom", "userTyping")
	// alice's message freed the place: bob's next true is heard.
	wantOK(t, "bob types again", call(t, b, 4, "typing", map[string]bool{"typing": true}))
	if ty := nextTyping(t, c); ty != (typingEv{"chat", "bob", true}) {
		t.Fatalf("carol got %+v", ty)
	}
}
