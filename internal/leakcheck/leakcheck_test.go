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

// recorder is a testing.TB that records failures and cleanups instead of
// acting on them.
type recorder struct {
	testing.TB
	cleanups []func()
	errors   []string
	fatal    bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Cleanup(f func())      { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(string, ...any) { r.errors = append(r.errors, "error") }
func (r *recorder) Fatalf(string, ...any) { r.errors = append(r.errors, "fatal"); r.fatal = true }

func (r *recorder) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// Check and After pass when the goroutines a test started are gone, and
// fail it when one is left.
func TestCheckAndAfter(t *testing.T) {
	defer func(g time.Duration) { grace = g }(grace)
	grace = 100 * time.Millisecond

	ok := &recorder{TB: t}
	Check(ok)
	done := make(chan struct{})
	go func() { <-done }()
	close(done)
	ok.cleanup()
	if len(ok.errors) != 0 {
		t.Fatalf("Check failed a test whose goroutine ended: %v", ok.errors)
	}

	leaky := &recorder{TB: t}
	Check(leaky)
	stop := make(chan struct{})
	go func() { <-stop }()
	leaky.cleanup()
	if len(leaky.errors) != 1 || leaky.fatal {
		t.Fatalf("Check on a leaked goroutine: %v, want one error", leaky.errors)
	}

	before := runtime.NumGoroutine() - 1 // the goroutine still waiting on stop
	after := &recorder{TB: t}
	After(after, before)
	if !after.fatal {
		t.Fatal("After did not fail with a goroutine left")
	}
	close(stop)
	again := &recorder{TB: t}
	After(again, before)
	if len(again.errors) != 0 {
		t.Fatalf("After failed once the goroutine ended: %v", again.errors)
	}
}
