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
