// Package workers runs short tasks on goroutines that are kept for a while
// once their task is done.
package workers

import (
	"sync"
	"time"
)

// Pool runs short tasks (a connection's reader after a readiness event,
// its writer after a wake-up, a socket's handlers) on goroutines that are kept for a
// while once their task is done. A fresh goroutine starts with a small
// stack and grows it, by copying, in the first write or JSON encoding it
// does; under a stream of short tasks that copying was a large part of the
// CPU time. A parked worker keeps its grown stack, so the next task runs
// without growing one. Workers idle for longer than IdleTime exit, so
// an idle server keeps none.
type Pool struct {
	mu   sync.Mutex
	idle []*worker // parked workers, most recently parked last
}

// worker is one parked goroutine, waiting for its next task.
type worker struct {
	task  chan func()
	timer *time.Timer
}

const (
	// IdleTime is how long a worker waits for a task before exiting.
	IdleTime = 500 * time.Millisecond
	// maxIdleWorkers bounds the parked workers.
	maxIdleWorkers = 256
)

// shared is the pool of Go.
var shared Pool

// Go runs f on a parked worker of the process-wide pool, or on a new
// goroutine when none is parked. It never blocks.
func Go(f func()) { shared.Go(f) }

// Go runs f on a parked worker, or on a new goroutine when none is
// parked. It never blocks.
func (p *Pool) Go(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.task <- f // buffered: the worker takes it when it wakes
		return
	}
	p.mu.Unlock()
	go p.loop(f)
}

// loop runs tasks until the worker has been idle for workerIdle.
func (p *Pool) loop(f func()) {
	var w *worker
	for {
		f()
		f = nil
		if w == nil {
			w = &worker{task: make(chan func(), 1)}
		}
		p.mu.Lock()
		if len(p.idle) >= maxIdleWorkers {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		if w.timer == nil {
			w.timer = time.NewTimer(IdleTime)
		} else {
			w.timer.Reset(IdleTime)
		}
		select {
		case f = <-w.task:
			w.timer.Stop()
		case <-w.timer.C:
			if !p.leave(w) {
				// Taken by Go meanwhile: its task is on the way.
				f = <-w.task
				continue
			}
			return
		}
	}
}

// leave removes w from the parked workers; false when Go has taken it.
func (p *Pool) leave(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == w {
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[len(p.idle)-1] = nil
			p.idle = p.idle[:len(p.idle)-1]
			return true
		}
	}
	return false
}
