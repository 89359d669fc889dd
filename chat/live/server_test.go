package live_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
)

// fastParams keep argon2id cheap in tests.
var fastParams = chat.PasswordParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

type chatEnv struct {
	t        *testing.T
	url      string
	db       *store.DB
	accounts *chat.Accounts
}

func newChatEnv(t *testing.T, limiter *chat.RateLimiter) *chatEnv {
	t.Helper()
	leakcheck.Check(t)
	url, db, accounts := startChat(t, filepath.Join(t.TempDir(), "chat.db"), nil, func(db *store.DB) *chat.Messages {
		return chat.NewMessages(db, chat.MessagesOptions{Limiter: limiter, CacheHistory: true})
	}, live.Options{})
	return &chatEnv{t: t, url: url, db: db, accounts: accounts}
}

// startChat serves a chat server on the database dsn over HTTP until the
// test ends: the store, accounts, messages (from messages) and a live
// server with opts (Auth, Namespaces and Messages filled in) on a
// socketio server with sioOpts.
func startChat(t *testing.T, dsn string, sioOpts *socketio.Options, messages func(*store.DB) *chat.Messages, opts live.Options) (string, *store.DB, *chat.Accounts) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	accounts := chat.NewAccounts(db, db, chat.AccountsOptions{Password: fastParams})
	io := socketio.NewServer(sioOpts)
	opts.Auth, opts.Namespaces, opts.Messages = accounts, db, messages(db)
	opts.Reads = chat.NewReadMarkers(db, opts.Messages, chat.ReadMarkersOptions{CacheTTL: readsTTL(opts)})
	if opts.MemberInterval == 0 {
		opts.MemberInterval = 100 * time.Millisecond
	}
	cs := live.NewServer(opts)
	if err := cs.Register(ctx, io); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		hs.Close()
		cs.Close()
		_ = db.Close()
	})
	return hs.URL, db, accounts
}

// user signs up a user with a role and returns a cookie header for it.
func (e *chatEnv) user(name string, role chat.Role) http.Header {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.accounts.CreateUser(ctx, name, "password-123", role); err != nil {
		e.t.Fatal(err)
	}
	login, err := e.accounts.LogIn(ctx, name, "password-123")
	if err != nil {
		e.t.Fatal(err)
	}
	return http.Header{"Cookie": {chat.SessionCookieName + "=" + login.Token}}
}

func (e *chatEnv) dial(h http.Header) *socketiotest.Conn {
	return socketiotest.Dial(e.t, e.url+"/socket.io/", h)
}

// join connects to nsp, reads nsRoomLoad, joins room and returns the ack's
// member count and the history.
func join(t *testing.T, c *socketiotest.Conn, nsp, room string, ackID int64) (int, []chat.Message) {
	t.Helper()
	c.Emit(nsp, ackID, "joinRoom", room)
	var ack socketiotest.Event
	for {
		ev := c.ReadEvent()
		if ev.Name == "" && ev.ID == ackID {
			ack = ev
			break
		}
	}
	var body struct {
		Members int
		Error   string
	}
	ack.Decode(t, 0, &body)
	if body.Error != "" {
		t.Fatalf("joinRoom %s: %s", room, body.Error)
	}
	hist := c.ReadEvent()
	if hist.Name != "historyUpdate" {
		t.Fatalf("after join ack: %q, want historyUpdate", hist.Name)
	}
	var msgs []chat.Message
	hist.Decode(t, 0, &msgs)
	return body.Members, msgs
}

func TestDiscoveryAndRoles(t *testing.T) {
	e := newChatEnv(t, nil)
	alice := e.dial(e.user("alice", chat.RoleUser))
	alice.Connect("/", nil)
	ev := alice.ReadEvent()
	if ev.Name != "data" || !strings.Contains(string(ev.Args[0]), `"endpoint":"/user"`) || strings.Contains(string(ev.Args[0]), "/admin") {
		t.Fatalf("data for a user: %s %s", ev.Name, ev.Args)
	}
	alice.Send(`40/admin,`)
	alice.Expect(`44/admin,{"message":"forbidden"}`)
	alice.Send(`40/creator,`)
	alice.Expect(`44/creator,{"message":"forbidden"}`)

	admin := e.dial(e.user("root", chat.RoleAdmin))
	admin.Connect("/admin", nil)
	ev = admin.ReadEvent()
	if ev.Name != "nsRoomLoad" || !strings.Contains(string(ev.Args[0]), `"roomTitle":"general"`) {
		t.Fatalf("nsRoomLoad: %s %s", ev.Name, ev.Args)
	}

	anon := e.dial(nil)
	anon.Send(`40/admin,`)
	anon.Expect(`44/admin,{"message":"unauthorized"}`)
	anon.Send(`40`)
	anon.Expect(`44{"message":"unauthorized"}`)
	bad := e.dial(http.Header{"Cookie": {chat.SessionCookieName + "=forged"}})
	bad.Send(`40/user,`)
	bad.Expect(`44/user,{"message":"unauthorized"}`)
}

