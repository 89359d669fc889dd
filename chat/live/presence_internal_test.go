package live

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

type sentPresence struct {
	room         chat.RoomID
	joined, left []string
}

// presenceRecorder is a memberNotifier with a fixed count whose sends are
// recorded.
type presenceRecorder struct {
	*memberNotifier
	mu       sync.Mutex
	counts   []int
	presence []sentPresence
}

func newPresenceRecorder(interval time.Duration) *presenceRecorder {
	r := &presenceRecorder{}
	r.memberNotifier = &memberNotifier{
		interval: interval,
		count:    func(chat.RoomID) (int, error) { return 1, nil },
		send: func(_ chat.RoomID, c int) {
			r.mu.Lock()
			r.counts = append(r.counts, c)
			r.mu.Unlock()
		},
		presence: func(room chat.RoomID, joined, left []string) {
			r.mu.Lock()
			r.presence = append(r.presence, sentPresence{room, joined, left})
			r.mu.Unlock()
		},
		logger: slog.New(slog.DiscardHandler),
		rooms:  make(map[chat.RoomID]*roomState),
	}
	return r
}

func (r *presenceRecorder) sent() ([]int, []sentPresence) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.counts), slices.Clone(r.presence)
}

func wantPresence(t *testing.T, got sentPresence, room chat.RoomID, joined, left []string) {
	t.Helper()
	if got.room != room || !slices.Equal(got.joined, joined) || !slices.Equal(got.left, left) {
		t.Fatalf("presence %+v, want %v joined %v left %v", got, room, joined, left)
	}
}

// Within one interval, a user who joined and left (or left and came back)
// is in neither list; the others are, sorted; a room whose diff cancels
// out hears no presence at all. Close sends what waits.
func TestPresenceCoalesces(t *testing.T) {
	r := newPresenceRecorder(time.Hour)
	chatRoom := chat.RoomID{Namespace: "/user", Room: "chat"}
	helpRoom := chat.RoomID{Namespace: "/user", Room: "help"}
	r.userMoved(chatRoom, "alice", true) // the first send goes at once
	r.wg.Wait()
	counts, sent := r.sent()
	if len(sent) != 1 || !slices.Equal(counts, []int{1}) {
		t.Fatalf("after the first change: counts %v, presence %+v", counts, sent)
	}
	wantPresence(t, sent[0], chatRoom, []string{"alice"}, []string{})

	// Within the hour: nothing goes out until Close.
	r.userMoved(chatRoom, "bob", true)
	r.userMoved(chatRoom, "zoe", true)
	r.userMoved(chatRoom, "bob", false) // joined and left: neither
	r.userMoved(chatRoom, "alice", false)
	r.userMoved(chatRoom, "alice", true) // left and came back: neither
	r.userMoved(chatRoom, "dave", false)
	r.userMoved(chatRoom, "carol", true)
	r.userMoved(helpRoom, "bob", true)
	r.userMoved(helpRoom, "bob", false)
	if _, sent := r.sent(); len(sent) != 1 {
		t.Fatalf("presence sent within the interval: %+v", sent)
	}
	r.close()
	counts, sent = r.sent()
	if len(counts) != 3 { // both rooms hear their counts
		t.Fatalf("counts after close: %v", counts)
	}
	if len(sent) != 2 {
		t.Fatalf("presence after close: %+v, want one for chat only", sent)
	}
	wantPresence(t, sent[1], chatRoom, []string{"carol", "zoe"}, []string{"dave"})
}

// On one node an unchanged count is not sent again, but the presence
// change is (one user left, another joined).
func TestPresenceWithoutCountChange(t *testing.T) {
	r := newPresenceRecorder(20 * time.Millisecond)
	defer r.close()
	room := chat.RoomID{Namespace: "/user", Room: "chat"}
	r.userMoved(room, "alice", true)
	r.wg.Wait()
	r.userMoved(room, "alice", false)
	r.userMoved(room, "bob", true)
	r.wg.Wait()
	counts, sent := r.sent()
	if !slices.Equal(counts, []int{1}) || len(sent) != 2 {
		t.Fatalf("counts %v, presence %+v; want the count once and two presence events", counts, sent)
	}
	wantPresence(t, sent[1], room, []string{"bob"}, []string{"alice"})
}
