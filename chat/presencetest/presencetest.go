// Package presencetest is the conformance suite of chat.Presence
// implementations: every implementation runs the same Run, so the memory
// one of a single node and the Redis one of a cluster answer alike.
package presencetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/chat"
)

// Run runs the suite. newPresence returns an empty Presence for one
// subtest (a fresh key prefix for shared backends); it registers its own
// cleanup with t.
func Run(t *testing.T, newPresence func(t *testing.T) chat.Presence) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, chat.Presence)
	}{
		{"Empty", testEmpty},
		{"AddRemove", testAddRemove},
		{"SocketsOfOneUser", testSocketsOfOneUser},
		{"RoomsApart", testRoomsApart},
		{"UsersSorted", testUsersSorted},
		{"ManyUsers", testManyUsers},
		{"Concurrent", testConcurrent},
		{"LocalSize", testLocalSize},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newPresence(t)) })
	}
}

var (
	chatRoom   = chat.RoomID{Namespace: "/user", Room: "chat"}
	randomRoom = chat.RoomID{Namespace: "/user", Room: "random"}
	otherNS    = chat.RoomID{Namespace: "/creator", Room: "chat"}
)

func user(name string) chat.UserRef { return chat.UserRef{Name: name, Role: chat.RoleUser} }

func wantStats(t *testing.T, p chat.Presence, room chat.RoomID, clients, users int) {
	t.Helper()
	st, err := p.Stats(context.Background(), room)
	if err != nil {
		t.Fatalf("Stats(%v): %v", room, err)
	}
	if st != (chat.PresenceStats{Clients: clients, Users: users}) {
		t.Fatalf("Stats(%v) = %+v, want %d clients, %d users", room, st, clients, users)
	}
}

func wantUsers(t *testing.T, p chat.Presence, room chat.RoomID, limit int, want []chat.UserRef, wantTotal int) {
	t.Helper()
	got, total, err := p.Users(context.Background(), room, limit)
	if err != nil {
		t.Fatalf("Users(%v, %d): %v", room, limit, err)
	}
	if got == nil {
		t.Fatalf("Users(%v, %d) = nil, want a non-nil slice", room, limit)
	}
	if !slices.Equal(got, want) || total != wantTotal {
		t.Fatalf("Users(%v, %d) = %v, %d; want %v, %d", room, limit, got, total, want, wantTotal)
	}
}

func add(t *testing.T, p chat.Presence, room chat.RoomID, sid string, u chat.UserRef, wantJoined bool) {
	t.Helper()
	joined, st, err := p.Add(context.Background(), room, sid, u)
	if err != nil {
		t.Fatalf("Add(%v, %s, %v): %v", room, sid, u, err)
	}
	if joined != wantJoined {
		t.Fatalf("Add(%v, %s, %v) joined = %v, want %v", room, sid, u, joined, wantJoined)
	}
	if now, err := p.Stats(context.Background(), room); err != nil || st != now {
		t.Fatalf("Add(%v, %s, %v) stats = %+v; Stats says %+v, %v", room, sid, u, st, now, err)
	}
}

func remove(t *testing.T, p chat.Presence, room chat.RoomID, sid, wantUser string, wantLeft bool) {
	t.Helper()
	name, left, err := p.Remove(context.Background(), room, sid)
	if err != nil {
		t.Fatalf("Remove(%v, %s): %v", room, sid, err)
	}
	if name != wantUser || left != wantLeft {
		t.Fatalf("Remove(%v, %s) = %q, %v; want %q, %v", room, sid, name, left, wantUser, wantLeft)
	}
}

func testEmpty(t *testing.T, p chat.Presence) {
	wantStats(t, p, chatRoom, 0, 0)
	wantUsers(t, p, chatRoom, 10, []chat.UserRef{}, 0)
	remove(t, p, chatRoom, "nobody", "", false)
}

func testAddRemove(t *testing.T, p chat.Presence) {
	alice := chat.UserRef{Name: "alice", Role: chat.RoleCreator}
	add(t, p, chatRoom, "s1", alice, true)
	wantStats(t, p, chatRoom, 1, 1)
	wantUsers(t, p, chatRoom, 10, []chat.UserRef{alice}, 1)
	add(t, p, chatRoom, "s1", alice, false) // again: no change
	wantStats(t, p, chatRoom, 1, 1)
	remove(t, p, chatRoom, "s2", "", false) // not there
	remove(t, p, chatRoom, "s1", "alice", true)
	wantStats(t, p, chatRoom, 0, 0)
	wantUsers(t, p, chatRoom, 10, []chat.UserRef{}, 0)
	remove(t, p, chatRoom, "s1", "", false) // already gone
	add(t, p, chatRoom, "s1", alice, true)  // and back
	wantStats(t, p, chatRoom, 1, 1)
}

