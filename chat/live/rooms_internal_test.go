package live

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

// growingStore is the real store with rooms added on top, counting the
// room listings.
type growingStore struct {
	*store.DB
	mu    sync.Mutex
	extra []chat.Room
	lists int
}

func (g *growingStore) ListRooms(ctx context.Context, endpoint string) ([]chat.Room, error) {
	rooms, err := g.DB.ListRooms(ctx, endpoint)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lists++
	return append(rooms, g.extra...), err
}

func TestRoomCache(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := &growingStore{DB: db}
	const ttl = 50 * time.Millisecond
	c := newRoomCache(g, ttl)
	ctx := context.Background()
	encoded, err := c.list(ctx, "/user")
	var rooms []chat.Room
	if err == nil {
		err = json.Unmarshal(encoded, &rooms)
	}
	if err != nil || len(rooms) != 3 || rooms[0].Title != "chat" || rooms[0].Namespace != "/user" {
		t.Fatalf("list = %s (%+v), %v", encoded, rooms, err)
	}
	for range 10 {
		if r, err := c.find(ctx, "/user", "help"); err != nil || r.Title != "help" || r.Namespace != "/user" {
			t.Fatalf("find help = %+v, %v", r, err)
		}
	}
	if _, err := c.find(ctx, "/user", "Help"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Fatalf("find Help: %v, want not found (titles are exact)", err)
	}
	if _, err := c.find(ctx, "/creator", "chat"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Fatalf("a room of another namespace: %v", err)
	}
	g.mu.Lock()
	if g.lists != 2 { // /user once, /creator once
		t.Errorf("%d listings for 2 namespaces within the ttl", g.lists)
	}
	g.extra = []chat.Room{{ID: 99, Title: "new", Namespace: "/user"}}
	g.mu.Unlock()
	start := time.Now()
	for {
		_, err := c.find(ctx, "/user", "new")
		if err == nil {
			break
		}
		if time.Since(start) > 10*ttl {
			t.Fatalf("a room added to the store is not found after %v: %v", time.Since(start), err)
		}
		time.Sleep(ttl / 10)
	}
}
