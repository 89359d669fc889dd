package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
)

type usersAck struct {
	Users []chat.UserRef
	Total int
}

func roomUsers(t *testing.T, c *socketiotest.Conn, id int64) usersAck {
	t.Helper()
	raw := call(t, c, id, "roomUsers", map[string]any{})
	var a usersAck
	if err := json.Unmarshal(raw, &a); err != nil || a.Users == nil {
		t.Fatalf("roomUsers ack %s: %v", raw, err)
	}
	return a
}

type presenceEvent struct {
	Room         string
	Joined, Left []string
	Truncated    bool
}

func nextPresence(t *testing.T, c *socketiotest.Conn) presenceEvent {
	t.Helper()
	ev := nextOf(t, c, "presence")
	var p presenceEvent
	ev.Decode(t, 0, &p)
	if p.Joined == nil || p.Left == nil || len(p.Joined)+len(p.Left) == 0 {
		t.Fatalf("presence %s: want both lists, not both empty", ev.Args)
	}
	return p
}

// roomUsers lists the distinct users of the current room with their
// roles, in byte order of the names; bad input and no room are errors.
func TestRoomUsers(t *testing.T) {
	e := newChatEnv(t, nil)
	zed := e.user("Zed", chat.RoleAdmin)
	alice := e.user("alice", chat.RoleUser)
	bob := e.user("bob", chat.RoleCreator)
	z := e.connectUser(zed)
	wantError(t, "roomUsers without a room", call(t, z, 1, "roomUsers", map[string]any{}))
	join(t, z, "/user", "chat", 2)
	a1, a2, b := e.connectUser(alice), e.connectUser(alice), e.connectUser(bob)
	join(t, a1, "/user", "chat", 1)
	join(t, a2, "/user", "chat", 1)
	join(t, b, "/user", "random", 1)
	got := roomUsers(t, z, 3)
	want := []chat.UserRef{{Name: "Zed", Role: chat.RoleAdmin}, {Name: "alice", Role: chat.RoleUser}}
	if !slices.Equal(got.Users, want) || got.Total != 2 {
		t.Fatalf("roomUsers = %+v, want %v, 2", got, want)
	}
	join(t, b, "/user", "chat", 2)
	got = roomUsers(t, a2, 2)
	want = append(want, chat.UserRef{Name: "bob", Role: chat.RoleCreator})
	if !slices.Equal(got.Users, want) || got.Total != 3 {
		t.Fatalf("roomUsers = %+v, want %v, 3", got, want)
	}
	for i, bad := range []any{"x", 5, []int{1}} {
		wantError(t, fmt.Sprintf("roomUsers(%v)", bad), call(t, z, int64(10+i), "roomUsers", bad))
	}
	z.Emit("/user", 20, "roomUsers")
	for ev := z.ReadEvent(); ; ev = z.ReadEvent() {
		if ev.Name == "" && ev.ID == 20 {
			wantError(t, "roomUsers without an argument", ev.Args[0])
			break
		}
	}
	// The connection is still usable.
	if got := roomUsers(t, z, 21); got.Total != 3 {
		t.Fatalf("roomUsers after errors: %+v", got)
	}
}

