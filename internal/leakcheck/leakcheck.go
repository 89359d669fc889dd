// Package leakcheck finds goroutines a test leaves behind: it compares the
// goroutine count after the test with the count before, giving goroutines
// that end asynchronously (connection readers, pooled workers) time to go.
package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// Grace is how long the count may take to come back down.
const Grace = 10 * time.Second

// grace is the Grace in use (shorter in this package's own tests).
var grace = Grace

// Check records the goroutine count now and, when the test and its other
// cleanups are done, fails it (with every goroutine's stack) if the count
// has not come back down within Grace. Call it first in a test, so that
// its cleanup runs last.
func Check(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		if n, stacks, ok := settle(before, grace); !ok {
			t.Errorf("goroutines: %d before, %d after\n%s", before, n, stacks)
		}
	})
}

// After fails t now if the goroutine count does not come back down to
// before within Grace.
func After(t testing.TB, before int) {
	t.Helper()
	if n, stacks, ok := settle(before, grace); !ok {
		t.Fatalf("goroutines: %d before, %d after\n%s", before, n, stacks)
	}
}

// settle waits until at most before goroutines run; otherwise it returns
// the count and every goroutine's stack once grace has passed.
func settle(before int, wait time.Duration) (int, string, bool) {
	deadline := time.Now().Add(wait)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return n, "", true
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			return n, string(buf[:runtime.Stack(buf, true)]), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
