package chat

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// MessagesOptions configure Messages.
type MessagesOptions struct {
	// Limiter limits messages per user; nil means no limit.
	Limiter *RateLimiter
	// CacheHistory keeps the last HistorySize messages of every room that
	// was read or written in memory, so that reading a room's history
	// (every join) asks nothing of the store. It is right when every
	// message of the store is posted through this Messages (one node),
	// or when the application passes every message posted elsewhere (by
	// the other nodes of a cluster) to Observe.
	CacheHistory bool
	// HistoryTTL, when positive, is how long a room's cached history is
	// used before it is read from the store again: the bound on how long
	// a message whose Observe was missed (a cluster's notification lost
	// while a node's link to the others was down) stays out of it.
	// Zero keeps it until the process ends (right for one node).
	HistoryTTL time.Duration
	// Now returns the current time (for HistoryTTL). Defaults to
	// time.Now.
	Now func() time.Time
}

// Messages is the service behind posting and reading messages: it applies
// the text rule and the per-user rate limit, then appends to the store.
// It is safe for concurrent use.
type Messages struct {
	store MessageStore
	opts  MessagesOptions

	mu    sync.Mutex
	cache map[RoomID]*roomHistory
}

// roomHistory is the cached tail of a room, sorted by id without
// duplicates, at most HistorySize long. While the first read of the room
// runs (loading), posts are collected in pending and merged when it ends:
// a post committed before the load began is in what it reads, and one
// committed later finds the entry and is added.
type roomHistory struct {
	msgs    []Message
	read    time.Time // when the store was read
	loading bool
	pending []Message
	encoded []byte // the JSON of msgs; nil until asked for after a change
	// complete: the store held fewer than HistorySize messages of the
	// room when it was read, so msgs is the whole room for as long as it
	// stays shorter than HistorySize (it is trimmed only beyond).
	complete bool
}

// NewMessages returns the service over store.
func NewMessages(store MessageStore, opts MessagesOptions) *Messages {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Messages{store: store, opts: opts}
	if opts.CacheHistory {
		m.cache = make(map[RoomID]*roomHistory)
	}
	return m
}

// Post stores a message of author in room and returns it as stored (with
// its id and time). The text is validated first (ValidateText: EINVALID),
// then the author's rate limit is applied (ERATELIMITED; invalid texts do
// not count), then the message is appended; it is durably stored when
// Post returns without error. An unknown room gives ENOTFOUND.
func (m *Messages) Post(ctx context.Context, author User, room RoomID, text string) (Message, error) {
	text, err := ValidateText(text)
	if err != nil {
		return Message{}, err
	}
	if !m.opts.Limiter.Allow(author.ID) {
		return Message{}, Errorf(ERATELIMITED, "too many messages; slow down")
	}
	msg, err := m.store.AppendMessage(ctx, Message{
		Namespace: room.Namespace, Room: room.Room,
		UserID: author.ID, Username: author.Name, Text: text,
	})
	if err != nil {
		return Message{}, err
	}
	m.Observe(msg)
	return msg, nil
}

// Observe records a message stored by someone else (another node of the
// cluster) in the cached history of its room, if that room is cached. It
// does nothing without CacheHistory. Messages may be observed in any
// order and more than once.
func (m *Messages) Observe(msg Message) {
	if m.cache == nil {
		return
	}
	room := RoomID{Namespace: msg.Namespace, Room: msg.Room}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.cache[room]; h != nil {
		if h.loading {
			h.pending = append(h.pending, msg)
		} else {
			h.msgs = mergeTail(h.msgs, msg)
			h.encoded = nil
		}
	}
}

// Flush drops every cached history, so that the next read of each room
// asks the store: for when messages may have been stored without being
// observed.
func (m *Messages) Flush() {
	if m.cache == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for room, h := range m.cache {
		if !h.loading {
			delete(m.cache, room)
		}
	}
}

// fresh reports whether the cached history h may be used now.
func (m *Messages) fresh(h *roomHistory) bool {
	return !h.loading && (m.opts.HistoryTTL <= 0 || m.opts.Now().Sub(h.read) < m.opts.HistoryTTL)
}