// The first 200 users by name, and the total: the presence holds 205
// users of other sockets (of other nodes, as far as this one knows).
func TestRoomUsersFirst200(t *testing.T) {
	presence := chat.NewMemoryPresence()
	e := newChatEnvWith(t, live.Options{Presence: presence})
	room := chat.RoomID{Namespace: "/user", Room: "help"}
	const n = 205
	for i := n - 1; i >= 0; i-- {
		if _, _, err := presence.Add(context.Background(), room, fmt.Sprint("elsewhere-", i), chat.UserRef{Name: fmt.Sprintf("u%03d", i), Role: chat.RoleUser}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.connectUser(e.user("zz-last", chat.RoleUser))
	join(t, c, "/user", "help", 1)
	got := roomUsers(t, c, 2)
	if got.Total != n+1 || len(got.Users) != 200 || got.Users[0].Name != "u000" || got.Users[199].Name != "u199" {
		t.Fatalf("roomUsers: total %d, %d users, %v ... %v", got.Total, len(got.Users), got.Users[0], got.Users[len(got.Users)-1])
	}
}

// presence tells the room who joined and who left, with updateMembers.
func TestPresenceEvents(t *testing.T) {
	e := newChatEnvWith(t, live.Options{MemberInterval: 50 * time.Millisecond})
	aliceH := e.user("alice", chat.RoleUser)
	a := e.connectUser(aliceH)
	join(t, a, "/user", "chat", 1)
	if p := nextPresence(t, a); p.Room != "chat" || !slices.Equal(p.Joined, []string{"alice"}) || len(p.Left) != 0 {
		t.Fatalf("presence of her own join: %+v", p)
	}
	b := e.connectUser(e.user("bob", chat.RoleUser))
	join(t, b, "/user", "chat", 1)
	if p := nextPresence(t, a); !slices.Equal(p.Joined, []string{"bob"}) || len(p.Left) != 0 {
		t.Fatalf("bob joined: %+v", p)
	}
	// A second socket of alice changes nothing; its leaving neither.
	a2 := e.connectUser(aliceH)
	join(t, a2, "/user", "chat", 1)
	join(t, a2, "/user", "random", 2)
	// bob moves away: the room hears him leave, and nothing of alice.
	join(t, b, "/user", "random", 2)
	if p := nextPresence(t, a); !slices.Equal(p.Left, []string{"bob"}) || len(p.Joined) != 0 {
		t.Fatalf("bob left: %+v", p)
	}
	// A disconnect is a leave.
	c := e.connectUser(e.user("carol", chat.RoleUser))
	join(t, c, "/user", "chat", 1)
	if p := nextPresence(t, a); !slices.Equal(p.Joined, []string{"carol"}) {
		t.Fatalf("carol joined: %+v", p)
	}
	_ = c.WS.Close()
	if p := nextPresence(t, a); !slices.Equal(p.Left, []string{"carol"}) || len(p.Joined) != 0 {
		t.Fatalf("carol disconnected: %+v", p)
	}
}

// When more users joined (or left) within one interval than a presence
// event lists, the lists hold the first ones by name and the event says
// so; updateMembers has the whole count. More than twice the limit join
// (then leave), so that even when the wave is split over two intervals one
// of the events has too many names.
func TestPresenceTruncated(t *testing.T) {
	// The connections are read only when the test needs them: long pings
	// keep the idle ones open however slow the machine is.
	sioOpts := &socketio.Options{Engine: engine.Options{PingInterval: 10 * time.Minute, PingTimeout: time.Minute}}
	e := newChatEnvOn(t, sioOpts, live.Options{MemberInterval: 3 * time.Second})
	db := e.db
	a := e.connectUser(e.user("alice", chat.RoleUser))
	join(t, a, "/user", "chat", 1)
	if p := nextPresence(t, a); p.Truncated || !slices.Equal(p.Joined, []string{"alice"}) {
		t.Fatalf("presence of one join: %+v", p)
	}
	n := 2*live.PresenceListLimit + 10
	names := make([]string, n)
	conns := make([]*socketiotest.Conn, n)
	for i := range n {
		names[i] = fmt.Sprintf("u%03d", i)
		conns[i] = e.connectUser(sessionOf(t, db, names[i]))
	}
	// Every joinRoom is sent before any ack is read: the server sees the
	// wave within a fraction of the interval, which then holds at least
	// n-1 of them (the first may go out alone, when the interval since
	// alice's presence has passed).
	for _, c := range conns {
		c.Emit("/user", 1, "joinRoom", "chat")
	}
	for i, c := range conns {
		for {
			ev := c.ReadEvent()
			if ev.Name == "" && ev.ID == 1 {
				var body struct{ Error string }
				ev.Decode(t, 0, &body)
				if body.Error != "" {
					t.Fatalf("joinRoom of %s: %s", names[i], body.Error)
				}
				break
			}
		}
	}
	// checked reads the next presence: at most the limit in each list,
	// and a truncated list is the first names in byte order.
	checked := func() presenceEvent {
		t.Helper()
		p := nextPresence(t, a)
		if len(p.Joined) > live.PresenceListLimit || len(p.Left) > live.PresenceListLimit {
			t.Fatalf("presence lists %d joined, %d left", len(p.Joined), len(p.Left))
		}
		for _, l := range [][]string{p.Joined, p.Left} {
			if p.Truncated && len(l) > 0 && !slices.IsSorted(l) {
				t.Fatalf("truncated list not in order: %v", l)
			}
		}
		return p
	}
	var joined []string
	truncated := false
	for !truncated && len(joined) < n {
		p := checked()
		if len(p.Left) != 0 {
			t.Fatalf("presence while users join: %+v", p)
		}
		joined = append(joined, p.Joined...)
		truncated = p.Truncated
	}
	if !truncated {
		t.Fatalf("%d users joined at once: no presence said truncated (%d names)", n, len(joined))
	}
	for _, c := range conns {
		_ = c.WS.Close()
	}
	var left []string
	truncated = false
	for !truncated && len(left) < n {
		p := checked()
		left = append(left, p.Left...)
		truncated = p.Truncated
	}
	if !truncated {
		t.Fatalf("%d users left at once: no presence said truncated", n)
	}
}

// sessionOf makes an account and a session for it in db directly, without
// hashing a password (which, in a test under the race detector, takes
// most of a tenth of a second), and returns its cookie header.
func sessionOf(t *testing.T, db *store.DB, name string) http.Header {
	t.Helper()
	ctx := context.Background()
	u, err := db.CreateUser(ctx, name, chat.RoleUser, "no password")
	if err != nil {
		t.Fatal(err)
	}
	token := chat.NewToken()
	now := time.Now()
	if err := db.CreateSession(ctx, chat.LoginSession{TokenHash: chat.HashToken(token), UserID: u.ID, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return http.Header{"Cookie": {chat.SessionCookieName + "=" + token}}
}
