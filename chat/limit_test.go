package chat_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func TestRateLimiterBurstAndRefill(t *testing.T) {
	l := chat.NewRateLimiter(10, 20)
	t0 := time.Unix(1_000_000, 0)
	for i := range 20 {
		if !l.AllowAt(1, t0) {
			t.Fatalf("message %d of the burst refused", i+1)
		}
	}
	if l.AllowAt(1, t0) {
		t.Fatal("21st message at once allowed")
	}
	if !l.AllowAt(2, t0) {
		t.Fatal("another user is limited by the first one's bucket")
	}
	// 10/s: after 100ms exactly one more token.
	t1 := t0.Add(100 * time.Millisecond)
	if !l.AllowAt(1, t1) {
		t.Fatal("no token after 100ms")
	}
	if l.AllowAt(1, t1) {
		t.Fatal("two tokens after 100ms")
	}
	// Over one second at 10/s sustained: 10 allowed.
	allowed := 0
	for i := 1; i <= 100; i++ {
		if l.AllowAt(1, t1.Add(time.Duration(i)*10*time.Millisecond)) {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("allowed %d in one second at 10/s, want 10", allowed)
	}
}

func TestRateLimiterOff(t *testing.T) {
	for _, l := range []*chat.RateLimiter{chat.NewRateLimiter(0, 20), chat.NewRateLimiter(-1, 0), nil} {
		if !l.Off() {
			t.Errorf("limiter %v not off", l)
		}
		for i := range 1000 {
			if !l.Allow(7) {
				t.Fatalf("off limiter refused message %d", i)
			}
		}
		if l.Len() != 0 {
			t.Errorf("off limiter holds %d buckets", l.Len())
		}
	}
}

func TestRateLimiterDropsIdleBuckets(t *testing.T) {
	l := chat.NewRateLimiter(10, 20) // full again after 2s (+1s margin)
	t0 := time.Unix(2_000_000, 0)
	for id := range int64(100) {
		l.AllowAt(id, t0)
	}
	if l.Len() != 100 {
		t.Fatalf("Len = %d, want 100", l.Len())
	}
	l.AllowAt(1000, t0.Add(10*time.Second))
	if l.Len() != 1 {
		t.Errorf("Len after idle sweep = %d, want 1", l.Len())
	}
}

func TestRateLimiterConcurrent(t *testing.T) {
	l := chat.NewRateLimiter(0.001, 20) // practically no refill during the test
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if l.Allow(42) {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 20 {
		t.Errorf("allowed %d across goroutines, want the burst of 20", ok.Load())
	}
}