// History returns the last limit messages of room, oldest first; never
// nil.
func (m *Messages) History(ctx context.Context, room RoomID, limit int) ([]Message, error) {
	if m.cache == nil || limit > HistorySize {
		return m.read(ctx, room, limit)
	}
	m.mu.Lock()
	h := m.cache[room]
	if h != nil && !h.loading && !m.fresh(h) {
		delete(m.cache, room) // stale: read again
		h = nil
	}
	if h != nil && !h.loading {
		out := slices.Clone(h.msgs[max(0, len(h.msgs)-limit):])
		m.mu.Unlock()
		if out == nil {
			out = []Message{}
		}
		return out, nil
	}
	load := h == nil
	if load {
		h = &roomHistory{loading: true, read: m.opts.Now()}
		m.cache[room] = h
	}
	m.mu.Unlock()
	// Another read is loading the room (!load): read the store as well
	// rather than wait for it.
	msgs, err := m.read(ctx, room, HistorySize)
	if err != nil {
		if load {
			m.mu.Lock()
			delete(m.cache, room)
			m.mu.Unlock()
		}
		return nil, err
	}
	if load {
		m.mu.Lock()
		h.complete = len(msgs) < HistorySize
		h.msgs = mergeTail(msgs, h.pending...)
		h.loading, h.pending = false, nil
		msgs = slices.Clone(h.msgs)
		m.mu.Unlock()
	}
	return msgs[max(0, len(msgs)-limit):], nil
}

// HistoryJSON is History(ctx, room, HistorySize) in its JSON form (an
// array of the Message shape). With CacheHistory the encoding is made
// once per change of the room, not once per reader: every join sends it.
// The slice is shared: callers do not modify it.
func (m *Messages) HistoryJSON(ctx context.Context, room RoomID) ([]byte, error) {
	if m.cache != nil {
		m.mu.Lock()
		if h := m.cache[room]; h != nil && m.fresh(h) && h.encoded != nil {
			b := h.encoded
			m.mu.Unlock()
			return b, nil
		}
		m.mu.Unlock()
	}
	msgs, err := m.History(ctx, room, HistorySize)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	if m.cache != nil {
		m.mu.Lock()
		// Kept only if the room did not change meanwhile: the cached
		// tail is still the one encoded.
		if h := m.cache[room]; h != nil && !h.loading && slices.Equal(h.msgs, msgs) {
			h.encoded = b
		}
		m.mu.Unlock()
	}
	return b, nil
}

// CountAfter counts the messages of room with an id above after that the
// user with id userID did not write, at most limit, from the cached tail of the room
// when that tail holds every message after the id (the room is read into
// the cache first when it is not there). ok is false when the cache
// cannot tell (CacheHistory is off, or messages after the id are older
// than the tail): the caller then asks the store.
func (m *Messages) CountAfter(ctx context.Context, room RoomID, after, userID int64, limit int) (n int, ok bool, err error) {
	n, _, ok, err = m.countAfter(ctx, room, after, userID, limit)
	return n, ok, err
}

// countAfter is CountAfter that also returns the id of the newest message
// of the cached tail it counted from (0 for an empty room): every message
// up to it is reflected in n.
func (m *Messages) countAfter(ctx context.Context, room RoomID, after, userID int64, limit int) (n int, newest int64, ok bool, err error) {
	if m.cache == nil {
		return 0, 0, false, nil
	}
	for range 2 {
		m.mu.Lock()
		if h := m.cache[room]; h != nil && m.fresh(h) {
			n, ok = h.countAfter(after, userID, limit)
			if len(h.msgs) > 0 {
				newest = h.msgs[len(h.msgs)-1].ID
			}
			m.mu.Unlock()
			return n, newest, ok, nil
		}
		m.mu.Unlock()
		// Not cached (or being loaded): load it, then count from it.
		if _, err := m.History(ctx, room, HistorySize); err != nil {
			return 0, 0, false, err
		}
	}
	return 0, 0, false, nil
}

// countAfter is CountAfter on one cached tail.
func (h *roomHistory) countAfter(after, userID int64, limit int) (int, bool) {
	whole := h.complete && len(h.msgs) < HistorySize
	if !whole && (len(h.msgs) == 0 || after < h.msgs[0].ID) {
		return 0, false
	}
	n := 0
	for i := len(h.msgs) - 1; i >= 0 && h.msgs[i].ID > after && n < limit; i-- {
		if h.msgs[i].UserID != userID {
			n++
		}
	}
	return n, true
}

func (m *Messages) read(ctx context.Context, room RoomID, limit int) ([]Message, error) {
	msgs, err := m.store.LastMessages(ctx, room.Namespace, room.Room, limit)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return msgs, nil
}

// mergeTail adds msgs to the sorted tail, keeping it sorted by id, without
// duplicates, and at most HistorySize long. Concurrent posts may finish
// out of id order.
func mergeTail(tail []Message, msgs ...Message) []Message {
	for _, msg := range msgs {
		i, found := slices.BinarySearchFunc(tail, msg.ID, func(m Message, id int64) int {
			switch {
			case m.ID < id:
				return -1
			case m.ID > id:
				return 1
			}
			return 0
		})
		if found {
			continue
		}
		if len(tail) >= HistorySize && i == 0 {
			continue // older than everything kept
		}
		tail = slices.Insert(tail, i, msg)
		if len(tail) > HistorySize {
			tail = slices.Delete(tail, 0, len(tail)-HistorySize)
		}
	}
	return tail
}