func testSocketsOfOneUser(t *testing.T, p chat.Presence) {
	add(t, p, chatRoom, "a1", user("alice"), true)
	add(t, p, chatRoom, "a2", user("alice"), false)
	add(t, p, chatRoom, "b1", user("bob"), true)
	wantStats(t, p, chatRoom, 3, 2)
	remove(t, p, chatRoom, "a1", "alice", false)
	wantStats(t, p, chatRoom, 2, 2)
	wantUsers(t, p, chatRoom, 10, []chat.UserRef{user("alice"), user("bob")}, 2)
	remove(t, p, chatRoom, "a2", "alice", true)
	wantStats(t, p, chatRoom, 1, 1)
	wantUsers(t, p, chatRoom, 10, []chat.UserRef{user("bob")}, 1)
}

func testRoomsApart(t *testing.T, p chat.Presence) {
	add(t, p, chatRoom, "a1", user("alice"), true)
	add(t, p, randomRoom, "a2", user("alice"), true)
	add(t, p, otherNS, "a3", user("alice"), true)
	add(t, p, otherNS, "b1", user("bob"), true)
	wantStats(t, p, chatRoom, 1, 1)
	wantStats(t, p, randomRoom, 1, 1)
	wantStats(t, p, otherNS, 2, 2)
	remove(t, p, chatRoom, "a2", "", false) // a2 is in another room
	remove(t, p, chatRoom, "a1", "alice", true)
	wantStats(t, p, randomRoom, 1, 1)
	wantStats(t, p, otherNS, 2, 2)
}

// testLocalSize checks chat.PresenceSizer, for implementations that have
// it: the rooms and the sockets of this node.
func testLocalSize(t *testing.T, p chat.Presence) {
	ps, ok := p.(chat.PresenceSizer)
	if !ok {
		t.Skip("not a chat.PresenceSizer")
	}
	want := func(rooms, sockets int) {
		t.Helper()
		if got := ps.LocalSize(); got != (chat.PresenceSize{Rooms: rooms, Sockets: sockets}) {
			t.Fatalf("LocalSize = %+v, want %d rooms, %d sockets", got, rooms, sockets)
		}
	}
	want(0, 0)
	add(t, p, chatRoom, "a1", user("alice"), true)
	add(t, p, chatRoom, "a2", user("alice"), false)
	add(t, p, randomRoom, "a1", user("alice"), true)
	add(t, p, chatRoom, "a1", user("alice"), false) // already there
	want(2, 3)
	remove(t, p, chatRoom, "a1", "alice", false) // a2 is still there
	remove(t, p, randomRoom, "a1", "alice", true)
	want(1, 1)
	remove(t, p, chatRoom, "a2", "alice", true)
	want(0, 0)
}

func testUsersSorted(t *testing.T, p chat.Presence) {
	names := []string{"bob", "Zed", "alice", "alice2", "_under", "-dash", "Alice", "9lives"}
	for i, n := range names {
		add(t, p, chatRoom, fmt.Sprintf("s%d", i), user(n), true)
	}
	sorted := slices.Clone(names)
	slices.SortFunc(sorted, strings.Compare) // byte order: "-", digits, upper, "_", lower
	var all []chat.UserRef
	for _, n := range sorted {
		all = append(all, user(n))
	}
	wantUsers(t, p, chatRoom, 100, all, len(names))
	wantUsers(t, p, chatRoom, 3, all[:3], len(names))
	wantUsers(t, p, chatRoom, 0, []chat.UserRef{}, len(names))
	// A change is seen by the next list.
	remove(t, p, chatRoom, "s6", "Alice", true)
	add(t, p, chatRoom, "s9", user("AAA"), true)
	want := []chat.UserRef{user("-dash"), user("9lives"), user("AAA")}
	wantUsers(t, p, chatRoom, 3, want, len(names))
}

func testManyUsers(t *testing.T, p chat.Presence) {
	const n = 1000
	var want []chat.UserRef
	for i := range n {
		u := user(fmt.Sprintf("u%04d", (i*7919)%n)) // added out of order
		add(t, p, chatRoom, fmt.Sprintf("s%d", i), u, true)
		add(t, p, chatRoom, fmt.Sprintf("t%d", i), u, false)
	}
	for i := range 200 {
		want = append(want, user(fmt.Sprintf("u%04d", i)))
	}
	wantStats(t, p, chatRoom, 2*n, n)
	wantUsers(t, p, chatRoom, 200, want, n)
}

func testConcurrent(t *testing.T, p chat.Presence) {
	const workers, perWorker = 16, 25
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			// Worker w has users w0..w9 and removes every other socket
			// again, so users with an odd socket left stay present.
			for i := range perWorker {
				sid := fmt.Sprintf("w%d-s%d", w, i)
				u := user(fmt.Sprintf("w%d-u%d", w, i%10))
				if _, _, err := p.Add(ctx, chatRoom, sid, u); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, _, err := p.Remove(ctx, chatRoom, sid); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Sockets left: the odd i of 0..24, 12 per worker; their users are
	// the odd i%10: 5 per worker.
	wantStats(t, p, chatRoom, workers*12, workers*5)
}
