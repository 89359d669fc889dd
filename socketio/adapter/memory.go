package adapter

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
)

// Memory is the in-memory, single-node Adapter: a room index (room to
// socket ids, socket id to rooms) under one RWMutex, and delivery to local
// sockets through the Emitter. Remote adapters embed it for their local
// state.
//
// The room named after a socket's own id, which every socket joins, is
// kept as a flag on the socket rather than as a room of its own, and a
// socket's rooms are a small slice: a socket in its own room and one other
// costs one index entry for each, and no map of its own.
//
// Lock order: Memory's lock is never held while calling the Emitter.
type Memory struct {
	emitter Emitter

	mu sync.RWMutex
	// rooms maps a room to its members, except the socket whose id names
	// the room (see roomSet.self).
	rooms map[string]map[string]struct{}
	// sids maps a socket id to its rooms.
	sids map[string]roomSet

	rec recovery

	// roomHooks are the OnRoomChange listeners, nil without any.
	roomHooks atomic.Pointer[[]*roomHook]
	hookMu    sync.Mutex // serializes the changes of roomHooks
}

// roomHook wraps an OnRoomChange listener so that it can be removed.
type roomHook struct{ fn func(RoomChange) }

// RoomChange is a socket joining or leaving a room, as reported to the
// OnRoomChange listeners.
type RoomChange struct {
	// Room is the room joined or left.
	Room string
	// ID is the socket id.
	ID string
	// Joined is true for a join, false for a leave.
	Joined bool
}

// OnRoomChange adds a listener called each time a socket of this node
// joins a room it was not in or leaves a room it was in (the reference
// adapter's "join-room" and "leave-room" events), including the rooms
// left when a socket disconnects and those changed by AddSockets and
// DelSockets. The room named after the socket's own id is not reported.
// The listener is called after the change, without the adapter's lock
// held, on the goroutine that made it: it must return quickly, and
// changes made at the same time on different goroutines may reach it in
// either order. It returns the function that removes the listener.
// Adapters that embed Memory inherit it.
func (m *Memory) OnRoomChange(fn func(RoomChange)) (remove func()) {
	h := &roomHook{fn: fn}
	m.hookMu.Lock()
	var next []*roomHook
	if cur := m.roomHooks.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, h)
	m.roomHooks.Store(&next)
	m.hookMu.Unlock()
	return func() {
		m.hookMu.Lock()
		defer m.hookMu.Unlock()
		cur := m.roomHooks.Load()
		if cur == nil {
			return
		}
		next := slices.DeleteFunc(slices.Clone(*cur), func(x *roomHook) bool { return x == h })
		if len(next) == 0 {
			m.roomHooks.Store(nil)
			return
		}
		m.roomHooks.Store(&next)
	}
}

// notifyRooms tells the listeners hs of the changes (m.mu not held).
func notifyRooms(hs *[]*roomHook, changes []RoomChange) {
	if hs == nil {
		return
	}
	for _, c := range changes {
		for _, h := range *hs {
			h.fn(c)
		}
	}
}

// roomSet is the set of rooms of one socket.
type roomSet struct {
	// list holds the rooms other than the socket's own id, in the order
	// they were joined.
	list []string
	// index holds the rooms of list once there are more than
	// roomSetIndexMin of them.
	index map[string]struct{}
	// self is true when the socket is in the room named after its id.
	self bool
}

// roomSetIndexMin is the number of rooms of one socket beyond which they
// are indexed by a map rather than searched in the list.
const roomSetIndexMin = 16

// has reports whether the set holds room r (r not the socket's own id).
func (rs *roomSet) has(r string) bool {
	if rs.index != nil {
		_, ok := rs.index[r]
		return ok
	}
	for _, x := range rs.list {
		if x == r {
			return true
		}
	}
	return false
}

// add adds room r (not the socket's own id and not in the set).
func (rs *roomSet) add(r string) {
	rs.list = append(rs.list, r)
	switch {
	case rs.index != nil:
		rs.index[r] = struct{}{}
	case len(rs.list) > roomSetIndexMin:
		rs.index = make(map[string]struct{}, len(rs.list))
		for _, x := range rs.list {
			rs.index[x] = struct{}{}
		}
	}
}

