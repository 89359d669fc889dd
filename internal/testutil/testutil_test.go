package testutil

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestEventuallyHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(1)
	}()
	Eventually(t, 5*time.Second, "the flag", func() bool { return n.Load() == 1 })
}

// fatalRecorder records Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = format
	panic(r)
}

func TestEventuallyTimesOut(t *testing.T) {
	r := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != r {
				panic(v)
			}
		}()
		Eventually(r, 20*time.Millisecond, "nothing", func() bool { return false })
	}()
	if r.msg != "timed out waiting for %s" {
		t.Errorf("Fatalf(%q)", r.msg)
	}
}

func TestWithin(t *testing.T) {
	calls := 0
	if !Within(5*time.Second, func() bool { calls++; return calls == 3 }) || calls != 3 {
		t.Errorf("Within a condition true on its third call: %d calls", calls)
	}
	start := time.Now()
	if Within(20*time.Millisecond, func() bool { return false }) {
		t.Error("Within a condition never true reported true")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Within gave up after %v", d)
	}
}

// Buffer takes writes from several goroutines while it is read.
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				if n, err := b.Write([]byte("ab")); n != 2 || err != nil {
					t.Errorf("Write: %d, %v", n, err)
				}
				_ = b.String()
			}
		}()
	}
	for range 4 {
		<-done
	}
	if got := len(b.String()); got != 800 {
		t.Errorf("%d bytes, want 800", got)
	}
}
