package live_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/redisadapter"
	"github.com/chatd/chatd/socketio/redisstreams"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// clusterNode is one chat server of a cluster test.
type clusterNode struct {
	url string
	db  *store.DB
}

// newClusterNode starts a chat server on the database dsn whose adapter
// shares rooms through broker and presence, as nodes do through Redis.
func newClusterNode(t *testing.T, dsn string, broker *redisadapter.MemoryBroker, presence chat.Presence) *clusterNode {
	t.Helper()
	return newClusterNodeWith(t, dsn, &socketio.Options{Adapter: redisadapter.New(broker, redisadapter.Options{})}, presence)
}

// newClusterNodeWith starts a chat server on the database dsn with the
// Socket.IO options sioOpts (the cluster's adapter) and presence.
func newClusterNodeWith(t *testing.T, dsn string, sioOpts *socketio.Options, presence chat.Presence) *clusterNode {
	t.Helper()
	leakcheck.Check(t)
	url, db, _ := startChat(t, dsn, sioOpts,
		func(db *store.DB) *chat.Messages { return chat.NewMessages(db, chat.MessagesOptions{}) },
		live.Options{Presence: presence, Cluster: true})
	return &clusterNode{url: url, db: db}
}

// streamsNodes returns a maker of the Socket.IO options of the nodes of a
// cluster on the test Redis with the Redis Streams adapter (a stream and
// keys of the test's own, deleted when it ends) and connection state
// recovery on, as chatd runs a cluster.
func streamsNodes(t *testing.T) func() *socketio.Options {
	rdb := redistest.Client(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "chatd-live-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := rdb.Keys(ctx, name+"*").Result(); len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return func() *socketio.Options {
		return &socketio.Options{
			Adapter: redisstreams.New(rdb, redisstreams.Options{
				StreamName: name, ChannelPrefix: name, SessionKeyPrefix: name + ":session:",
				BlockTime: 200 * time.Millisecond, RequestsTimeout: 3 * time.Second,
			}),
			ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute, RunMiddlewares: true},
		}
	}
}

// clusterUser creates an account through node n and returns the cookie
// header of a session; sessions are in the shared database.
func clusterUser(t *testing.T, n *clusterNode, name string) http.Header {
	t.Helper()
	ctx := context.Background()
	accounts := chat.NewAccounts(n.db, n.db, chat.AccountsOptions{Password: fastParams})
	if _, err := accounts.CreateUser(ctx, name, "password-123", chat.RoleUser); err != nil {
		t.Fatal(err)
	}
	login, err := accounts.LogIn(ctx, name, "password-123")
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Cookie": {chat.SessionCookieName + "=" + login.Token}}
}

// clusterJoin connects c to /user on its node, joins room and returns the
// member count of the ack and the history; updateMembers, presence,
// unread and roomActivity events may arrive in between and are skipped.
func clusterJoin(t *testing.T, c *socketiotest.Conn, room string, ackID int64) (int, []chat.Message) {
	t.Helper()
	c.Emit("/user", ackID, "joinRoom", room)
	var members = -1
	for {
		ev := c.ReadEvent()
		switch {
		case ev.Name == "" && ev.ID == ackID:
			var body struct {
				Members int
				Error   string
			}
			ev.Decode(t, 0, &body)
			if body.Error != "" {
				t.Fatalf("joinRoom %s: %s", room, body.Error)
			}
			members = body.Members
		case ev.Name == "historyUpdate":
			if members < 0 {
				t.Fatal("historyUpdate before the join ack")
			}
			var msgs []chat.Message
			ev.Decode(t, 0, &msgs)
			return members, msgs
		case ev.Name == "updateMembers", ev.Name == "presence", ev.Name == "unread", ev.Name == "roomActivity":
		default:
			t.Fatalf("while joining %s: unexpected %q %s", room, ev.Name, ev.Args)
		}
	}
}