// del removes room r (not the socket's own id) and reports whether it was
// in the set.
func (rs *roomSet) del(r string) bool {
	i := slices.Index(rs.list, r)
	if i < 0 {
		return false
	}
	rs.list = slices.Delete(rs.list, i, i+1)
	if len(rs.list) == 0 {
		rs.list = nil
	}
	if rs.index != nil {
		delete(rs.index, r)
		if len(rs.list) <= roomSetIndexMin/2 {
			rs.index = nil
		}
	}
	return true
}

var _ Adapter = (*Memory)(nil)

// NewMemory returns an in-memory adapter for the namespace e: the default
// adapter of a socketio server, and the local core of cluster adapters,
// which embed it.
func NewMemory(e Emitter) *Memory {
	return &Memory{
		emitter: e,
		rooms:   make(map[string]map[string]struct{}),
		sids:    make(map[string]roomSet),
	}
}

// Emitter returns the namespace the adapter delivers to.
func (m *Memory) Emitter() Emitter { return m.emitter }

// RoomCount implements RoomCounter.
func (m *Memory) RoomCount() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.rooms)
}

// Add implements Adapter.
func (m *Memory) Add(id, room string) {
	m.mu.Lock()
	rs := m.sids[id]
	added := m.addLocked(&rs, id, room, 1)
	m.sids[id] = rs
	m.mu.Unlock()
	if hs := m.roomHooks.Load(); hs != nil && added && room != id {
		notifyRooms(hs, []RoomChange{{Room: room, ID: id, Joined: true}})
	}
}

// AddAll implements Adapter.
func (m *Memory) AddAll(id string, rooms ...string) {
	hs := m.roomHooks.Load()
	var changes []RoomChange
	m.mu.Lock()
	rs := m.sids[id]
	for _, r := range rooms {
		if m.addLocked(&rs, id, r, len(rooms)) && hs != nil && r != id {
			changes = append(changes, RoomChange{Room: r, ID: id, Joined: true})
		}
	}
	m.sids[id] = rs
	m.mu.Unlock()
	notifyRooms(hs, changes)
}

// addLocked adds socket id, whose rooms are rs, to room r; joining is the
// number of rooms being joined, to size a new list. It reports whether
// the socket was not in the room. m.mu must be held.
func (m *Memory) addLocked(rs *roomSet, id, r string, joining int) bool {
	if r == id {
		added := !rs.self
		rs.self = true
		return added
	}
	if rs.has(r) {
		return false
	}
	if rs.list == nil {
		// Room for a second one without growing: most sockets
		// join few rooms.
		rs.list = make([]string, 0, max(1, joining))
	}
	rs.add(r)
	members := m.rooms[r]
	if members == nil {
		members = make(map[string]struct{})
		m.rooms[r] = members
	}
	members[id] = struct{}{}
	return true
}

// Del implements Adapter.
func (m *Memory) Del(id, room string) {
	m.mu.Lock()
	left := m.delLocked(id, room)
	m.mu.Unlock()
	if hs := m.roomHooks.Load(); hs != nil && left && room != id {
		notifyRooms(hs, []RoomChange{{Room: room, ID: id}})
	}
}

// delLocked removes socket id from room and reports whether it was in
// it. m.mu must be held.
func (m *Memory) delLocked(id, room string) bool {
	rs, ok := m.sids[id]
	if !ok {
		return false
	}
	if room == id {
		left := rs.self
		rs.self = false
		m.sids[id] = rs
		return left
	}
	if !rs.del(room) {
		return false
	}
	m.sids[id] = rs
	m.leaveLocked(id, room)
	return true
}

// leaveLocked removes id from the members of room (not named after id).
func (m *Memory) leaveLocked(id, room string) {
	if members := m.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(m.rooms, room)
		}
	}
}

// DelAll implements Adapter.
func (m *Memory) DelAll(id string) {
	hs := m.roomHooks.Load()
	var changes []RoomChange
	m.mu.Lock()
	for _, r := range m.sids[id].list {
		m.leaveLocked(id, r)
		if hs != nil {
			changes = append(changes, RoomChange{Room: r, ID: id})
		}
	}
	delete(m.sids, id)
	m.mu.Unlock()
	notifyRooms(hs, changes)
}

