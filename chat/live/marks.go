package live

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
)

// joinMarks writes the read markers of joins in the background, many per
// transaction: a join marks its room read (docs/protocol.md) without
// waiting for a commit, and a storm of reconnecting clients rejoining
// their rooms costs a few commits, not one each. A mark is stored within
// one commit of its join; one still queued when the server closes is
// written by Close.
type joinMarks struct {
	store   chat.ReadMarkerStore
	timeout time.Duration
	logger  *slog.Logger

	mu      sync.Mutex
	pending map[joinKey]int64 // -> the newest id the join saw
	wake    chan struct{}     // a value when pending became non-empty
	done    chan struct{}     // closed by close
	stopped chan struct{}     // closed when the writer has returned
	closed  bool
}

type joinKey struct {
	user int64
	room chat.RoomID
}

func newJoinMarks(store chat.ReadMarkerStore, timeout time.Duration, logger *slog.Logger) *joinMarks {
	j := &joinMarks{
		store: store, timeout: timeout, logger: logger,
		pending: make(map[joinKey]int64),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go j.run()
	return j
}

// add queues the marking of room as read for user up to id.
func (j *joinMarks) add(user int64, room chat.RoomID, id int64) {
	if id <= 0 {
		return // an empty room: nothing to mark
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return
	}
	k := joinKey{user, room}
	j.pending[k] = max(j.pending[k], id)
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

func (j *joinMarks) run() {
	defer close(j.stopped)
	for {
		select {
		case <-j.wake:
			j.flush()
		case <-j.done:
			j.flush()
			return
		}
	}
}

// flush writes what is queued, in one transaction.
func (j *joinMarks) flush() {
	j.mu.Lock()
	batch := make([]chat.ReadMark, 0, len(j.pending))
	for k, id := range j.pending {
		batch = append(batch, chat.ReadMark{UserID: k.user, Namespace: k.room.Namespace, Room: k.room.Room, ID: id})
	}
	clear(j.pending)
	j.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
	defer cancel()
	if err := j.store.MarkReadMany(ctx, batch); err != nil {
		j.logger.Warn("chat: marking joined rooms read", "marks", len(batch), "error", err)
	}
}

// close writes what is queued and stops the writer.
func (j *joinMarks) close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		<-j.stopped
		return
	}
	j.closed = true
	j.mu.Unlock()
	close(j.done)
	<-j.stopped
}

// newestID is the id of the last message of a history in JSON (an array
// of Message objects, oldest first, each starting with its "id"), or 0
// for an empty one. The text of a message cannot hold the bytes {"id":
// (its quotes are escaped), so the last of them starts the last message.
func newestID(history []byte) int64 {
	at := bytes.LastIndex(history, []byte(`{"id":`))
	if at < 0 {
		return 0
	}
	rest := history[at+len(`{"id":`):]
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return 0
	}
	id, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return 0
	}
	return id
}