func TestJoinSendHistoryAndMembers(t *testing.T) {
	e := newChatEnv(t, nil)
	aliceH, bobH := e.user("alice", chat.RoleUser), e.user("bob", chat.RoleUser)
	a1 := e.dial(aliceH)
	a1.Connect("/user", nil)
	a1.ExpectEvent("/user", "nsRoomLoad")
	if n, hist := join(t, a1, "/user", "chat", 1); n != 1 || len(hist) != 0 {
		t.Fatalf("first join: members %d, history %d", n, len(hist))
	}
	b := e.dial(bobH)
	b.Connect("/user", nil)
	b.ExpectEvent("/user", "nsRoomLoad")
	if n, _ := join(t, b, "/user", "chat", 1); n != 2 {
		t.Fatalf("bob's join: members %d", n)
	}
	// alice sees the new count.
	ev, _ := a1.ExpectEvent("/user", "updateMembers")
	var um struct {
		Room    string
		Members int
	}
	ev.Decode(t, 0, &um)
	for um.Members != 2 {
		ev, _ = a1.ExpectEvent("/user", "updateMembers")
		ev.Decode(t, 0, &um)
	}
	if um.Room != "chat" {
		t.Fatalf("updateMembers %+v", um)
	}
	// A second socket of alice does not add a member.
	a2 := e.dial(aliceH)
	a2.Connect("/user", nil)
	a2.ExpectEvent("/user", "nsRoomLoad")
	if n, _ := join(t, a2, "/user", "chat", 1); n != 2 {
		t.Fatalf("alice's second socket: members %d, want 2", n)
	}

	// A message: comPeRoom to everyone in the room (sender too) before the ack.
	markup := `  <img src=x onerror=alert(1)>  `
	a1.Emit("/user", 7, "newMsg2Server", map[string]string{"text": markup})
	ev, _ = a1.ExpectEvent("/user", "comPeRoom")
	var msg chat.Message
	ev.Decode(t, 0, &msg)
	if msg.Text != strings.TrimSpace(markup) || msg.Username != "alice" || msg.Room != "chat" || msg.Namespace != "/user" || msg.ID == 0 || msg.Time == 0 {
		t.Fatalf("comPeRoom %+v", msg)
	}
	ack := a1.ReadEvent()
	for ack.Name != "" {
		ack = a1.ReadEvent()
	}
	if ack.ID != 7 || string(ack.Args[0]) != `{"id":`+itoa(msg.ID)+`}` {
		t.Fatalf("ack %d %s", ack.ID, ack.Args)
	}
	for _, c := range []*socketiotest.Conn{b, a2} {
		ev, _ := c.ExpectEvent("/user", "comPeRoom")
		var got chat.Message
		ev.Decode(t, 0, &got)
		if got != msg {
			t.Fatalf("got %+v, want %+v", got, msg)
		}
	}
	// Switching rooms: bob leaves chat; history comes with the join.
	if n, _ := join(t, b, "/user", "random", 2); n != 1 {
		t.Fatalf("random members %d", n)
	}
	// History in chat for a newcomer.
	carol := e.dial(e.user("carol", chat.RoleUser))
	carol.Connect("/user", nil)
	carol.ExpectEvent("/user", "nsRoomLoad")
	_, hist := join(t, carol, "/user", "chat", 1)
	if len(hist) != 1 || hist[0] != msg {
		t.Fatalf("history %+v", hist)
	}
}

func TestInvalidInputGetsErrors(t *testing.T) {
	e := newChatEnv(t, chat.NewRateLimiter(1, 2))
	c := e.dial(e.user("alice", chat.RoleUser))
	c.Connect("/user", nil)
	c.ExpectEvent("/user", "nsRoomLoad")
	expectError := func(id int64) string {
		t.Helper()
		for {
			ev := c.ReadEvent()
			if ev.Name != "" {
				continue
			}
			var body struct{ Error string }
			ev.Decode(t, 0, &body)
			if ev.ID != id || body.Error == "" {
				t.Fatalf("ack %d %s, want an error for %d", ev.ID, ev.Args, id)
			}
			return body.Error
		}
	}
	c.Emit("/user", 1, "newMsg2Server", map[string]string{"text": "not in a room"})
	expectError(1)
	c.Emit("/user", 2, "joinRoom", "no-such-room")
	expectError(2)
	c.Emit("/user", 3, "joinRoom", 42)
	expectError(3)
	c.Emit("/user", 4, "joinRoom")
	expectError(4)
	join(t, c, "/user", "help", 5)
	c.Emit("/user", 6, "newMsg2Server", map[string]string{"text": "   "})
	expectError(6)
	c.Emit("/user", 7, "newMsg2Server", map[string]string{"text": strings.Repeat("é", 2001)})
	expectError(7)
	c.Emit("/user", 8, "newMsg2Server", "just a string")
	expectError(8)
	c.Emit("/user", 9, "newMsg2Server", map[string]int{"text": 5})
	expectError(9)
	// 2000 code points is fine; then the burst of 2 is spent.
	expectStored := func(id int64) {
		t.Helper()
		c.ExpectEvent("/user", "comPeRoom")
		ack := c.ReadEvent()
		for ack.Name != "" {
			ack = c.ReadEvent()
		}
		if ack.ID != id || !strings.HasPrefix(string(ack.Args[0]), `{"id":`) {
			t.Fatalf("ack %d %s, want the stored id for %d", ack.ID, ack.Args, id)
		}
	}
	c.Emit("/user", 10, "newMsg2Server", map[string]string{"text": strings.Repeat("é", 2000)})
	expectStored(10)
	c.Emit("/user", 11, "newMsg2Server", map[string]string{"text": "second"})
	expectStored(11)
	c.Emit("/user", 12, "newMsg2Server", map[string]string{"text": "third"})
	if msg := expectError(12); !strings.Contains(msg, "too many") {
		t.Fatalf("rate limit error %q", msg)
	}
	msgs, err := e.db.LastMessages(context.Background(), "/user", "help", 50)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored %d messages (%v), want 2", len(msgs), err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// readsTTL is how long a test server caches read markers: as cmd/chatd
// does, a second on a cluster (where other nodes move markers too).
func readsTTL(opts live.Options) time.Duration {
	if opts.Cluster {
		return time.Second
	}
	return 0
}
