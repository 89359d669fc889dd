package client

import "sync"

// serialQueue runs functions one at a time, in the order they were added,
// on a goroutine that exists only while there is work.
type serialQueue struct {
	mu      sync.Mutex
	tasks   []func()
	running bool
}

// push adds fn; it never blocks.
func (q *serialQueue) push(fn func()) {
	q.mu.Lock()
	q.tasks = append(q.tasks, fn)
	if q.running {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	go q.run()
}

func (q *serialQueue) run() {
	for {
		q.mu.Lock()
		if len(q.tasks) == 0 {
			q.running = false
			q.tasks = nil
			q.mu.Unlock()
			return
		}
		fn := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.mu.Unlock()
		fn()
	}
}
