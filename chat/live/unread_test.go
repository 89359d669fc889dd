package live_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// connectUnread connects /user with h and returns the unread counts,
// which must come right after nsRoomLoad.
func (e *chatEnv) connectUnread(h http.Header) (*socketiotest.Conn, map[string]int) {
	e.t.Helper()
	c := e.dial(h)
	c.Connect("/user", nil)
	if ev := c.ReadEvent(); ev.Name != "nsRoomLoad" {
		e.t.Fatalf("first event %q, want nsRoomLoad", ev.Name)
	}
	ev := c.ReadEvent()
	if ev.Name != "unread" {
		e.t.Fatalf("after nsRoomLoad: %q %s, want unread", ev.Name, ev.Args)
	}
	var body struct{ Counts map[string]int }
	ev.Decode(e.t, 0, &body)
	return c, body.Counts
}

func wantCounts(t *testing.T, got, want map[string]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("unread %v, want %v", got, want)
	}
}

// unread on connect counts the messages of others after the user's
// marker; markRead moves it forward only, for every socket of the user;
// joining a room marks it read.
func TestUnreadAndMarkRead(t *testing.T) {
	e := newChatEnv(t, nil)
	aliceH, bobH := e.user("alice", chat.RoleUser), e.user("bob", chat.RoleUser)
	a, counts := e.connectUnread(aliceH)
	wantCounts(t, counts, map[string]int{"chat": 0, "random": 0, "help": 0})
	b := e.connectUser(bobH)
	join(t, b, "/user", "chat", 1)
	var ids []int64
	for i := range 3 {
		ids = append(ids, send(t, b, "/user", int64(2+i), fmt.Sprint("m", i)).ID)
	}
	join(t, a, "/user", "random", 1)
	send(t, a, "/user", 2, "her own") // never unread for her
	_, counts = e.connectUnread(aliceH)
	wantCounts(t, counts, map[string]int{"chat": 3, "random": 0, "help": 0})

	wantOK(t, "markRead", call(t, a, 3, "markRead", map[string]any{"room": "chat", "id": ids[1]}))
	wantOK(t, "markRead lower", call(t, a, 4, "markRead", map[string]any{"room": "chat", "id": ids[0]}))
	_, counts = e.connectUnread(aliceH) // another socket of hers
	wantCounts(t, counts, map[string]int{"chat": 1, "random": 0, "help": 0})
	// bob's counts are his own.
	_, counts = e.connectUnread(bobH)
	wantCounts(t, counts, map[string]int{"chat": 0, "random": 1, "help": 0})

	for i, bad := range []any{
		"chat", 5, map[string]any{"room": "chat"}, map[string]any{"id": 1},
		map[string]any{"room": "nope", "id": 1}, map[string]any{"room": 3, "id": 1},
		map[string]any{"room": "chat", "id": "1"}, map[string]any{"room": "chat", "id": 1.5},
		map[string]any{"room": "chat", "id": -1},
	} {
		wantError(t, fmt.Sprintf("markRead(%v)", bad), call(t, a, int64(10+i), "markRead", bad))
	}
	// Joining marks the room read (stored in the background, at once).
	join(t, a, "/user", "chat", 30)
	ctx := context.Background()
	u, err := e.db.FindUserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the join's marker", func() bool {
		counts, err := e.db.UnreadCounts(ctx, u.ID, "/user", chat.UnreadCap)
		return err == nil && counts["chat"] == 0
	})
	send(t, b, "/user", 9, "after her join")
	_, counts = e.connectUnread(aliceH)
	wantCounts(t, counts, map[string]int{"chat": 1, "random": 0, "help": 0})
}

type activityEv struct {
	Room   string
	LastID int64
}

func nextActivity(t *testing.T, c *socketiotest.Conn) activityEv {
	t.Helper()
	ev := nextOf(t, c, "roomActivity")
	var a activityEv
	ev.Decode(t, 0, &a)
	return a
}

// roomActivity goes to the namespace's sockets outside the room: at once
// for the first message, then at most once per interval, with the newest
// id in a trailing send.
func TestRoomActivity(t *testing.T) {
	const interval = 300 * time.Millisecond
	e := newChatEnvWith(t, live.Options{ActivityInterval: interval})
	a := e.connectUser(e.user("alice", chat.RoleUser))
	idle := e.connectUser(e.user("idle", chat.RoleUser)) // in no room
	b := e.connectUser(e.user("bob", chat.RoleUser))
	join(t, a, "/user", "random", 1)
	join(t, b, "/user", "chat", 1)
	first := send(t, b, "/user", 2, "one").ID
	for _, c := range []*socketiotest.Conn{a, idle} {
		if got := nextActivity(t, c); got != (activityEv{"chat", first}) {
			t.Fatalf("roomActivity %+v, want chat %d", got, first)
		}
	}
	start := time.Now()
	var last int64
	for i := range 5 {
		last = send(t, b, "/user", int64(3+i), fmt.Sprint("more ", i)).ID
	}
	// The burst is announced at most once per interval (once, if it
	// took less than one), the newest id last.
	posted := time.Since(start)
	prev := first
	for n := 1; ; n++ {
		got := nextActivity(t, a)
		if got.Room != "chat" || got.LastID <= prev || got.LastID > last {
			t.Fatalf("roomActivity %+v after %d, want chat, up to %d", got, prev, last)
		}
		if n > int(posted/interval)+1 {
			t.Fatalf("%d roomActivity for a burst posted in %v", n, posted)
		}
		prev = got.LastID
		if got.LastID == last {
			if d := time.Since(start); d > posted+interval+time.Second {
				t.Fatalf("the newest id after %v (the burst took %v)", d, posted)
			}
			break
		}
	}
	// bob, in the room, heard none: his next event is his own message.
	send(t, a, "/user", 2, "in random")
	if got := nextActivity(t, b); got.Room != "random" {
		t.Fatalf("bob got roomActivity %+v, want only random's", got)
	}
}

// unread also gives, for every room, the newest message id its count
// holds (the user's own messages included, as they are in the room), so
// that a client can tell a later roomActivity about them from news.
func TestUnreadLastIDs(t *testing.T) {
	e := newChatEnv(t, nil)
	aliceH, bobH := e.user("alice", chat.RoleUser), e.user("bob", chat.RoleUser)
	b := e.connectUser(bobH)
	join(t, b, "/user", "chat", 1)
	var last int64
	for i := range 3 {
		last = send(t, b, "/user", int64(2+i), fmt.Sprint("m", i)).ID
	}
	a := e.connectUser(aliceH)
	join(t, a, "/user", "random", 1)
	own := send(t, a, "/user", 2, "her own").ID

	c := e.dial(aliceH)
	c.Connect("/user", nil)
	c.ExpectEvent("/user", "nsRoomLoad")
	ev := c.ReadEvent()
	if ev.Name != "unread" {
		t.Fatalf("after nsRoomLoad: %q", ev.Name)
	}
	var body struct {
		Counts  map[string]int
		LastIDs map[string]int64 `json:"lastIds"`
	}
	ev.Decode(t, 0, &body)
	wantCounts(t, body.Counts, map[string]int{"chat": 3, "random": 0, "help": 0})
	if want := map[string]int64{"chat": last, "random": own, "help": 0}; !maps.Equal(body.LastIDs, want) {
		t.Fatalf("lastIds %v, want %v", body.LastIDs, want)
	}
}