// waitMembers reads updateMembers events of c until one says want members
// of room.
func waitMembers(t *testing.T, c *socketiotest.Conn, room string, want int) {
	t.Helper()
	for {
		ev, _ := c.ExpectEvent("/user", "updateMembers")
		var um struct {
			Room    string
			Members int
		}
		ev.Decode(t, 0, &um)
		if um.Room == room && um.Members == want {
			return
		}
	}
}

// TestMembersAndMessagesAcrossNodes runs two chat servers on one database
// (each backend) whose adapters share rooms: member counts count distinct
// users of both nodes, messages reach the room on both, and history written
// through one node is read through the other; on the pub/sub adapter (its
// in-process broker) and on the Redis Streams adapter (the test Redis, with
// connection state recovery on).
func TestMembersAndMessagesAcrossNodes(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			dsn := backend.NewDSN(t)
			broker := redisadapter.NewMemoryBroker()
			// The nodes share the adapter's broker and one presence, as
			// nodes share Redis (cmd/chatd's cluster test runs on Redis).
			presence := chat.NewMemoryPresence()
			a := newClusterNode(t, dsn, broker, presence)
			b := newClusterNode(t, dsn, broker, presence)
			testMembersAndMessagesAcrossNodes(t, a, b)
		})
	}
	t.Run("streams", func(t *testing.T) {
		dsn := storetest.Backends()[0].NewDSN(t)
		opts := streamsNodes(t)
		presence := chat.NewMemoryPresence()
		a := newClusterNodeWith(t, dsn, opts(), presence)
		b := newClusterNodeWith(t, dsn, opts(), presence)
		testMembersAndMessagesAcrossNodes(t, a, b)
	})
}

// testMembersAndMessagesAcrossNodes is TestMembersAndMessagesAcrossNodes on
// the nodes a and b of one cluster.
func testMembersAndMessagesAcrossNodes(t *testing.T, a, b *clusterNode) {
	aliceH := clusterUser(t, a, "alice")
	bobH := clusterUser(t, b, "bob")

	dial := func(n *clusterNode, h http.Header) *socketiotest.Conn {
		c := socketiotest.Dial(t, n.url+"/socket.io/", h)
		c.Connect("/user", nil)
		c.ExpectEvent("/user", "nsRoomLoad")
		return c
	}
	alice := dial(a, aliceH)
	if n, _ := clusterJoin(t, alice, "chat", 1); n != 1 {
		t.Fatalf("alice's join: %d members, want 1", n)
	}
	bob := dial(b, bobH)
	if n, _ := clusterJoin(t, bob, "chat", 1); n != 2 {
		t.Fatalf("bob's join on the other node: %d members, want 2", n)
	}
	waitMembers(t, alice, "chat", 2)
	// alice's second socket, on node b: still two users.
	alice2 := dial(b, aliceH)
	if n, _ := clusterJoin(t, alice2, "chat", 1); n != 2 {
		t.Fatalf("alice's second socket: %d members, want 2", n)
	}

	alice.Emit("/user", 5, "newMsg2Server", map[string]string{"text": "across"})
	var sent chat.Message
	ev, _ := alice.ExpectEvent("/user", "comPeRoom")
	ev.Decode(t, 0, &sent)
	for _, c := range []*socketiotest.Conn{bob, alice2} {
		ev, _ := c.ExpectEvent("/user", "comPeRoom")
		var got chat.Message
		ev.Decode(t, 0, &got)
		if got != sent {
			t.Fatalf("other node got %+v, want %+v", got, sent)
		}
	}

	// bob moves to another room: alice on node a sees one member.
	if n, _ := clusterJoin(t, bob, "random", 2); n != 1 {
		t.Fatalf("bob in random: %d members", n)
	}
	waitMembers(t, alice, "chat", 1)

	// History through node b holds the message sent through node a.
	carol := dial(b, clusterUser(t, b, "carol"))
	if n, hist := clusterJoin(t, carol, "chat", 1); n != 2 || len(hist) != 1 || hist[0] != sent {
		t.Fatalf("carol's join on b: %d members, history %+v; want 2 and %+v", n, hist, sent)
	}
}
