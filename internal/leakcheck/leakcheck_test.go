package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// settle sees goroutines that end, and reports one that does not.
func TestSettle(t *testing.T) {
	before := runtime.NumGoroutine()
	done := make(chan struct{})
	go func() { <-done }()
	close(done)
	if _, _, ok := settle(before, Grace); !ok {
		t.Fatal("an ended goroutine counted as leaked")
	}
	if n, stacks, ok := settle(before-1, 50*time.Millisecond); ok || n != before || stacks == "" {
		t.Fatalf("a count above the baseline: n %d, ok %v, %d bytes of stacks", n, ok, len(stacks))
	}
}
