package live_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
)

// With connection state recovery, a socket back from a short drop is in
// its room again without joining it: the messages posted meanwhile are
// replayed to it (no historyUpdate), it posts without a joinRoom, and its
// user counts in the room again. A socket of a user logged out meanwhile
// is refused (the middlewares run again).
func TestResumeAfterShortDrop(t *testing.T) {
	leakcheck.Check(t)
	url, db, accounts := startChat(t, filepath.Join(t.TempDir(), "chat.db"),
		&socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{RunMiddlewares: true}},
		func(db *store.DB) *chat.Messages {
			return chat.NewMessages(db, chat.MessagesOptions{CacheHistory: true})
		},
		live.Options{})
	e := &chatEnv{t: t, url: url, db: db, accounts: accounts}
	aliceH, bobH := e.user("alice", chat.RoleUser), e.user("bob", chat.RoleUser)
	connectRe := regexp.MustCompile(`^40/user,\{"sid":"([^"]+)","pid":"([^"]+)"\}$`)
	connect := func(c *socketiotest.Conn, auth string) (sid, pid string) {
		t.Helper()
		c.Send("40/user," + auth)
		m := connectRe.FindStringSubmatch(c.ExpectMatch(`40/user,.*`))
		if m == nil {
			t.Fatal("CONNECT reply without sid and pid")
		}
		return m[1], m[2]
	}
	// lastString is the offset an event carries as its last argument.
	lastString := func(ev socketiotest.Event) string {
		t.Helper()
		var s string
		if len(ev.Args) < 2 || json.Unmarshal(ev.Args[len(ev.Args)-1], &s) != nil || s == "" {
			t.Fatalf("%s %s carries no offset", ev.Name, ev.Args)
		}
		return s
	}

	a := e.dial(aliceH)
	sid, pid := connect(a, "")
	a.ExpectEvent("/user", "nsRoomLoad")
	b := e.connectUser(bobH)
	join(t, b, "/user", "chat", 1)
	join(t, a, "/user", "chat", 1)
	first := send(t, b, "/user", 2, "before the drop")
	ev := nextOf(t, a, "comPeRoom")
	offset := lastString(ev)

	_ = a.WS.Close()
	// bob's room hears alice leave once the server noticed.
	testutil.Eventually(t, 5*time.Second, "alice's socket gone", func() bool {
		return roomUsers(t, b, 3).Total == 1
	})
	missed := send(t, b, "/user", 4, "while alice was away")

	a2 := e.dial(aliceH)
	auth, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	if got, _ := connect(a2, string(auth)); got != sid {
		t.Fatalf("socket id %q after the recovery, want %q", got, sid)
	}
	var got chat.Message
	nextOf(t, a2, "comPeRoom", "historyUpdate").Decode(t, 0, &got)
	if got.ID != missed.ID || got.ID == first.ID {
		t.Fatalf("replayed %+v, want message %d", got, missed.ID)
	}
	// In the room without joinRoom: a2 posts, and bob sees two users.
	mine := send(t, a2, "/user", 5, "back")
	var heard chat.Message
	nextOf(t, b, "comPeRoom").Decode(t, 0, &heard)
	if heard.ID != mine.ID {
		t.Fatalf("bob heard %+v, want %d", heard, mine.ID)
	}
	if users := roomUsers(t, b, 6); users.Total != 2 {
		t.Fatalf("roomUsers after the recovery: %+v", users)
	}

	// A drop, then a log-out: the session is not resumed.
	send(t, b, "/user", 8, "the last one alice hears")
	ev = nextOf(t, a2, "comPeRoom")
	offset = lastString(ev)
	_ = a2.WS.Close()
	testutil.Eventually(t, 5*time.Second, "alice's socket gone again", func() bool {
		return roomUsers(t, b, 7).Total == 1
	})
	token := strings.TrimPrefix(aliceH.Get("Cookie"), chat.SessionCookieName+"=")
	if err := accounts.LogOut(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	a3 := e.dial(aliceH)
	auth, _ = json.Marshal(map[string]string{"pid": pid, "offset": offset})
	a3.Send("40/user," + string(auth))
	a3.Expect(`44/user,{"message":"unauthorized"}`)
}
