package redistest

import (
	"testing"
)

// stopRecorder records how a helper ended the test instead of ending it.
type stopRecorder struct {
	testing.TB
	skipped, failed bool
}

func (r *stopRecorder) Helper() {}
func (r *stopRecorder) Skipf(string, ...any) {
	r.skipped = true
	panic(r)
}
func (r *stopRecorder) Fatalf(string, ...any) {
	r.failed = true
	panic(r)
}

func callClient(r *stopRecorder) {
	defer func() {
		if v := recover(); v != r {
			panic(v)
		}
	}()
	Client(r)
}

// Without Redis, Client skips the test, or fails it under CI.
func TestClientUnreachable(t *testing.T) {
	t.Setenv("REDIS_ADDR", "127.0.0.1:1") // nothing listens on port 1
	t.Setenv("CI", "")
	r := &stopRecorder{TB: t}
	callClient(r)
	if !r.skipped || r.failed {
		t.Errorf("without CI: skipped %v, failed %v; want a skip", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	r = &stopRecorder{TB: t}
	callClient(r)
	if !r.failed || r.skipped {
		t.Errorf("under CI: skipped %v, failed %v; want a failure", r.skipped, r.failed)
	}
}