// SocketRooms implements Adapter. The socket's own id comes first, then
// its other rooms in the order they were joined.
func (m *Memory) SocketRooms(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rs, ok := m.sids[id]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(rs.list)+1)
	if rs.self {
		out = append(out, id)
	}
	return append(out, rs.list...)
}

// RoomSize implements Adapter.
func (m *Memory) RoomSize(room string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.roomLocked(room).size()
}

// room is the membership of one room as found in the index.
type room struct {
	members map[string]struct{}
	owner   string // the socket named like the room, when it is a member
}

// roomLocked looks a room up; m.mu must be held.
func (m *Memory) roomLocked(name string) room {
	r := room{members: m.rooms[name]}
	if rs, ok := m.sids[name]; ok && rs.self {
		r.owner = name
	}
	return r
}

func (r room) size() int {
	n := len(r.members)
	if r.owner != "" {
		n++
	}
	return n
}

func (r room) has(id string) bool {
	if id == r.owner && id != "" {
		return true
	}
	_, ok := r.members[id]
	return ok
}

// appendMembers appends to dst the members of r that keep accepts.
func (r room) appendMembers(dst []string, keep func(id string) bool) []string {
	if r.owner != "" && keep(r.owner) {
		dst = append(dst, r.owner)
	}
	for id := range r.members {
		if keep(id) {
			dst = append(dst, id)
		}
	}
	return dst
}

var idsPool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// maxInlineRooms is the number of rooms a selection looks up without
// allocating.
const maxInlineRooms = 4

// selectLocal appends to dst the ids of the local sockets that opts selects,
// each once.
func (m *Memory) selectLocal(dst []string, opts BroadcastOptions) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	// Look every room up once, not once per socket.
	var buf [2 * maxInlineRooms]room
	views := buf[:0]
	if n := len(opts.Rooms) + len(opts.Except); n > len(buf) {
		views = make([]room, 0, n)
	}
	for _, r := range opts.Rooms {
		views = append(views, m.roomLocked(r))
	}
	for _, r := range opts.Except {
		views = append(views, m.roomLocked(r))
	}
	targets, except := views[:len(opts.Rooms)], views[len(opts.Rooms):]
	excluded := func(id string) bool {
		for i := range except {
			if except[i].has(id) {
				return true
			}
		}
		return false
	}
	// Size the buffer once, so that a broadcast allocates the same
	// whatever the number of recipients.
	need := 0
	if len(targets) == 0 {
		need = len(m.sids)
	}
	for i := range targets {
		need += targets[i].size()
	}
	if cap(dst)-len(dst) < need {
		dst = append(make([]string, 0, len(dst)+need), dst...)
	}
	switch len(targets) {
	case 0:
		for id := range m.sids {
			if !excluded(id) {
				dst = append(dst, id)
			}
		}
	case 1:
		dst = targets[0].appendMembers(dst, func(id string) bool { return !excluded(id) })
	default:
		for i := range targets {
			earlier := targets[:i]
			dst = targets[i].appendMembers(dst, func(id string) bool {
				// A socket in several of the rooms is taken from the
				// first of them only.
				for j := range earlier {
					if earlier[j].has(id) {
						return false
					}
				}
				return !excluded(id)
			})
		}
	}
	return dst
}

// Selects reports whether opts selects at least one local socket: a node
// of a cluster asks it before decoding another node's broadcast.
func (m *Memory) Selects(opts BroadcastOptions) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	excluded := func(id string) bool {
		for _, e := range opts.Except {
			if m.roomLocked(e).has(id) {
				return true
			}
		}
		return false
	}
	if len(opts.Rooms) == 0 {
		for id := range m.sids {
			if !excluded(id) {
				return true
			}
		}
		return false
	}
	for _, name := range opts.Rooms {
		r := m.roomLocked(name)
		if r.owner != "" && !excluded(r.owner) {
			return true
		}
		for id := range r.members {
			if !excluded(id) {
				return true
			}
		}
	}
	return false
}

