package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/benchevents"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// roomOfPollingSockets connects n polling sessions to srv in-process (no
// network), joins them all to "room", and returns a function that empties
// their outbound queues.
func roomOfPollingSockets(tb testing.TB, n int) (*socketio.Server, func()) {
	tb.Helper()
	srv := pollingServer(tb)
	drain := connectPolling(tb, srv, n, nil)
	if err := srv.Sockets().Local().SocketsJoin(context.Background(), "room"); err != nil {
		tb.Fatal(err)
	}
	return srv, drain
}

// pollingServer returns a server without heartbeats to speak of, closed
// at the end of the test.
func pollingServer(tb testing.TB) *socketio.Server {
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Hour,
		MaxQueuedBytes: 64 << 20,
	}})
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return srv
}

// connectPolling connects n polling sessions to the main namespace of srv
// in-process, their handshakes carrying header, and sends each the packets
// of after once it is connected. It waits until every socket is
// connected and returns a function that empties the sessions' outbound
// queues (called once already).
func connectPolling(tb testing.TB, srv *socketio.Server, n int, header http.Header, after ...string) func() {
	tb.Helper()
	start := srv.Sockets().SocketCount()
	sids := make([]string, n)
	post := func(sid, body string) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", "/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(body)))
		if rec.Code != 200 {
			tb.Fatalf("POST %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	for i := range sids {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil)
		for k, v := range header {
			req.Header[k] = slices.Clone(v)
		}
		srv.ServeHTTP(rec, req)
		body := rec.Body.String()
		at := strings.Index(body, `"sid":"`) + len(`"sid":"`)
		sids[i] = body[at : at+strings.IndexByte(body[at:], '"')]
		post(sids[i], "40")
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.Sockets().SocketCount() < start+n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d sockets connected", srv.Sockets().SocketCount()-start, n)
		}
		time.Sleep(time.Millisecond)
	}
	drain := func() {
		for _, sid := range sids {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling&sid="+sid, nil))
			if rec.Code != 200 {
				tb.Fatalf("drain GET: %d %s", rec.Code, rec.Body)
			}
		}
	}
	drain() // the CONNECT replies
	if len(after) > 0 {
		for _, sid := range sids {
			for _, p := range after {
				post(sid, p)
			}
		}
	}
	return drain
}

// BenchmarkIdleSocketMemory reports the heap kept per idle connection
// (heap-B/socket): polling sessions connected in-process, each with a
// socket on the main namespace that registered two event handlers and
// joined one room through one of them, as in cmd/benchserver, measured
// after a garbage collection. It does not count goroutine stacks.
func BenchmarkIdleSocketMemory(b *testing.B) {
	const n = 2000
	// Headers as a browser sends them, besides Host.
	header := http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		"Accept":          {"*/*"},
		"Accept-Language": {"en-US,en;q=0.5"},
		"Accept-Encoding": {"gzip, deflate"},
		"Origin":          {"http://example.test"},
	}
	var perSocket float64
	for range b.N {
		srv := pollingServer(b)
		srv.OnConnection(benchevents.Register)
		connectPolling(b, srv, 1, header, `421["join","bench"]`)() // warm-up
		before := liveHeap()
		drain := connectPolling(b, srv, n, header, `421["join","bench"]`)
		for srv.Sockets().Adapter().RoomSize("bench") < n+1 {
			time.Sleep(time.Millisecond)
		}
		drain() // the join acknowledgements
		perSocket = float64(liveHeap()-before) / n
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = srv.Close(ctx)
		cancel()
	}
	b.ReportMetric(perSocket, "heap-B/socket")
}

// liveHeap returns the bytes of heap objects left after a garbage
// collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkBroadcastRoom broadcasts one event to a room; allocations per
// operation must not grow with the number of recipients.
func BenchmarkBroadcastRoom(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			srv, drain := roomOfPollingSockets(b, n)
			op := srv.To("room")
			// Warm the queues up to their working size.
			for range 16 {
				_ = op.Emit("msg", "hello", 42)
			}
			drain()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := op.Emit("msg", "hello", 42); err != nil {
					b.Fatal(err)
				}
				if i%16 == 15 {
					b.StopTimer()
					drain()
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// TestBroadcastAllocationsIndependentOfRecipients checks the encode-once
// design: a room broadcast allocates the same for 50 and 2000 recipients.
func TestBroadcastAllocationsIndependentOfRecipients(t *testing.T) {
	if testing.Short() {
		t.Skip("connects thousands of sessions")
	}
	measure := func(n int) float64 {
		srv, drain := roomOfPollingSockets(t, n)
		op := srv.To("room")
		for range 8 {
			_ = op.Emit("msg", "warm-up")
		}
		drain()
		allocs := testing.AllocsPerRun(8, func() { _ = op.Emit("msg", "hello", 42) })
		drain()
		return allocs
	}
	small, large := measure(50), measure(2000)
	if large > small+2 {
		t.Fatalf("allocations per broadcast: %.0f for 50 recipients, %.0f for 2000", small, large)
	}
	t.Logf("allocations per broadcast: %.0f (50 recipients), %.0f (2000 recipients)", small, large)
}
