package redisadapter

import (
	"context"
	"slices"
	"sync"
)

// PubSub is the publish/subscribe service the adapter talks to: Redis
// through NewRedisPubSub, or the in-process MemoryBroker. Implementations
// must be safe for concurrent use.
type PubSub interface {
	// Publish sends payload to the subscribers of channel.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe starts delivering the messages published on the channels,
	// and on the channels matching the glob patterns (Redis PSUBSCRIBE
	// syntax), to handle. handle is called from one goroutine at a time,
	// in the order the messages were published, and never after Close of
	// the subscription returns. A subscription keeps trying to (re)establish
	// itself until it is closed.
	Subscribe(channels, patterns []string, handle func(channel string, payload []byte)) Subscription
	// NumSub returns the number of subscriptions to channel (not counting
	// pattern subscriptions), as Redis PUBSUB NUMSUB does.
	NumSub(ctx context.Context, channel string) (int, error)
}

// Subscription is an active subscription of a PubSub.
type Subscription interface {
	// Ready is closed once the service has confirmed the subscription the
	// first time.
	Ready() <-chan struct{}
	// Close ends the subscription and waits until its handler has
	// returned for the last time.
	Close() error
}

// MemoryBroker is an in-process PubSub: several adapters (several servers)
// in one process share it as they would share a Redis server. Messages are
// delivered asynchronously, in publication order for each subscription.
// The zero value is ready to use.
type MemoryBroker struct {
	mu   sync.Mutex
	subs map[*memorySub]struct{}
}

var _ PubSub = (*MemoryBroker)(nil)

// NewMemoryBroker returns an empty broker.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{} }

// Publish implements PubSub. The payload is copied.
func (b *MemoryBroker) Publish(_ context.Context, channel string, payload []byte) error {
	msg := memoryMsg{channel: channel, payload: slices.Clone(payload)}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.matches(channel) {
			s.enqueue(msg)
		}
	}
	return nil
}

// Subscribe implements PubSub. The subscription is ready at once.
func (b *MemoryBroker) Subscribe(channels, patterns []string, handle func(string, []byte)) Subscription {
	s := &memorySub{
		broker:   b,
		channels: slices.Clone(channels),
		patterns: slices.Clone(patterns),
		handle:   handle,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
	}
	close(s.ready)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[*memorySub]struct{})
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run()
	return s
}

// NumSub implements PubSub.
func (b *MemoryBroker) NumSub(_ context.Context, channel string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for s := range b.subs {
		if slices.Contains(s.channels, channel) {
			n++
		}
	}
	return n, nil
}

type memoryMsg struct {
	channel string
	payload []byte
}

type memorySub struct {
	broker             *MemoryBroker
	channels, patterns []string
	handle             func(string, []byte)

	mu    sync.Mutex
	queue []memoryMsg

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	ready     chan struct{}
	closeOnce sync.Once
}

func (s *memorySub) matches(channel string) bool {
	if slices.Contains(s.channels, channel) {
		return true
	}
	for _, p := range s.patterns {
		if globMatch(p, channel) {
			return true
		}
	}
	return false
}

func (s *memorySub) enqueue(m memoryMsg) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *memorySub) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.mu.Unlock()
				break
			}
			m := s.queue[0]
			s.queue[0] = memoryMsg{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			default:
			}
			s.handle(m.channel, m.payload)
		}
	}
}

func (s *memorySub) Ready() <-chan struct{} { return s.ready }

func (s *memorySub) Close() error {
	s.closeOnce.Do(func() {
		s.broker.mu.Lock()
		delete(s.broker.subs, s)
		s.broker.mu.Unlock()
		close(s.stop)
	})
	<-s.done
	return nil
}

// globMatch reports whether s matches the Redis glob pattern p: '*' any
// run of bytes, '?' one byte, '[...]' a set (with '^' negation and 'a-z'
// ranges), '\' escaping the next byte.
func globMatch(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			p, s = p[1:], s[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			rest, ok := matchSet(p[1:], s[0])
			if !ok {
				return false
			}
			p, s = rest, s[1:]
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return len(s) == 0
}

// matchSet matches c against the set that p starts (after '['), and
// returns the pattern after the closing ']'.
func matchSet(p string, c byte) (string, bool) {
	negate := len(p) > 0 && p[0] == '^'
	if negate {
		p = p[1:]
	}
	found := false
	for len(p) > 0 && p[0] != ']' {
		switch {
		case p[0] == '\\' && len(p) > 1:
			if p[1] == c {
				found = true
			}
			p = p[2:]
		case len(p) > 2 && p[1] == '-' && p[2] != ']':
			lo, hi := p[0], p[2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				found = true
			}
			p = p[3:]
		default:
			if p[0] == c {
				found = true
			}
			p = p[1:]
		}
	}
	if len(p) > 0 {
		p = p[1:] // the ']'
	}
	return p, found != negate
}
