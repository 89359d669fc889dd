package live

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// The coalescing notifier: what it sends after each kind of change.
func TestMemberNotifierSends(t *testing.T) {
	var mu sync.Mutex
	count := 0
	var sent []int
	room := chat.RoomID{Namespace: "/user", Room: "r"}
	newNotifier := func(cluster bool) *memberNotifier {
		return &memberNotifier{
			interval: 5 * time.Millisecond,
			cluster:  cluster,
			count: func(chat.RoomID) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return count, nil
			},
			send: func(r chat.RoomID, c int) {
				if r != room {
					t.Errorf("sent to %v", r)
				}
				mu.Lock()
				sent = append(sent, c)
				mu.Unlock()
			},
			logger: slog.New(slog.DiscardHandler),
			rooms:  make(map[chat.RoomID]*roomState),
		}
	}
	n := newNotifier(false)
	defer n.close()
	// step sets the count, lets change (a join or leave) happen, then
	// the joiner be told their count, and checks what the room heard.
	step := func(n *memberNotifier, newCount int, change bool, told int, want []int) {
		t.Helper()
		mu.Lock()
		count, sent = newCount, nil
		mu.Unlock()
		if change {
			n.changed(room)
		}
		if told >= 0 {
			n.told(room, told)
		}
		n.wg.Wait() // the scheduled send (if any) has run
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(sent, want) {
			t.Fatalf("count %d change %v told %d: sent %v, want %v", newCount, change, told, sent, want)
		}
	}
	step(n, 1, true, 1, []int{1})  // first join: the room hears 1
	step(n, 1, false, 1, nil)      // a second socket of the same user: nothing new
	step(n, 1, true, 2, []int{1})  // a joiner was told 2, then someone left: the room hears 1
	step(n, 2, true, -1, []int{2}) // a change of the count
	step(n, 2, false, 3, []int{2}) // told a count the room did not hear: corrected
	step(n, 0, true, -1, []int{0}) // the room empties: it hears 0 and is forgotten
	n.mu.Lock()
	if len(n.rooms) != 0 {
		t.Errorf("state of %d rooms kept after they emptied", len(n.rooms))
	}
	n.mu.Unlock()

	c := newNotifier(true)
	defer c.close()
	step(c, 2, true, 2, []int{2}) // in a cluster, every change is sent
	step(c, 2, true, -1, []int{2})
	step(c, 2, false, 2, nil) // but a rejoin is not a change
}

// Updates are coalesced: many changes within one interval make one send,
// at most one interval after the previous one.
func TestMemberNotifierCoalesces(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	count, last := 0, 0
	room := chat.RoomID{Namespace: "/user", Room: "r"}
	const interval = 50 * time.Millisecond
	n := &memberNotifier{
		interval: interval,
		count: func(chat.RoomID) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return count, nil
		},
		send: func(_ chat.RoomID, c int) {
			mu.Lock()
			times, last = append(times, time.Now()), c
			mu.Unlock()
		},
		logger: slog.New(slog.DiscardHandler),
		rooms:  make(map[chat.RoomID]*roomState),
	}
	defer n.close()
	// A burst of changes: the first may go out at once, the rest make
	// one trailing send with the final count.
	for i := range 20 {
		mu.Lock()
		count = i + 1
		mu.Unlock()
		n.changed(room)
	}
	n.wg.Wait()
	mu.Lock()
	if len(times) == 0 || len(times) > 2 || last != 20 {
		t.Fatalf("%d sends for a burst of 20 changes, the last of %d; want 1 or 2, the last of 20", len(times), last)
	}
	burst := len(times)
	mu.Unlock()
	// Changes each waited for: one send each, an interval apart.
	for i := range 5 {
		mu.Lock()
		count = 100 + i
		mu.Unlock()
		n.changed(room)
		n.wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != burst+5 {
		t.Fatalf("%d sends after the burst, want 5", len(times)-burst)
	}
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d < interval-time.Millisecond {
			t.Fatalf("sends %d and %d %v apart, want at least %v", i-1, i, d, interval)
		}
	}
}

// Closing sends the updates still waiting for their interval.
func TestMemberNotifierCloseFlushes(t *testing.T) {
	var mu sync.Mutex
	var sent []int
	count := 7
	room := chat.RoomID{Namespace: "/user", Room: "r"}
	n := &memberNotifier{
		interval: time.Hour,
		count: func(chat.RoomID) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return count, nil
		},
		send: func(_ chat.RoomID, c int) {
			mu.Lock()
			sent = append(sent, c)
			mu.Unlock()
		},
		logger: slog.New(slog.DiscardHandler),
		rooms:  make(map[chat.RoomID]*roomState),
	}
	n.changed(room) // sent at once
	n.wg.Wait()
	mu.Lock()
	count = 8
	mu.Unlock()
	n.changed(room) // would wait an hour
	n.close()
	n.changed(room) // after close: nothing
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(sent, []int{7, 8}) {
		t.Fatalf("sent %v, want [7 8]: the pending update at close", sent)
	}
}

// In a cluster, a count that moved while it was being sent is sent again,
// so that a stale count never stays the last one the room heard.
func TestMemberNotifierResendsMovedCount(t *testing.T) {
	var mu sync.Mutex
	var sent []int
	counts := []int{1, 2} // the count at send time, then after it
	room := chat.RoomID{Namespace: "/user", Room: "r"}
	n := &memberNotifier{
		interval: 5 * time.Millisecond,
		cluster:  true,
		count: func(chat.RoomID) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			c := counts[0]
			if len(counts) > 1 {
				counts = counts[1:]
			}
			return c, nil
		},
		send: func(_ chat.RoomID, c int) {
			mu.Lock()
			sent = append(sent, c)
			mu.Unlock()
		},
		logger: slog.New(slog.DiscardHandler),
		rooms:  make(map[chat.RoomID]*roomState),
	}
	defer n.close()
	n.changed(room)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := slices.Clone(sent)
		mu.Unlock()
		if slices.Equal(got, []int{1, 2}) {
			break
		}
		if time.Now().After(deadline) || len(got) > 2 {
			t.Fatalf("sent %v, want [1 2]", got)
		}
		time.Sleep(time.Millisecond)
	}
}
