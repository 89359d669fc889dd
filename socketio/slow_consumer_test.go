package socketio_test

import (
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// A WebSocket member of a room that never reads while the room is flooded
// is disconnected with "slow consumer"; the server's memory stays bounded
// by MaxQueuedBytes, and another member of the room keeps getting every
// message without delay.
func TestSlowConsumerInFloodedRoom(t *testing.T) {
	const maxQueued = 256 << 10
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{MaxQueuedBytes: maxQueued}})
	reasons := make(chan socketio.Reason, 2)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("flood")
		s.OnDisconnect(func(r socketio.Reason) { reasons <- r })
	})
	base := startServer(t, srv)
	slow := dialWire(t, base) // never read after its CONNECT answer
	slow.Send("40")
	slow.ExpectMatch(`40\{"sid":"[^"]+"\}`)
	fast := dialWire(t, base)
	fast.Send("40")
	fast.ExpectMatch(`40\{"sid":"[^"]+"\}`)

	// The fast member reads everything, noting each message's delay.
	const n = 20000
	payload := strings.Repeat("x", 1024)
	type result struct {
		got      int
		maxDelay time.Duration
		err      error
	}
	done := make(chan result, 1)
	var received atomic.Int64
	go func() {
		var r result
		for r.got < n {
			text, _, err := fast.Next()
			if err != nil {
				r.err = err
				break
			}
			if !strings.HasPrefix(text, `42["m",`) {
				continue // pings
			}
			rest := text[len(`42["m",`):]
			sent, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
			if d := time.Since(time.Unix(0, sent)); d > r.maxDelay {
				r.maxDelay = d
			}
			r.got++
			received.Store(int64(r.got))
		}
		done <- r
	}()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	for i := range n {
		// Keep at most 100 messages ahead of the fast member, so that only
		// the member that does not read falls behind.
		for int64(i)-received.Load() > 100 {
			time.Sleep(100 * time.Microsecond)
		}
		_ = srv.To("flood").Emit("m", time.Now().UnixNano(), payload)
		if i%1000 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	select {
	case r := <-reasons:
		if r != socketio.ReasonSlowConsumer {
			t.Errorf("reason %q, want %q", r, socketio.ReasonSlowConsumer)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow member was not disconnected")
	}
	r := <-done
	if r.err != nil || r.got != n {
		t.Fatalf("fast member got %d of %d messages (%v)", r.got, n, r.err)
	}
	// A broadcast that waited for the slow member would stall for its
	// write timeout (10 s); a second is far above any scheduling delay.
	if r.maxDelay > time.Second {
		t.Errorf("fast member: largest delay %v", r.maxDelay)
	}
	// 20 MB were broadcast; the slow member may hold MaxQueuedBytes, the
	// fast one as much while it catches up, plus encoding garbage.
	if grew := int64(peak) - int64(before.HeapAlloc); grew > 32<<20 {
		t.Errorf("heap grew by %d bytes while flooding", grew)
	}
}
