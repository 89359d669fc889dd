package live

import (
	"log/slog"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// memberNotifier coalesces updateMembers per room: at most one per interval,
// counted when sent, the last one at most one interval after the last
// change. On a single node it sends nothing when the count is the one
// every member already knows (from the last update, or from their join
// ack); in a cluster, where other nodes send updates too, it always sends
// after a change, and checks the count again after sending (another node's
// newer count may have reached the room first), sending once more if it
// moved.
//
// Counting is a presence lookup, O(1) whatever the room's size; the
// notifier holds its lock only over its own state, never while counting or
// sending.
type memberNotifier struct {
	interval time.Duration
	cluster  bool
	count    func(room chat.RoomID) (int, error)
	send     func(room chat.RoomID, n int)
	// presence sends the users who joined and left since the last
	// send, on the same timer (presence.go).
	presence func(room chat.RoomID, joined, left []string)
	logger   *slog.Logger

	mu     sync.Mutex
	rooms  map[chat.RoomID]*roomState
	closed bool
	wg     sync.WaitGroup
}

type roomState struct {
	last    time.Time
	pending *time.Timer
	sent    int   // the count last sent to the room; -1 before the first
	seen    []int // counts told to joiners (their acks) since then
	diff    presenceDiff
}

func (n *memberNotifier) state(room chat.RoomID) *roomState {
	st := n.rooms[room]
	if st == nil {
		st = &roomState{sent: -1}
		n.rooms[room] = st
	}
	return st
}

// told records the count a joining socket was told in its ack: if the
// next update would repeat what the room heard last, but this socket
// heard something else, the update is sent anyway.
func (n *memberNotifier) told(room chat.RoomID, count int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	st := n.state(room)
	if st.pending == nil && (count == st.sent || n.cluster) {
		// Nothing scheduled and nothing to correct (or, in a cluster,
		// the change that led to this count scheduled its own send).
		return
	}
	st.seen = append(st.seen, count)
	if st.pending == nil {
		n.scheduleLocked(room, st)
	}
}

// changed records that the set of users in a room changed; the room hears
// the new count within one interval.
func (n *memberNotifier) changed(room chat.RoomID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	st := n.state(room)
	if st.pending != nil {
		return // a send is scheduled; it will carry the count of its time
	}
	n.scheduleLocked(room, st)
}

func (n *memberNotifier) scheduleLocked(room chat.RoomID, st *roomState) {
	wait := max(time.Until(st.last.Add(n.interval)), 0)
	n.wg.Add(1)
	st.pending = time.AfterFunc(wait, func() {
		defer n.wg.Done()
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return
		}
		st.pending = nil
		st.last = time.Now()
		n.mu.Unlock()
		count, err := n.count(room)
		if err != nil {
			n.logger.Warn("chat: counting members", "namespace", room.Namespace, "room", room.Room, "error", err)
			return
		}
		n.mu.Lock()
		need := n.cluster || count != st.sent
		for _, c := range st.seen {
			need = need || c != count
		}
		st.seen = st.seen[:0]
		joined, left := st.diff.take()
		if need {
			st.sent = count
		}
		if count == 0 && st.pending == nil && len(st.seen) == 0 {
			// An empty room keeps no state: rooms are not forgotten
			// otherwise, and a deleted or abandoned room would stay.
			delete(n.rooms, room)
		}
		n.mu.Unlock()
		if need {
			n.send(room, count)
		}
		n.sendDiff(room, joined, left)
		if !need {
			return
		}
		if n.cluster {
			// Another node may have sent a newer count between our
			// count and our send, which ours then overrode: check
			// again, and send the count again (an interval later) if
			// it moved, so that members end on the final count.
			if now, err := n.count(room); err == nil && now != count {
				n.changed(room)
			}
		}
	})
}

// close stops the notifier. Updates still waiting for their interval are
// sent now (a node shutting down has just removed its sockets from the
// rooms, and the members on other nodes must hear the new counts).
func (n *memberNotifier) close() {
	n.mu.Lock()
	n.closed = true
	type flushed struct {
		room         chat.RoomID
		joined, left []string
	}
	var flush []flushed
	for room, st := range n.rooms {
		if st.pending != nil && st.pending.Stop() {
			n.wg.Done()
			joined, left := st.diff.take()
			flush = append(flush, flushed{room, joined, left})
		}
	}
	n.mu.Unlock()
	n.wg.Wait()
	for _, f := range flush {
		if count, err := n.count(f.room); err != nil {
			n.logger.Warn("chat: counting members", "namespace", f.room.Namespace, "room", f.room.Room, "error", err)
		} else {
			n.send(f.room, count)
		}
		n.sendDiff(f.room, f.joined, f.left)
	}
}
