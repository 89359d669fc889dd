package chat

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// RoomID names a room: the endpoint of its namespace ("/user") and its
// title ("chat").
type RoomID struct {
	Namespace string
	Room      string
}

// UserRef is a user as presence lists show them. Its JSON form is the
// UserRef shape of docs/protocol.md.
type UserRef struct {
	Name string `json:"username"`
	Role Role   `json:"role"`
}

// PresenceStats are the counts of one room.
type PresenceStats struct {
	Clients int // sockets in the room
	Users   int // distinct users among them
}

// Presence knows who is in which room: the sockets of each room and the
// distinct users they belong to, on every node that shares it. Counts and
// lists are kept as sockets come and go, never computed by listing a
// room's sockets, so each call costs the same whatever the room's size
// (Users costs O(limit) once the order is known).
//
// A user is present in a room while at least one of their sockets is in
// it. Socket ids are unique across nodes (Socket.IO ids are random), and a
// socket is in a room at most once: adding it again changes nothing.
//
// Implementations are safe for concurrent use. MemoryPresence serves one
// node; package chat/redispresence serves a cluster and drops the entries
// of a node that stops refreshing its liveness.
type Presence interface {
	// Add records that socket sid of user is in room. joined reports
	// that the user was not present in the room before (on any node);
	// adding a socket that is already there reports false. stats are
	// the room's counts right after, as Stats would return them (a join
	// needs both, in one call).
	Add(ctx context.Context, room RoomID, sid string, user UserRef) (joined bool, stats PresenceStats, err error)

	// Remove records that socket sid left room. left reports that it was
	// the user's last socket there; removing a socket that is not in the
	// room is no error and reports "", false.
	Remove(ctx context.Context, room RoomID, sid string) (user string, left bool, err error)

	// Stats returns the counts of room; a room nobody is in has zeros.
	Stats(ctx context.Context, room RoomID) (PresenceStats, error)

	// Users returns the first limit users present in room, sorted by
	// name in byte order, and how many are present in all. limit <= 0
	// returns no users, only the total.
	Users(ctx context.Context, room RoomID, limit int) (users []UserRef, total int, err error)
}

// PresenceSize is how much presence one node holds: the rooms its
// sockets are present in, and those sockets (one per room they are in).
type PresenceSize struct {
	Rooms   int
	Sockets int
}

// PresenceSizer is implemented by the Presence implementations that can
// tell the size of this node's entries without a round trip, for metrics
// (MemoryPresence and chat/redispresence's do).
type PresenceSizer interface {
	LocalSize() PresenceSize
}

// MemoryPresence is the Presence of a single node, kept in memory with
// counts updated on every change: Add, Remove and Stats are O(1), Users
// is O(limit) plus, after a change, one sort of the room's names. The zero
// value is ready to use.
type MemoryPresence struct {
	mu    sync.Mutex
	rooms map[RoomID]*memRoom
}

type memRoom struct {
	sockets map[string]string   // sid -> user name
	users   map[string]*memUser // user name -> its sockets here
	sorted  []string            // user names in byte order; nil when stale
}

type memUser struct {
	role    Role
	sockets int
}

// NewMemoryPresence returns an empty MemoryPresence.
func NewMemoryPresence() *MemoryPresence { return &MemoryPresence{} }

// Add implements Presence.
func (p *MemoryPresence) Add(_ context.Context, room RoomID, sid string, user UserRef) (bool, PresenceStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rooms == nil {
		p.rooms = make(map[RoomID]*memRoom)
	}
	r := p.rooms[room]
	if r == nil {
		r = &memRoom{sockets: make(map[string]string), users: make(map[string]*memUser)}
		p.rooms[room] = r
	}
	if _, ok := r.sockets[sid]; ok {
		return false, r.stats(), nil
	}
	r.sockets[sid] = user.Name
	u := r.users[user.Name]
	if u != nil {
		u.sockets++
		return false, r.stats(), nil
	}
	r.users[user.Name] = &memUser{role: user.Role, sockets: 1}
	r.sorted = nil
	return true, r.stats(), nil
}

func (r *memRoom) stats() PresenceStats {
	return PresenceStats{Clients: len(r.sockets), Users: len(r.users)}
}

// Remove implements Presence.
func (p *MemoryPresence) Remove(_ context.Context, room RoomID, sid string) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		return "", false, nil
	}
	name, ok := r.sockets[sid]
	if !ok {
		return "", false, nil
	}
	delete(r.sockets, sid)
	u := r.users[name]
	if u.sockets--; u.sockets > 0 {
		return name, false, nil
	}
	delete(r.users, name)
	r.sorted = nil
	if len(r.sockets) == 0 {
		delete(p.rooms, room)
	}
	return name, true, nil
}

// LocalSize implements PresenceSizer, in O(rooms).
func (p *MemoryPresence) LocalSize() PresenceSize {
	p.mu.Lock()
	defer p.mu.Unlock()
	sz := PresenceSize{Rooms: len(p.rooms)}
	for _, r := range p.rooms {
		sz.Sockets += len(r.sockets)
	}
	return sz
}

// Stats implements Presence.
func (p *MemoryPresence) Stats(_ context.Context, room RoomID) (PresenceStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		return PresenceStats{}, nil
	}
	return PresenceStats{Clients: len(r.sockets), Users: len(r.users)}, nil
}

// Users implements Presence.
func (p *MemoryPresence) Users(_ context.Context, room RoomID, limit int) ([]UserRef, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rooms[room]
	if r == nil {
		return []UserRef{}, 0, nil
	}
	if limit <= 0 {
		return []UserRef{}, len(r.users), nil
	}
	if r.sorted == nil {
		r.sorted = make([]string, 0, len(r.users))
		for name := range r.users {
			r.sorted = append(r.sorted, name)
		}
		slices.SortFunc(r.sorted, strings.Compare)
	}
	n := min(limit, len(r.sorted))
	out := make([]UserRef, n)
	for i, name := range r.sorted[:n] {
		out[i] = UserRef{Name: name, Role: r.users[name].role}
	}
	return out, len(r.users), nil
}
