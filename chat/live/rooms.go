package live

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// roomCache keeps the rooms of each namespace, read from the store at most
// once per ttl: every connection lists them (nsRoomLoad) and every join
// looks one up, and neither should cost a query. A room added to the
// store is seen within ttl.
type roomCache struct {
	store chat.NamespaceStore
	ttl   time.Duration

	mu sync.Mutex
	ns map[string]*nsRooms
}

type nsRooms struct {
	rooms   []chat.Room          // ordered by id, as ListRooms returns them
	encoded json.RawMessage      // rooms in JSON, sent as nsRoomLoad
	byTitle map[string]chat.Room // exact titles
	titles  []string             // the titles, in the order of rooms
	read    time.Time
}

func newRoomCache(store chat.NamespaceStore, ttl time.Duration) *roomCache {
	return &roomCache{store: store, ttl: ttl, ns: make(map[string]*nsRooms)}
}

func (c *roomCache) get(ctx context.Context, endpoint string) (*nsRooms, error) {
	c.mu.Lock()
	r := c.ns[endpoint]
	c.mu.Unlock()
	if r != nil && time.Since(r.read) < c.ttl {
		return r, nil
	}
	// Concurrent misses may each read the store; the last one wins, and
	// all of them read the same rooms.
	read := time.Now()
	rooms, err := c.store.ListRooms(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	if rooms == nil {
		rooms = []chat.Room{}
	}
	encoded, err := json.Marshal(rooms)
	if err != nil {
		return nil, err
	}
	r = &nsRooms{rooms: rooms, encoded: encoded, byTitle: make(map[string]chat.Room, len(rooms)), read: read}
	for _, room := range rooms {
		r.byTitle[room.Title] = room
		r.titles = append(r.titles, room.Title)
	}
	c.mu.Lock()
	c.ns[endpoint] = r
	c.mu.Unlock()
	return r, nil
}

// titles returns the titles of the rooms of a namespace, ordered by id.
// The slice is shared: callers do not modify it.
func (c *roomCache) titles(ctx context.Context, endpoint string) ([]string, error) {
	r, err := c.get(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return r.titles, nil
}

// list returns the rooms of a namespace, ordered by id, in JSON (the
// payload of nsRoomLoad, encoded once per read of the store). The slice
// is shared: callers do not modify it.
func (c *roomCache) list(ctx context.Context, endpoint string) (json.RawMessage, error) {
	r, err := c.get(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return r.encoded, nil
}

// find returns the room with that exact title, or an ENOTFOUND error.
func (c *roomCache) find(ctx context.Context, endpoint, title string) (chat.Room, error) {
	r, err := c.get(ctx, endpoint)
	if err != nil {
		return chat.Room{}, err
	}
	room, ok := r.byTitle[title]
	if !ok {
		return chat.Room{}, chat.Errorf(chat.ENOTFOUND, "unknown room %q", title)
	}
	return room, nil
}
