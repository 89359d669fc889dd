package store_test

import (
	"context"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

func wantUnread(t *testing.T, db *store.DB, u chat.User, ns string, limit int, want map[string]int) {
	t.Helper()
	got, err := db.UnreadCounts(context.Background(), u.ID, ns, limit)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("UnreadCounts(%s, %s) = %v, want %v", u.Name, ns, got, want)
	}
}

func markRead(t *testing.T, db *store.DB, u chat.User, ns, room string, id int64) {
	t.Helper()
	if err := db.MarkRead(context.Background(), u.ID, ns, room, id); err != nil {
		t.Fatal(err)
	}
}

// Unread counts: messages after the marker, by others, per room of the
// namespace (rooms at 0 included), capped; markers only move forward and
// never past the newest message; each user has their own.
func TestReadMarkersAndUnreadCounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		alice := mustCreateUser(t, db, "alice", chat.RoleUser)
		bob := mustCreateUser(t, db, "bob", chat.RoleUser)
		// A new account has read nothing.
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 0, "random": 0, "help": 0})
		var ids []int64
		for range 5 {
			ids = append(ids, post(t, db, bob, "/user", "chat", "hi").ID)
		}
		post(t, db, alice, "/user", "chat", "hi") // her own: never unread for her
		post(t, db, alice, "/user", "random", "hi")
		post(t, db, bob, "/creator", "drafts", "hi") // another namespace
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 5, "random": 0, "help": 0})
		wantUnread(t, db, bob, "/user", chat.UnreadCap, map[string]int{"chat": 1, "random": 1, "help": 0})
		wantUnread(t, db, alice, "/user", 3, map[string]int{"chat": 3, "random": 0, "help": 0})
		wantUnread(t, db, alice, "/nowhere", chat.UnreadCap, map[string]int{})

		markRead(t, db, alice, "/user", "chat", ids[1])
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 3, "random": 0, "help": 0})
		markRead(t, db, alice, "/user", "chat", ids[0]) // backwards: no change
		markRead(t, db, alice, "/user", "chat", 0)
		markRead(t, db, alice, "/user", "chat", -3)
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 3, "random": 0, "help": 0})
		markRead(t, db, alice, "/user", "no-such-room", ids[4]) // changes nothing
		markRead(t, db, alice, "/nowhere", "chat", ids[4])
		// bob's marker is his own.
		wantUnread(t, db, bob, "/user", chat.UnreadCap, map[string]int{"chat": 1, "random": 1, "help": 0})

		// Marking beyond the newest message stops at it: later messages count.
		markRead(t, db, alice, "/user", "chat", math.MaxInt64)
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 0, "random": 0, "help": 0})
		post(t, db, bob, "/user", "chat", "hi")
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 1, "random": 0, "help": 0})
		// An empty room marked read stays at 0 and counts its first message.
		markRead(t, db, alice, "/user", "help", math.MaxInt64)
		post(t, db, bob, "/user", "help", "hi")
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": 1, "random": 0, "help": 1})
	})
}

// The cap bounds the count, and the count reads the (room_id, id) index
// after the marker, not the room.
func TestUnreadCountIsBounded(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		alice := mustCreateUser(t, db, "alice", chat.RoleUser)
		bob := mustCreateUser(t, db, "bob", chat.RoleUser)
		if err := db.InsertMessages(ctx, "/user", "random", bob.ID, 100); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertMessages(ctx, "/user", "chat", bob.ID, 2500); err != nil {
			t.Fatal(err)
		}
		wantUnread(t, db, alice, "/user", chat.UnreadCap, map[string]int{"chat": chat.UnreadCap, "random": 100, "help": 0})
		for _, room := range []string{"random", "chat"} {
			plan, err := db.ExplainUnreadCount(ctx, "/user", room, 10, alice.ID, chat.UnreadCap)
			if err != nil {
				t.Fatal(err)
			}
			var ok bool
			if strings.Contains(plan, "Index Scan") || strings.Contains(plan, "Seq Scan") { // PostgreSQL
				// A small room may be read by a bitmap scan of its few
				// rows; the big one must be an index walk that stops at
				// the limit.
				ok = strings.Contains(plan, "Limit") && strings.Contains(plan, "messages_room_id") &&
					!strings.Contains(plan, "Seq Scan on messages") && !strings.Contains(plan, "messages_pkey") &&
					(room != "chat" || strings.Contains(plan, "Index Scan using messages_room_id on messages") && !strings.Contains(plan, "Sort"))
			} else { // SQLite
				ok = strings.Contains(plan, "SEARCH m USING INDEX messages_room_id (room_id=? AND id>?)") &&
					!strings.Contains(plan, "SCAN m") && !strings.Contains(plan, "TEMP B-TREE")
			}
			if !ok {
				t.Errorf("plan of the unread count in room %s:\n%s", room, plan)
			}
		}
	})
}
