package chat

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
)

// The coalescing notifier: what it sends after each kind of change.
func TestMemberNotifierSends(t *testing.T) {
	var mu sync.Mutex
	count, single := 0, true
	var sent []int
	n := &memberNotifier{
		interval: 5 * time.Millisecond,
		count: func(_ *socketio.Namespace, _ string) (int, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return count, single, nil
		},
		send: func(_ *socketio.Namespace, _ string, c int) {
			mu.Lock()
			sent = append(sent, c)
			mu.Unlock()
		},
		logger: slog.New(slog.DiscardHandler),
		rooms:  make(map[roomKey]*roomState),
	}
	defer n.close()
	step := func(newCount int, told int, want []int) {
		t.Helper()
		mu.Lock()
		count, sent = newCount, nil
		mu.Unlock()
		n.changed(nil, "r", told)
		n.wg.Wait() // the scheduled send (if any) has run
		mu.Lock()
		defer mu.Unlock()
		if len(sent) != len(want) || (len(want) == 1 && sent[0] != want[0]) {
			t.Fatalf("count %d told %d: sent %v, want %v", newCount, told, sent, want)
		}
	}
	step(1, 1, []int{1})  // first join: the room hears 1
	step(1, 1, nil)       // a second socket of the same user: nothing new
	step(1, 2, []int{1})  // a joiner was told 2, then someone left: the room hears 1
	step(2, -1, []int{2}) // a change of the count
	mu.Lock()
	single = false
	mu.Unlock()
	step(2, 2, []int{2}) // in a cluster, every change is sent
}
