package chat_test

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// markerStore is the real store, counting the reads of markers and of
// unread counts.
type markerStore struct {
	*countingStore
	markers, counts atomic.Int64
}

func (s *markerStore) Markers(ctx context.Context, user int64, ns string) (map[string]int64, error) {
	s.markers.Add(1)
	return s.countingStore.Markers(ctx, user, ns)
}

func (s *markerStore) UnreadCounts(ctx context.Context, user int64, ns string, limit int) (map[string]int, error) {
	s.counts.Add(1)
	return s.countingStore.UnreadCounts(ctx, user, ns, limit)
}

var userRooms = []string{"chat", "random", "help"}

func wantUnread(t *testing.T, r *chat.ReadMarkers, u chat.User, want map[string]int) {
	t.Helper()
	got, err := r.Unread(context.Background(), u.ID, "/user", userRooms)
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("Unread(%s) = %v, %v; want %v", u.Name, got, err, want)
	}
}

// Unread counts come from the cached markers and room tails: after the
// first connection of a user nothing is read from the store, and the
// counts are those the store gives (others' messages after the marker).
func TestReadMarkersCountFromCache(t *testing.T) {
	st := &markerStore{countingStore: openStore(t)}
	ctx := context.Background()
	msgs := chat.NewMessages(st, chat.MessagesOptions{CacheHistory: true})
	r := chat.NewReadMarkers(st, msgs, chat.ReadMarkersOptions{})
	us := users(t, st.countingStore, 2)
	alice, bob := us[0], us[1]
	var last chat.Message
	for i := range 3 {
		if _, err := msgs.Post(ctx, alice, chatRoom, fmt.Sprint("a", i)); err != nil {
			t.Fatal(err)
		}
		m, err := msgs.Post(ctx, bob, chatRoom, fmt.Sprint("b", i))
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	wantUnread(t, r, alice, map[string]int{"chat": 3, "random": 0, "help": 0})
	wantUnread(t, r, bob, map[string]int{"chat": 3, "random": 0, "help": 0})
	reads := st.reads.Load()
	wantUnread(t, r, alice, map[string]int{"chat": 3, "random": 0, "help": 0})
	if st.markers.Load() != 2 || st.counts.Load() != 0 || st.reads.Load() != reads {
		t.Fatalf("store reads: markers %d, counts %d, history +%d; want 2, 0, +0", st.markers.Load(), st.counts.Load(), st.reads.Load()-reads)
	}

	// A join marks the room read at once, before its background write.
	r.Joined(alice.ID, chatRoom, last.ID)
	wantUnread(t, r, alice, map[string]int{"chat": 0, "random": 0, "help": 0})
	if _, err := msgs.Post(ctx, bob, chatRoom, "new"); err != nil {
		t.Fatal(err)
	}
	wantUnread(t, r, alice, map[string]int{"chat": 1, "random": 0, "help": 0})

	// markRead goes to the store and the next count reads it again.
	if err := r.MarkRead(ctx, bob.ID, chatRoom, last.ID); err != nil {
		t.Fatal(err)
	}
	wantUnread(t, r, bob, map[string]int{"chat": 0, "random": 0, "help": 0})
	if st.markers.Load() != 3 {
		t.Fatalf("markers read %d times, want 3 (again after markRead)", st.markers.Load())
	}
	// Forget (another node moved a marker) reads them again too.
	r.Forget(bob.ID, "/user")
	wantUnread(t, r, bob, map[string]int{"chat": 0, "random": 0, "help": 0})
	if st.markers.Load() != 4 {
		t.Fatalf("markers read %d times, want 4 (again after Forget)", st.markers.Load())
	}
}

// A marker older than a room's cached tail (more than HistorySize
// messages after it) is counted by the store, up to the cap; the
// markers expire after CacheTTL.
func TestReadMarkersBeyondTheTail(t *testing.T) {
	st := &markerStore{countingStore: openStore(t)}
	ctx := context.Background()
	msgs := chat.NewMessages(st, chat.MessagesOptions{CacheHistory: true})
	now := time.Unix(1000, 0)
	r := chat.NewReadMarkers(st, msgs, chat.ReadMarkersOptions{CacheTTL: time.Second, Now: func() time.Time { return now }})
	us := users(t, st.countingStore, 2)
	alice, bob := us[0], us[1]
	var posted []chat.Message
	for i := range chat.HistorySize + 10 {
		m, err := msgs.Post(ctx, bob, chatRoom, fmt.Sprint("b", i))
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, m)
	}
	wantUnread(t, r, alice, map[string]int{"chat": chat.HistorySize + 10, "random": 0, "help": 0})
	if st.counts.Load() != 1 {
		t.Fatalf("store counts %d, want 1 (the marker is older than the tail)", st.counts.Load())
	}
	// A marker inside the tail is counted from it.
	if err := st.MarkRead(ctx, alice.ID, "/user", "chat", posted[20].ID); err != nil {
		t.Fatal(err)
	}
	// (The cached marker is still 0, older than the tail: the store
	// counts, with its own marker.)
	wantUnread(t, r, alice, map[string]int{"chat": chat.HistorySize + 10 - 21, "random": 0, "help": 0})
	if st.counts.Load() != 2 {
		t.Fatalf("store counts %d, want 2", st.counts.Load())
	}
	now = now.Add(time.Second) // the cached markers expire
	wantUnread(t, r, alice, map[string]int{"chat": chat.HistorySize + 10 - 21, "random": 0, "help": 0})
	if st.counts.Load() != 2 || st.markers.Load() != 2 {
		t.Fatalf("store counts %d, markers %d; want 2, 2 (counted from the tail)", st.counts.Load(), st.markers.Load())
	}
}

// Without a history cache every count is the store's.
func TestReadMarkersWithoutCache(t *testing.T) {
	st := &markerStore{countingStore: openStore(t)}
	ctx := context.Background()
	msgs := chat.NewMessages(st, chat.MessagesOptions{})
	r := chat.NewReadMarkers(st, msgs, chat.ReadMarkersOptions{})
	us := users(t, st.countingStore, 2)
	if _, err := msgs.Post(ctx, us[1], chatRoom, "hello"); err != nil {
		t.Fatal(err)
	}
	wantUnread(t, r, us[0], map[string]int{"chat": 1, "random": 0, "help": 0})
	if st.counts.Load() != 1 {
		t.Fatalf("store counts %d, want 1", st.counts.Load())
	}
	if r.Store() != chat.ReadMarkerStore(st) {
		t.Fatal("Store() is not the store given")
	}
}
