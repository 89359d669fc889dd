package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

// countingStore is the real store, counting the history reads.
type countingStore struct {
	*store.DB
	reads atomic.Int64
}

func (c *countingStore) LastMessages(ctx context.Context, ns, room string, limit int) ([]chat.Message, error) {
	c.reads.Add(1)
	return c.DB.LastMessages(ctx, ns, room, limit)
}

func openStore(t *testing.T) *countingStore {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &countingStore{DB: db}
}

var chatRoom = chat.RoomID{Namespace: "/user", Room: "chat"}

// users creates n accounts u0..u(n-1).
func users(t *testing.T, st *countingStore, n int) []chat.User {
	t.Helper()
	var out []chat.User
	for i := range n {
		u, err := st.CreateUser(context.Background(), fmt.Sprint("u", i), chat.RoleUser, "hash")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func TestMessagesPostValidatesAndLimits(t *testing.T) {
	st := openStore(t)
	m := chat.NewMessages(st, chat.MessagesOptions{Limiter: chat.NewRateLimiter(1, 2)})
	ctx := context.Background()
	us := users(t, st, 2)
	alice, bob := us[0], us[1]
	if _, err := m.Post(ctx, alice, chatRoom, "   "); chat.ErrorCode(err) != chat.EINVALID {
		t.Fatalf("empty text: %v", err)
	}
	msg, err := m.Post(ctx, alice, chatRoom, "  hello  ")
	if err != nil || msg.Text != "hello" || msg.ID == 0 || msg.Username != "u0" || msg.Room != "chat" {
		t.Fatalf("Post = %+v, %v", msg, err)
	}
	if _, err := m.Post(ctx, alice, chat.RoomID{Namespace: "/user", Room: "nope"}, "x"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Fatalf("unknown room: %v", err)
	}
	// The burst of 2 was spent by the two valid posts (the unknown room
	// was one of them: it passed the limiter).
	if _, err := m.Post(ctx, alice, chatRoom, "third"); chat.ErrorCode(err) != chat.ERATELIMITED {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := m.Post(ctx, bob, chatRoom, "bob's"); err != nil {
		t.Fatalf("another user's bucket: %v", err)
	}
}

// With CacheHistory, a room's history is read from the store once; it
// stays what the store holds through posts, concurrent ones included.
func TestMessagesHistoryCache(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprint("cache=", cache), func(t *testing.T) {
			st := openStore(t)
			m := chat.NewMessages(st, chat.MessagesOptions{CacheHistory: cache})
			ctx := context.Background()
			us := users(t, st, 8)
			for i := range 30 {
				if _, err := m.Post(ctx, us[0], chatRoom, fmt.Sprint("before ", i)); err != nil {
					t.Fatal(err)
				}
			}
			check := func() {
				t.Helper()
				got, err := m.History(ctx, chatRoom, chat.HistorySize)
				if err != nil {
					t.Fatal(err)
				}
				want, err := st.DB.LastMessages(ctx, "/user", "chat", chat.HistorySize)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("history of %d messages differs from the store's %d:\n%v\n%v", len(got), len(want), got, want)
				}
				enc, err := m.HistoryJSON(ctx, chatRoom)
				if wantEnc, _ := json.Marshal(want); err != nil || string(enc) != string(wantEnc) {
					t.Fatalf("HistoryJSON = %s, %v; want %s", enc, err, wantEnc)
				}
				short, err := m.History(ctx, chatRoom, 5)
				if err != nil || !slices.Equal(short, want[len(want)-5:]) {
					t.Fatalf("last 5: %v, %v", short, err)
				}
			}
			check()
			// Posts and reads at once, first reads included.
			other := chat.RoomID{Namespace: "/user", Room: "random"}
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 20 {
						room := chatRoom
						if w%2 == 1 {
							room = other
						}
						if _, err := m.Post(ctx, us[w], room, fmt.Sprint(w, "-", i)); err != nil {
							t.Error(err)
						}
						if _, err := m.History(ctx, room, chat.HistorySize); err != nil {
							t.Error(err)
						}
						if _, err := m.HistoryJSON(ctx, room); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			check()
			got, _ := m.History(ctx, other, chat.HistorySize)
			want, _ := st.DB.LastMessages(ctx, "/user", "random", chat.HistorySize)
			if !slices.Equal(got, want) || len(want) != chat.HistorySize {
				t.Fatalf("random: %d messages, store %d", len(got), len(want))
			}
			reads := st.reads.Load()
			for range 10 {
				if _, err := m.History(ctx, chatRoom, chat.HistorySize); err != nil {
					t.Fatal(err)
				}
			}
			if n := st.reads.Load() - reads; cache && n != 0 {
				t.Fatalf("%d store reads for cached histories", n)
			} else if !cache && n != 10 {
				t.Fatalf("%d store reads without a cache, want 10", n)
			}
		})
	}
}

// In a cluster a node observes the messages the others stored; a room is
// read again after HistoryTTL (a lost notification heals), and Flush
// drops every cached room.
func TestMessagesObserveAndTTL(t *testing.T) {
	st := openStore(t)
	us := users(t, st, 1)
	now := time.Now()
	clock := func() time.Time { return now }
	a := chat.NewMessages(st, chat.MessagesOptions{CacheHistory: true, HistoryTTL: 10 * time.Second, Now: clock})
	other := chat.NewMessages(st, chat.MessagesOptions{}) // another node
	ctx := context.Background()
	texts := func() []string {
		t.Helper()
		h, err := a.History(ctx, chatRoom, chat.HistorySize)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range h {
			out = append(out, m.Text)
		}
		return out
	}
	if got := texts(); len(got) != 0 {
		t.Fatalf("history %v", got)
	}
	m1, err := other.Post(ctx, us[0], chatRoom, "observed")
	if err != nil {
		t.Fatal(err)
	}
	a.Observe(m1)
	a.Observe(m1) // twice: once in the history
	if _, err := other.Post(ctx, us[0], chatRoom, "missed"); err != nil {
		t.Fatal(err)
	}
	if got := texts(); !slices.Equal(got, []string{"observed"}) {
		t.Fatalf("history %v, want the observed message only (the other was not observed)", got)
	}
	now = now.Add(10 * time.Second)
	if got := texts(); !slices.Equal(got, []string{"observed", "missed"}) {
		t.Fatalf("after HistoryTTL: %v, want both", got)
	}
	if _, err := other.Post(ctx, us[0], chatRoom, "flushed"); err != nil {
		t.Fatal(err)
	}
	a.Flush()
	if got := texts(); !slices.Equal(got, []string{"observed", "missed", "flushed"}) {
		t.Fatalf("after Flush: %v", got)
	}
}
