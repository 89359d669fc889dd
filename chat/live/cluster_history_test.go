package live_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/redisadapter"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// newCachingClusterNode is newClusterNode with cached histories, as
// cmd/chatd runs its nodes: what one node's cache holds must follow the
// edits, deletions and room changes made through the other.
func newCachingClusterNode(t *testing.T, dsn string, broker *redisadapter.MemoryBroker, presence chat.Presence) *clusterNode {
	t.Helper()
	leakcheck.Check(t)
	url, db, _ := startChat(t, dsn, &socketio.Options{Adapter: redisadapter.New(broker, redisadapter.Options{})},
		func(db *store.DB) *chat.Messages {
			return chat.NewMessages(db, chat.MessagesOptions{CacheHistory: true, HistoryTTL: time.Minute})
		},
		live.Options{Presence: presence, Cluster: true})
	return &clusterNode{url: url, db: db}
}

// clusterUserRole is clusterUser with a role.
func clusterUserRole(t *testing.T, n *clusterNode, name string, role chat.Role) http.Header {
	t.Helper()
	h := clusterUser(t, n, name)
	if _, err := n.db.SetUserRole(context.Background(), name, role); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHistoryEditsRoomsAcrossNodes: on two nodes sharing a database and
// rooms, edits and deletions reach the room on both and the other node's
// cached history follows; a room created or deleted through one node is
// listed (or gone) on both, its sockets on both leave it; search through
// one node finds a message posted through the other.
func TestHistoryEditsRoomsAcrossNodes(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			dsn := backend.NewDSN(t)
			broker := redisadapter.NewMemoryBroker()
			presence := chat.NewMemoryPresence()
			a := newCachingClusterNode(t, dsn, broker, presence)
			b := newCachingClusterNode(t, dsn, broker, presence)
			dial := func(n *clusterNode, h http.Header) *socketiotest.Conn {
				c := socketiotest.Dial(t, n.url+"/socket.io/", h)
				c.Connect("/user", nil)
				c.ExpectEvent("/user", "nsRoomLoad")
				return c
			}
			alice := dial(a, clusterUser(t, a, "alice"))
			cree := dial(a, clusterUserRole(t, a, "cree", chat.RoleCreator))
			bob := dial(b, clusterUser(t, b, "bob"))
			root := dial(b, clusterUserRole(t, b, "root", chat.RoleAdmin))
			clusterJoin(t, alice, "chat", 1)
			clusterJoin(t, bob, "chat", 1) // node b caches chat's history
			clusterJoin(t, root, "chat", 1)

			m := send(t, alice, "/user", 2, "across the nodes")
			bob.ExpectEvent("/user", "comPeRoom")

			// An edit through a: bob on b hears it, b's cache has it.
			ack, _ := request(t, alice, "/user", 3, "editMessage", map[string]any{"id": m.ID, "text": "edited on a"})
			wantOK(t, "editMessage", ack)
			ev, _ := bob.ExpectEvent("/user", "messageEdited")
			var edited struct {
				ID   int64
				Text string
			}
			ev.Decode(t, 0, &edited)
			if edited.ID != m.ID || edited.Text != "edited on a" {
				t.Fatalf("messageEdited on b: %s", ev.Args[0])
			}
			carol := dial(b, clusterUser(t, b, "carol"))
			testutil.Eventually(t, 5*time.Second, "b's history has the edit", func() bool {
				_, hist := clusterJoin(t, carol, "chat", 4)
				return len(hist) == 1 && hist[0].Text == "edited on a" && hist[0].Edited > 0
			})

			// A moderator's deletion through b: alice on a hears it, a's
			// cache drops it.
			ack, _ = request(t, root, "/user", 5, "deleteMessage", map[string]any{"id": m.ID})
			wantOK(t, "deleteMessage", ack)
			ev, _ = alice.ExpectEvent("/user", "messageDeleted")
			if string(ev.Args[0]) != `{"id":`+itoa(m.ID)+`,"room":"chat"}` {
				t.Fatalf("messageDeleted on a: %s", ev.Args[0])
			}
			dan := dial(a, clusterUser(t, a, "dan"))
			testutil.Eventually(t, 5*time.Second, "a's history drops the deletion", func() bool {
				_, hist := clusterJoin(t, dan, "chat", 6)
				return len(hist) == 0
			})

			// A room created through a: listed on b at once, and
			// joinable there.
			ack, _ = request(t, cree, "/user", 7, "createRoom", map[string]any{"title": "Hall"})
			if !strings.Contains(string(ack), `"roomTitle":"Hall"`) {
				t.Fatalf("createRoom: %s", ack)
			}
			for _, c := range []*socketiotest.Conn{bob, root, alice} {
				ev, _ := c.ExpectEvent("/user", "nsRoomLoad")
				if got := roomTitles(t, ev); !slices.Equal(got, []string{"chat", "random", "help", "Hall"}) {
					t.Fatalf("nsRoomLoad %v", got)
				}
			}
			clusterJoin(t, bob, "Hall", 8)
			clusterJoin(t, alice, "Hall", 9)
			posted := send(t, alice, "/user", 10, "needle in the hall")
			// Search through b finds what was posted through a.
			ack, _ = request(t, root, "/user", 11, "searchMessages", map[string]any{"query": "needle", "room": "Hall"})
			if got := messagesOf(t, "searchMessages", ack); !slices.Equal(msgIDs(got), []int64{posted.ID}) {
				t.Fatalf("search on b: %+v", got)
			}

			// Deleted through b: alice on a and bob on b leave it.
			ack, _ = request(t, root, "/user", 12, "deleteRoom", map[string]any{"title": "hall"})
			wantOK(t, "deleteRoom", ack)
			for _, c := range []*socketiotest.Conn{alice, bob} {
				ev, _ := c.ExpectEvent("/user", "roomDeleted")
				if string(ev.Args[0]) != `{"room":"Hall"}` {
					t.Fatalf("roomDeleted %s", ev.Args[0])
				}
				ev, _ = c.ExpectEvent("/user", "nsRoomLoad")
				if got := roomTitles(t, ev); !slices.Equal(got, []string{"chat", "random", "help"}) {
					t.Fatalf("nsRoomLoad after the deletion %v", got)
				}
				ack, _ := request(t, c, "/user", 13, "newMsg2Server", map[string]any{"text": "still in Hall?"})
				wantError(t, "newMsg2Server after the room's deletion", ack)
			}
			ev, _ = cree.ExpectEvent("/user", "nsRoomLoad") // its own creation's came before its ack
			if got := roomTitles(t, ev); !slices.Equal(got, []string{"chat", "random", "help"}) {
				t.Fatalf("nsRoomLoad of a socket in no room %v", got)
			}
			st, err := presence.Stats(context.Background(), chat.RoomID{Namespace: "/user", Room: "Hall"})
			if err != nil || st.Users != 0 {
				t.Fatalf("presence of the deleted room: %+v, %v", st, err)
			}
		})
	}
}
