// Package groupsend sends the requests of concurrent callers together, as
// a group commit does: a lone request goes at once, and those that arrive
// while a batch is on its way go together in the next one, in the order
// they arrived.
//
// Before taking each batch the sender yields its processor once
// (runtime.Gosched), so that callers already runnable there, about to
// queue a request, do so first and share the batch instead of waiting
// for the next one. With nothing else runnable the yield returns at once:
// a lone request is not delayed.
package groupsend

import (
	"runtime"
	"sync"
)

// Queue holds the requests waiting for a batch. The caller that finds no
// batch on its way sends the batches itself, on its own goroutine, until
// its own request has been sent; requests queued meanwhile then go on in
// a goroutine of their own, so that under a steady flow no caller keeps
// sending the others' (and a lone request starts no goroutine). The zero
// value is ready to use.
type Queue[T comparable] struct {
	// Max bounds the requests of one batch (0: no bound).
	Max int
	// Send sends one batch and answers each of its requests; it must
	// not call the Queue.
	Send func(batch []T)

	mu      sync.Mutex
	pending []T
	sending bool // a caller or a goroutine is sending batches
}

// Add queues req and returns once it is sent, or at once if another
// caller is sending: the caller then waits for req's answer as Send gives
// it.
func (q *Queue[T]) Add(req T) {
	q.mu.Lock()
	q.pending = append(q.pending, req)
	lead := !q.sending
	q.sending = true
	q.mu.Unlock()
	if lead {
		q.run(req, true)
	}
}

// run sends batches until own has been in one (mine), or until none is
// left.
func (q *Queue[T]) run(own T, mine bool) {
	for {
		runtime.Gosched() // let runnable callers join this batch
		q.mu.Lock()
		batch := q.pending
		if q.Max > 0 && len(batch) > q.Max {
			batch, q.pending = batch[:q.Max:q.Max], batch[q.Max:]
		} else {
			q.pending = nil
		}
		if len(batch) == 0 {
			q.sending = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		q.Send(batch)
		if !mine || !contains(batch, own) {
			continue
		}
		q.mu.Lock()
		more := len(q.pending) > 0
		if !more {
			q.sending = false
		}
		q.mu.Unlock()
		if more {
			var zero T
			go q.run(zero, false)
		}
		return
	}
}

func contains[T comparable](batch []T, v T) bool {
	for _, x := range batch {
		if x == v {
			return true
		}
	}
	return false
}

// Pending returns the number of requests waiting for a batch.
func (q *Queue[T]) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Idle reports that no request waits and no batch is being sent.
func (q *Queue[T]) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.sending && len(q.pending) == 0
}
