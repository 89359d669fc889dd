package socketio

import (
	"sync"

	"github.com/chatd/chatd/socketio/internal/workers"
)

// mailbox runs the jobs posted to it one at a time, in order, on a pooled
// goroutine (internal/workers) taken only while there are jobs. Each
// socket has one, so a socket's handlers run in order and never on the
// connection's read path. An idle mailbox holds no job array and no
// channel.
type mailbox struct {
	mu      sync.Mutex
	running bool
	max     int32
	// next is the oldest job when it was posted to an empty queue (the
	// usual case, which then needs no array); jobs follow it.
	next    func()
	jobs    []func()
	space   chan struct{} // made when a poster first waits; signalled when a job is taken off a full queue
	workers *workGroup
}

// queued returns the number of jobs waiting. m.mu must be held.
func (m *mailbox) queued() int {
	if m.next != nil {
		return 1 + len(m.jobs)
	}
	return len(m.jobs)
}

// post queues job. With wait, a full queue makes post block until a job
// has been taken (back-pressure on the connection's reader); without, the
// job is queued regardless (used for lifecycle jobs that must not be lost).
func (m *mailbox) post(job func(), wait bool) {
	m.mu.Lock()
	for wait && m.queued() >= int(m.max) {
		if m.space == nil {
			m.space = make(chan struct{}, 1)
		}
		space := m.space
		m.mu.Unlock()
		<-space
		m.mu.Lock()
	}
	if m.next == nil && len(m.jobs) == 0 {
		m.next = job
	} else {
		m.jobs = append(m.jobs, job)
	}
	if !m.running {
		m.running = true
		m.workers.Add(1)
		workers.Go(m.run)
	}
	m.mu.Unlock()
}

func (m *mailbox) run() {
	defer m.workers.Done()
	for {
		m.mu.Lock()
		var job func()
		switch {
		case m.next != nil:
			job, m.next = m.next, nil
		case len(m.jobs) > 0:
			job = m.jobs[0]
			m.jobs[0] = nil
			m.jobs = m.jobs[1:]
		default:
			m.running = false
			m.jobs = nil
			m.mu.Unlock()
			return
		}
		if m.queued() == int(m.max)-1 && m.space != nil {
			select {
			case m.space <- struct{}{}:
			default:
			}
		}
		m.mu.Unlock()
		job()
	}
}

// workGroup counts running socket goroutines. Unlike sync.WaitGroup it may
// gain members while someone waits (new connections during Close).
type workGroup struct {
	mu      sync.Mutex
	n       int
	waiters []chan struct{}
}

func (g *workGroup) Add(delta int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n += delta
	if g.n == 0 {
		for _, w := range g.waiters {
			close(w)
		}
		g.waiters = nil
	}
}

func (g *workGroup) Done() { g.Add(-1) }

// zero returns a channel closed when no goroutine runs.
func (g *workGroup) zero() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := make(chan struct{})
	if g.n == 0 {
		close(ch)
	} else {
		g.waiters = append(g.waiters, ch)
	}
	return ch
}
