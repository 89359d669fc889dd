package groupsend

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
)

type req struct {
	n    int
	done chan struct{}
}

func newReq(n int) *req { return &req{n: n, done: make(chan struct{})} }

// recorder is a Send that records its batches and answers their requests.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
}

func (r *recorder) send(batch []*req) {
	ns := make([]int, len(batch))
	for i, q := range batch {
		ns[i] = q.n
	}
	r.mu.Lock()
	r.batches = append(r.batches, ns)
	r.mu.Unlock()
	for _, q := range batch {
		close(q.done)
	}
}

func TestLoneRequestGoesAtOnceOnTheCaller(t *testing.T) {
	leakcheck.Check(t)
	rec := &recorder{}
	q := &Queue[*req]{Send: rec.send}
	before := runtime.NumGoroutine()
	for i := range 3 {
		r := newReq(i)
		q.Add(r)
		select {
		case <-r.done:
		default:
			t.Fatalf("request %d not answered when Add returned", i)
		}
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("%d goroutines after three lone requests, %d before", got, before)
	}
	if fmt.Sprint(rec.batches) != "[[0] [1] [2]]" {
		t.Errorf("batches %v, want [[0] [1] [2]]", rec.batches)
	}
	if !q.Idle() {
		t.Error("queue not idle")
	}
}

// While a batch is on its way the requests queue up; they go together,
// in their order, at most Max a batch, and the caller that sent the
// first batch returns once its own is answered.
func TestRequestsQueuedMeanwhileGoTogether(t *testing.T) {
	leakcheck.Check(t)
	rec := &recorder{}
	release := make(chan struct{})
	first := make(chan struct{})
	var once sync.Once
	q := &Queue[*req]{Max: 3, Send: func(batch []*req) {
		once.Do(func() {
			close(first)
			<-release // the first batch is on its way until released
		})
		rec.send(batch)
	}}
	lead := newReq(0)
	leadDone := make(chan struct{})
	go func() { q.Add(lead); close(leadDone) }()
	<-first
	const n = 8
	reqs := make([]*req, n)
	for i := 1; i < n; i++ {
		reqs[i] = newReq(i)
		q.Add(reqs[i]) // returns at once: a batch is on its way
		if got := q.Pending(); got != i {
			t.Fatalf("%d pending after %d queued", got, i)
		}
	}
	close(release)
	select {
	case <-leadDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the first caller still sending")
	}
	for i := 1; i < n; i++ {
		select {
		case <-reqs[i].done:
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d never sent", i)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !q.Idle() {
		if time.Now().After(deadline) {
			t.Fatal("queue never idle")
		}
		time.Sleep(time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := fmt.Sprint(rec.batches); got != "[[0] [1 2 3] [4 5 6] [7]]" {
		t.Errorf("batches %s, want [[0] [1 2 3] [4 5 6] [7]]", got)
	}
}

// Many callers at once: every request is sent exactly once.
func TestConcurrentRequestsSentOnce(t *testing.T) {
	leakcheck.Check(t)
	rec := &recorder{}
	q := &Queue[*req]{Max: 16, Send: rec.send}
	const n = 2000
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newReq(i)
			q.Add(r)
			<-r.done
		}()
	}
	wg.Wait()
	seen := make([]int, n)
	rec.mu.Lock()
	for _, b := range rec.batches {
		if len(b) > 16 {
			t.Errorf("a batch of %d, Max 16", len(b))
		}
		for _, v := range b {
			seen[v]++
		}
	}
	rec.mu.Unlock()
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("request %d sent %d times", i, c)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !q.Idle() {
		if time.Now().After(deadline) {
			t.Fatal("queue never idle")
		}
		time.Sleep(time.Millisecond)
	}
}

// On one processor, a caller made runnable just before another sends
// runs during the sender's yield and shares its batch: without the yield
// the sender would take its batch before the other caller ever ran.
func TestRunnableCallersJoinTheBatch(t *testing.T) {
	leakcheck.Check(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const tries = 20
	together := 0
	for i := range tries {
		rec := &recorder{}
		q := &Queue[*req]{Send: rec.send}
		other := newReq(2*i + 1)
		joined := make(chan struct{})
		go func() { q.Add(other); <-other.done; close(joined) }() // runnable, not yet run
		q.Add(newReq(2 * i))
		<-joined
		rec.mu.Lock()
		if len(rec.batches) == 1 {
			together++
		}
		rec.mu.Unlock()
	}
	// The scheduler now and then takes the yielding goroutine back first
	// (it looks at the global run queue every 61st time), so a few tries
	// may go apart; without the yield every one does.
	if together < tries/2 {
		t.Errorf("%d of %d pairs of callers shared a batch, want most", together, tries)
	}
}
