package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tasks run, concurrently when they overlap, parked workers are reused,
// and every worker exits once idle for workerIdle.
func TestWorkerPool(t *testing.T) {
	before := runtime.NumGoroutine()
	var p workerPool
	var ran atomic.Int32
	var wg sync.WaitGroup
	// Overlapping tasks: all must run at once, so each gets a goroutine.
	release := make(chan struct{})
	var started sync.WaitGroup
	for range 10 {
		wg.Add(1)
		started.Add(1)
		p.run(func() {
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
	eventually(t, "workers parked", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 10
	})
	g := runtime.NumGoroutine()
	for range 100 {
		wg.Add(1)
		p.run(func() { ran.Add(1); wg.Done() })
		wg.Wait()
	}
	if now := runtime.NumGoroutine(); now > g {
		t.Errorf("goroutines went from %d to %d running sequential tasks", g, now)
	}
	if ran.Load() != 110 {
		t.Errorf("%d tasks ran, want 110", ran.Load())
	}
	deadline := time.Now().Add(workerIdle + 5*time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after the idle time", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