// Broadcast implements Adapter. It never fails.
func (m *Memory) Broadcast(_ context.Context, pkt *Packet, opts BroadcastOptions) error {
	if m.rec.pending.Load() == 0 {
		m.BroadcastLocal(pkt, opts)
		return nil
	}
	buf := idsPool.Get().(*[]string)
	ids := m.rec.withoutResuming(m.selectLocal((*buf)[:0], opts), pkt.Data)
	if len(ids) > 0 {
		m.emitter.Deliver(pkt, ids, opts.Flags)
	}
	clear(ids)
	*buf = ids[:0]
	idsPool.Put(buf)
	return nil
}

// BroadcastLocal delivers pkt to the local sockets that opts selects and
// returns how many it was queued to.
func (m *Memory) BroadcastLocal(pkt *Packet, opts BroadcastOptions) int {
	buf := idsPool.Get().(*[]string)
	ids := m.selectLocal((*buf)[:0], opts)
	n := 0
	if len(ids) > 0 {
		n = m.emitter.Deliver(pkt, ids, opts.Flags)
	}
	clear(ids)
	*buf = ids[:0]
	idsPool.Put(buf)
	return n
}

// Sockets implements Adapter.
func (m *Memory) Sockets(_ context.Context, opts BroadcastOptions) ([]string, error) {
	return m.selectLocal(nil, opts), nil
}

// FetchSockets implements Adapter.
func (m *Memory) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketInfo, error) {
	return m.FetchLocal(opts), nil
}

// FetchLocal describes the local sockets that opts selects.
func (m *Memory) FetchLocal(opts BroadcastOptions) []SocketInfo {
	ids := m.selectLocal(nil, opts)
	out := make([]SocketInfo, 0, len(ids))
	for _, id := range ids {
		if info, ok := m.emitter.Socket(id); ok {
			out = append(out, info)
		}
	}
	return out
}

// AddSockets implements Adapter.
func (m *Memory) AddSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, id := range m.selectLocal(nil, opts) {
		m.AddAll(id, rooms...)
	}
	return nil
}

// DelSockets implements Adapter.
func (m *Memory) DelSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	ids := m.selectLocal(nil, opts)
	hs := m.roomHooks.Load()
	var changes []RoomChange
	m.mu.Lock()
	for _, id := range ids {
		for _, r := range rooms {
			if m.delLocked(id, r) && hs != nil && r != id {
				changes = append(changes, RoomChange{Room: r, ID: id})
			}
		}
	}
	m.mu.Unlock()
	notifyRooms(hs, changes)
	return nil
}

// DisconnectSockets implements Adapter.
func (m *Memory) DisconnectSockets(_ context.Context, opts BroadcastOptions, close bool) error {
	for _, id := range m.selectLocal(nil, opts) {
		m.emitter.DisconnectSocket(id, close)
	}
	return nil
}

// ServerCount implements Adapter: a single node.
func (m *Memory) ServerCount(context.Context) (int, error) { return 1, nil }

// Close implements Adapter.
func (m *Memory) Close() error { return nil }

// BroadcastWithAck implements Adapter for the local sockets: onClientCount
// is called once, with the number of sockets reached.
func (m *Memory) BroadcastWithAck(_ context.Context, pkt *Packet, opts BroadcastOptions, onClientCount func(n int), onAck func(ack Ack)) error {
	onClientCount(m.BroadcastLocalWithAck(pkt, opts, onAck))
	return nil
}

// BroadcastLocalWithAck delivers pkt with an ack id to the local sockets
// that opts selects, passing their acknowledgements to onAck, and returns
// how many it was queued to.
func (m *Memory) BroadcastLocalWithAck(pkt *Packet, opts BroadcastOptions, onAck func(ack Ack)) int {
	ids := m.selectLocal(nil, opts)
	if len(ids) == 0 {
		return 0
	}
	return m.emitter.DeliverWithAck(pkt, ids, opts.Flags, func(_ string, ack Ack) { onAck(ack) })
}

// ServerSideEmit implements Adapter: there is no other node, so it does
// nothing.
func (m *Memory) ServerSideEmit(context.Context, ...any) error { return nil }

// ServerSideEmitWithAck implements Adapter: there is no other node to
// answer, so it returns no answer.
func (m *Memory) ServerSideEmitWithAck(context.Context, ...any) ([]json.RawMessage, error) {
	return nil, nil
}
