package live

import (
	"context"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// activityNotifier throttles roomActivity per room on this node: the
// first new message of a room is announced at once, later ones at most
// once per interval, the newest id always within an interval (a trailing
// send). Every node announces to its own sockets (Local), messages of
// other nodes included (postedEvent), so a socket hears one node only.
type activityNotifier struct {
	interval time.Duration
	send     func(room chat.RoomID, lastID int64)

	mu     sync.Mutex
	rooms  map[chat.RoomID]*activityState
	closed bool
	wg     sync.WaitGroup
}

// activityState exists while a room is within its interval after a send;
// its timer then sends what arrived meanwhile, or forgets the room.
type activityState struct {
	lastID int64 // the newest id seen
	sentID int64 // the newest id sent
	timer  *time.Timer
}

func newActivityNotifier(interval time.Duration, send func(chat.RoomID, int64)) *activityNotifier {
	return &activityNotifier{interval: interval, send: send, rooms: make(map[chat.RoomID]*activityState)}
}

// posted records a new message of a room.
func (a *activityNotifier) posted(room chat.RoomID, id int64) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	if st := a.rooms[room]; st != nil {
		st.lastID = max(st.lastID, id)
		a.mu.Unlock()
		return
	}
	st := &activityState{lastID: id, sentID: id}
	a.rooms[room] = st
	a.scheduleLocked(room, st)
	a.mu.Unlock()
	a.send(room, id)
}

func (a *activityNotifier) scheduleLocked(room chat.RoomID, st *activityState) {
	a.wg.Add(1)
	st.timer = time.AfterFunc(a.interval, func() {
		defer a.wg.Done()
		a.mu.Lock()
		if a.closed || st.lastID <= st.sentID {
			delete(a.rooms, room)
			a.mu.Unlock()
			return
		}
		id := st.lastID
		st.sentID = id
		a.scheduleLocked(room, st)
		a.mu.Unlock()
		a.send(room, id)
	})
}

// close stops the notifier; sends still waiting are dropped (the node
// is going away, and its sockets with it).
func (a *activityNotifier) close() {
	a.mu.Lock()
	a.closed = true
	for _, st := range a.rooms {
		if st.timer.Stop() {
			a.wg.Done()
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// sendActivity sends roomActivity to this node's sockets of the
// namespace that are not in the room.
func (s *Server) sendActivity(room chat.RoomID, lastID int64) {
	nsp := s.namespace(room.Namespace)
	if nsp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	_ = nsp.Local().Except(room.Room).EmitContext(ctx, "roomActivity", struct {
		Room   string `json:"room"`
		LastID int64  `json:"lastId"`
	}{room.Room, lastID})
}
