package chat

import (
	"context"
	"maps"
	"sync"
	"time"
)

// UnreadCap is the highest unread count reported for a room: a client
// shows "1000+" beyond it, and counting stops there, so a count costs the
// same in a room of a million unread messages.
const UnreadCap = 1000

// ReadMarkerStore keeps each user's read marker per room: the id of the
// last message the user has read there. A user has read nothing in a room
// until a marker is set (marker 0, as for a new account). Markers are
// shared by all of a user's sockets and devices and survive restarts.
// Package store implements it.
type ReadMarkerStore interface {
	// UnreadCounts returns, for every room of the namespace with the
	// given endpoint (by title), the number of its messages after the
	// user's marker that the user did not write, at most limit per room;
	// rooms without such messages are there with 0. An unknown namespace
	// has no rooms.
	UnreadCounts(ctx context.Context, userID int64, namespace string, limit int) (map[string]int, error)

	// Markers returns the user's marker in every room of the namespace
	// (by title), 0 where none is set.
	Markers(ctx context.Context, userID int64, namespace string) (map[string]int64, error)

	// MarkRead moves the user's marker in a room forward to id, or to the
	// id of the room's newest message when id is beyond it (so
	// math.MaxInt64 marks the whole room read). A marker never moves
	// back: an id at or below it changes nothing. An unknown room
	// changes nothing.
	MarkRead(ctx context.Context, userID int64, namespace, room string, id int64) error

	// MarkReadMany applies several MarkRead at once, in one transaction
	// (joins mark their rooms read this way, many per commit).
	MarkReadMany(ctx context.Context, marks []ReadMark) error
}

// ReadMark is one MarkRead: move the user's marker in a room forward to
// ID.
type ReadMark struct {
	UserID    int64
	Namespace string
	Room      string
	ID        int64
}

// ReadMarkersOptions configure ReadMarkers.
type ReadMarkersOptions struct {
	// CacheTTL is how long a user's markers read from the store are used
	// before they are read again. On one node every marker moves through
	// this ReadMarkers, so the cached copy stays right and the TTL only
	// bounds the memory of users gone; in a cluster a marker moved on
	// another node is seen here after at most this long. Zero means one
	// minute.
	CacheTTL time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// ReadMarkers is the service behind unread counts and read markers. It
// keeps the markers of recent users in memory and counts a room's unread
// messages from the cached tail of Messages when that tail holds all of
// them, so a connection (which is told its unread counts) usually asks
// nothing of the store. It is safe for concurrent use.
type ReadMarkers struct {
	store ReadMarkerStore
	msgs  *Messages
	opts  ReadMarkersOptions

	mu    sync.Mutex
	users map[userNamespace]*cachedMarkers
}

type userNamespace struct {
	user      int64
	namespace string
}

// cachedMarkers are one user's markers in the rooms of one namespace.
type cachedMarkers struct {
	read    time.Time
	markers map[string]int64 // room title -> marker
}

// NewReadMarkers returns the service over store; msgs (which may be nil)
// provides the cached room tails to count from.
func NewReadMarkers(store ReadMarkerStore, msgs *Messages, opts ReadMarkersOptions) *ReadMarkers {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &ReadMarkers{store: store, msgs: msgs, opts: opts, users: make(map[userNamespace]*cachedMarkers)}
}

// markers returns the user's markers in the namespace, from the cache or
// the store. The map is shared: callers do not modify it.
func (r *ReadMarkers) markers(ctx context.Context, user int64, namespace string) (map[string]int64, error) {
	k := userNamespace{user, namespace}
	now := r.opts.Now()
	r.mu.Lock()
	if c := r.users[k]; c != nil && now.Sub(c.read) < r.opts.CacheTTL {
		m := c.markers
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()
	m, err := r.store.Markers(ctx, user, namespace)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.users) >= maxCachedMarkers {
		r.evictLocked(now)
	}
	if c := r.users[k]; c != nil {
		// Markers only move forward: what the cache has (a join that
		// has not reached the store yet) is kept where it is higher.
		for room, id := range c.markers {
			m[room] = max(m[room], id)
		}
	}
	r.users[k] = &cachedMarkers{read: now, markers: m}
	return m, nil
}

// maxCachedMarkers bounds the users (per namespace) whose markers are
// kept; beyond it the expired entries are dropped, then the rest.
const maxCachedMarkers = 100_000

func (r *ReadMarkers) evictLocked(now time.Time) {
	for k, c := range r.users {
		if now.Sub(c.read) >= r.opts.CacheTTL {
			delete(r.users, k)
		}
	}
	if len(r.users) >= maxCachedMarkers {
		clear(r.users)
	}
}

// Unread returns, for each of the rooms (titles of rooms of the
// namespace), the number of messages after the user's marker that the
// user did not write, at most UnreadCap each.
func (r *ReadMarkers) Unread(ctx context.Context, user int64, namespace string, rooms []string) (map[string]int, error) {
	counts, _, err := r.UnreadUpTo(ctx, user, namespace, rooms)
	return counts, err
}

// UnreadUpTo is Unread that also returns, when the counts came from the
// cached histories, the id of each room's newest message they reflect (0
// for a room without messages): a client told of later activity up to
// that id knows it is counted already. Counts read from the store come
// without ids (nil).
func (r *ReadMarkers) UnreadUpTo(ctx context.Context, user int64, namespace string, rooms []string) (map[string]int, map[string]int64, error) {
	markers, err := r.markers(ctx, user, namespace)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]int, len(rooms))
	if r.msgs != nil {
		last := make(map[string]int64, len(rooms))
		for _, room := range rooms {
			n, newest, ok, err := r.msgs.countAfter(ctx, RoomID{Namespace: namespace, Room: room}, markers[room], user, UnreadCap)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				out = nil // a room older than its cached tail: ask the store
				break
			}
			out[room], last[room] = n, newest
		}
		if out != nil {
			return out, last, nil
		}
	}
	all, err := r.store.UnreadCounts(ctx, user, namespace, UnreadCap)
	if err != nil {
		return nil, nil, err
	}
	out = make(map[string]int, len(rooms))
	for _, room := range rooms {
		out[room] = all[room]
	}
	return out, nil, nil
}

// MarkRead moves the user's marker in room forward to id (at most to the
// room's newest message), in the store.
func (r *ReadMarkers) MarkRead(ctx context.Context, user int64, room RoomID, id int64) error {
	if err := r.store.MarkRead(ctx, user, room.Namespace, room.Room, id); err != nil {
		return err
	}
	// The store capped id at the room's newest message; the cached copy
	// is read again rather than guessed.
	r.Forget(user, room.Namespace)
	return nil
}

// Joined records that the user has read room up to id, the newest
// message it was sent on joining (an id of the room), in the cached
// markers at once; the caller stores it (MarkReadMany, in the
// background).
func (r *ReadMarkers) Joined(user int64, room RoomID, id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.users[userNamespace{user, room.Namespace}]; c != nil && c.markers[room.Room] < id {
		m := maps.Clone(c.markers)
		m[room.Room] = id
		c.markers = m
	}
}

// Forget drops the cached markers of a user in a namespace: the next
// read asks the store (another node of a cluster moved one).
func (r *ReadMarkers) Forget(user int64, namespace string) {
	r.mu.Lock()
	delete(r.users, userNamespace{user, namespace})
	r.mu.Unlock()
}

// Store is the store the markers are kept in.
func (r *ReadMarkers) Store() ReadMarkerStore { return r.store }
