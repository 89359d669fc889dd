package adapter

import (
	"context"
	"sync"
)

// Memory is the in-memory, single-node Adapter: a room index (room to
// socket ids, socket id to rooms) under one RWMutex, and delivery to local
// sockets through the Emitter. Remote adapters embed it for their local
// state.
//
// Lock order: Memory's lock is never held while calling the Emitter.
type Memory struct {
	emitter Emitter

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room -> socket ids
	sids  map[string]map[string]struct{} // socket id -> rooms

	rec recovery
}

var _ Adapter = (*Memory)(nil)

// NewMemory returns an in-memory adapter for the namespace e. It has the
// signature of a Factory.
func NewMemory(e Emitter) Adapter { return NewMemoryAdapter(e) }

// NewMemoryAdapter is NewMemory returning the concrete type, for adapters
// that embed it.
func NewMemoryAdapter(e Emitter) *Memory {
	return &Memory{
		emitter: e,
		rooms:   make(map[string]map[string]struct{}),
		sids:    make(map[string]map[string]struct{}),
	}
}

// Emitter returns the namespace the adapter delivers to.
func (m *Memory) Emitter() Emitter { return m.emitter }

// AddAll implements Adapter.
func (m *Memory) AddAll(id string, rooms ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mine := m.sids[id]
	if mine == nil {
		mine = make(map[string]struct{}, len(rooms))
		m.sids[id] = mine
	}
	for _, r := range rooms {
		mine[r] = struct{}{}
		members := m.rooms[r]
		if members == nil {
			members = make(map[string]struct{})
			m.rooms[r] = members
		}
		members[id] = struct{}{}
	}
}

// Del implements Adapter.
func (m *Memory) Del(id, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delLocked(id, room)
}

func (m *Memory) delLocked(id, room string) {
	if mine := m.sids[id]; mine != nil {
		delete(mine, room)
	}
	if members := m.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(m.rooms, room)
		}
	}
}

// DelAll implements Adapter.
func (m *Memory) DelAll(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for r := range m.sids[id] {
		if members := m.rooms[r]; members != nil {
			delete(members, id)
			if len(members) == 0 {
				delete(m.rooms, r)
			}
		}
	}
	delete(m.sids, id)
}

// SocketRooms implements Adapter.
func (m *Memory) SocketRooms(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mine, ok := m.sids[id]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(mine))
	for r := range mine {
		out = append(out, r)
	}
	return out
}

// RoomSize implements Adapter.
func (m *Memory) RoomSize(room string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.rooms[room])
}

var idsPool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// selectLocal appends to dst the ids of the local sockets that opts selects,
// each once.
func (m *Memory) selectLocal(dst []string, opts BroadcastOptions) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	excluded := func(id string) bool {
		if len(opts.Except) == 0 {
			return false
		}
		for _, r := range opts.Except {
			if _, ok := m.rooms[r][id]; ok {
				return true
			}
		}
		return false
	}
	// Size the buffer once, so that a broadcast allocates the same
	// whatever the number of recipients.
	need := 0
	if len(opts.Rooms) == 0 {
		need = len(m.sids)
	}
	for _, r := range opts.Rooms {
		need += len(m.rooms[r])
	}
	if cap(dst)-len(dst) < need {
		dst = append(make([]string, 0, len(dst)+need), dst...)
	}
	switch len(opts.Rooms) {
	case 0:
		for id := range m.sids {
			if !excluded(id) {
				dst = append(dst, id)
			}
		}
	case 1:
		for id := range m.rooms[opts.Rooms[0]] {
			if !excluded(id) {
				dst = append(dst, id)
			}
		}
	default:
		for i, r := range opts.Rooms {
		members:
			for id := range m.rooms[r] {
				// A socket in several of the rooms is taken from the
				// first of them only.
				for _, earlier := range opts.Rooms[:i] {
					if _, ok := m.rooms[earlier][id]; ok {
						continue members
					}
				}
				if !excluded(id) {
					dst = append(dst, id)
				}
			}
		}
	}
	return dst
}

// Broadcast implements Adapter. It never fails.
func (m *Memory) Broadcast(_ context.Context, pkt *Packet, opts BroadcastOptions) error {
	m.BroadcastLocal(pkt, opts)
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
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		for _, r := range rooms {
			m.delLocked(id, r)
		}
	}
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

var _ AckBroadcaster = (*Memory)(nil)

// BroadcastWithAck implements AckBroadcaster for the local sockets. It
// fails when the Emitter cannot deliver packets expecting acks.
func (m *Memory) BroadcastWithAck(_ context.Context, pkt *Packet, opts BroadcastOptions, onClientCount func(n int), onAck func(ack Ack)) error {
	ae, ok := m.emitter.(AckEmitter)
	if !ok {
		return ErrAcksUnsupported
	}
	ids := m.selectLocal(nil, opts)
	n := 0
	if len(ids) > 0 {
		n = ae.DeliverWithAck(pkt, ids, opts.Flags, func(_ string, ack Ack) { onAck(ack) })
	}
	onClientCount(n)
	return nil
}
