package socketio_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// roomOfPollingSockets connects n polling sessions to srv in-process (no
// network), joins them all to "room", and returns a function that empties
// their outbound queues.
func roomOfPollingSockets(tb testing.TB, n int) (*socketio.Server, func()) {
	tb.Helper()
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
	sids := make([]string, n)
	for i := range sids {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil))
		body := rec.Body.String()
		start := strings.Index(body, `"sid":"`) + len(`"sid":"`)
		sids[i] = body[start : start+strings.IndexByte(body[start:], '"')]
		rec = httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", "/socket.io/?EIO=4&transport=polling&sid="+sids[i], strings.NewReader("40")))
		if rec.Code != 200 {
			tb.Fatalf("POST 40: %d %s", rec.Code, rec.Body)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.Sockets().SocketCount() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d sockets connected", srv.Sockets().SocketCount(), n)
		}
		time.Sleep(time.Millisecond)
	}
	if err := srv.Sockets().Local().SocketsJoin(context.Background(), "room"); err != nil {
		tb.Fatal(err)
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
	return srv, drain
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
