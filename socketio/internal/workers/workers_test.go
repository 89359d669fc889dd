package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tasks run, concurrently when they overlap, parked workers are reused,
// and every worker exits once idle for IdleTime.
func TestWorkerPool(t *testing.T) {
	before := runtime.NumGoroutine()
	var p Pool
	var ran atomic.Int32
	var wg sync.WaitGroup
	// Overlapping tasks: all must run at once, so each gets a goroutine.
	release := make(chan struct{})
	var started sync.WaitGroup
	for range 10 {
		wg.Add(1)
		started.Add(1)
		p.Go(func() {
			defer wg.Done()
			started.Done()
			<-release
			ran.Add(1)
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	// Sequential tasks reuse the parked workers: no new goroutine.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.idle)
		p.mu.Unlock()
		if n == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers parked, want 10", n)
		}
	}
	g := runtime.NumGoroutine()
	for range 100 {
		wg.Add(1)
		p.Go(func() { ran.Add(1); wg.Done() })
		wg.Wait()
	}
	if now := runtime.NumGoroutine(); now > g {
		t.Errorf("goroutines went from %d to %d running sequential tasks", g, now)
	}
	if ran.Load() != 110 {
		t.Errorf("%d tasks ran, want 110", ran.Load())
	}
	deadline := time.Now().Add(IdleTime + 5*time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after the idle time", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
