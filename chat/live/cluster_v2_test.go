package live_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/redisadapter"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// Two nodes sharing a broker, a presence and a database: roomUsers and
// presence span both, typing crosses nodes but skips the typist's socket
// on the other node, and roomActivity for a message of the other node
// comes from one's own node only.
func TestPresenceTypingActivityAcrossNodes(t *testing.T) {
	leakcheck.Check(t)
	dsn := storetest.SQLitePath(t)
	broker := redisadapter.NewMemoryBroker()
	presence := chat.NewMemoryPresence()
	node := func() *clusterNode {
		url, db, _ := startChat(t, dsn, &socketio.Options{Adapter: redisadapter.New(broker, redisadapter.Options{})},
			func(db *store.DB) *chat.Messages { return chat.NewMessages(db, chat.MessagesOptions{}) },
			live.Options{Presence: presence, Cluster: true, ActivityInterval: time.Hour, MemberInterval: 20 * time.Millisecond})
		return &clusterNode{url: url, db: db}
	}
	a, b := node(), node()
	aliceH, bobH, carolH := clusterUser(t, a, "alice"), clusterUser(t, a, "bob"), clusterUser(t, a, "carol")
	dial := func(n *clusterNode, h http.Header) *socketiotest.Conn {
		c := socketiotest.Dial(t, n.url+"/socket.io/", h)
		c.Connect("/user", nil)
		c.ExpectEvent("/user", "nsRoomLoad")
		return c
	}
	alice, bob, alice2, carol := dial(a, aliceH), dial(b, bobH), dial(b, aliceH), dial(a, carolH)
	clusterJoin(t, alice, "chat", 1)
	clusterJoin(t, carol, "random", 1)
	clusterJoin(t, bob, "chat", 1)
	clusterJoin(t, alice2, "chat", 1)
	for {
		if p := nextPresence(t, alice); slices.Contains(p.Joined, "bob") {
			break
		}
	}
	got := roomUsers(t, bob, 2)
	if want := []chat.UserRef{{Name: "alice", Role: chat.RoleUser}, {Name: "bob", Role: chat.RoleUser}}; !slices.Equal(got.Users, want) || got.Total != 2 {
		t.Fatalf("roomUsers on b: %+v", got)
	}

	wantOK(t, "alice types", call(t, alice, 2, "typing", map[string]bool{"typing": true}))
	if ty := nextTyping(t, bob); ty != (typingEv{"chat", "alice", true}) {
		t.Fatalf("bob on b got %+v", ty)
	}
	id := postMsg(t, alice, 3, "from a")
	if ty := nextTyping(t, bob, "comPeRoom"); ty.Typing {
		t.Fatalf("bob got %+v before the message", ty)
	}
	nextOf(t, bob, "comPeRoom", "userTyping")
	nextOf(t, alice2, "comPeRoom", "userTyping") // her socket on b heard no typing
	if got := nextActivity(t, carol); got != (activityEv{"chat", id}) {
		t.Fatalf("carol got %+v, want chat %d", got, id)
	}

	// A message through b in another room: carol, on a, hears it from
	// a, once (b serves its own sockets only).
	clusterJoin(t, bob, "help", 4)
	id = postMsg(t, bob, 5, "from b")
	if got := nextActivity(t, carol); got != (activityEv{"help", id}) {
		t.Fatalf("carol got %+v, want help %d", got, id)
	}
	clusterJoin(t, bob, "random", 6)
	for {
		ev := nextOf(t, carol, "presence", "roomActivity")
		var p presenceEvent
		ev.Decode(t, 0, &p)
		if p.Room == "random" && slices.Contains(p.Joined, "bob") {
			break
		}
	}
}
