package chat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Default message rate limit per user (docs/protocol.md).
const (
	DefaultMessageRate  = 10 // messages per second
	DefaultMessageBurst = 20
)

// RateLimiter is a token bucket per user: each user may take perSecond
// tokens per second on average, and up to burst at once. One RateLimiter
// is shared by every socket of a process, so a user's sockets share one
// bucket (on one node; each node keeps its own buckets).
//
// The caller validates a message first and calls Allow only for valid
// ones, so that invalid messages do not count.
//
// A RateLimiter is safe for concurrent use. Buckets of users that have been
// idle long enough to be full again are dropped, so memory stays bounded by
// the number of recently active users.
type RateLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[int64]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// NewRateLimiter returns a limiter allowing perSecond events per second per
// user with the given burst (a burst below 1 is taken as 1). perSecond <= 0
// turns the limit off: Allow then always returns true. A nil *RateLimiter
// is also off.
func NewRateLimiter(perSecond float64, burst int) *RateLimiter {
	if burst < 1 {
		burst = 1
	}
	return &RateLimiter{
		limit:   rate.Limit(perSecond),
		burst:   burst,
		now:     time.Now,
		buckets: make(map[int64]*bucket),
	}
}

// Off reports whether the limiter lets everything through.
func (l *RateLimiter) Off() bool { return l == nil || l.limit <= 0 }

// Allow takes one token from userID's bucket and reports whether there was
// one. When it returns false nothing was taken.
func (l *RateLimiter) Allow(userID int64) bool {
	return l.AllowAt(userID, time.Time{})
}

// AllowAt is Allow at the given time (the zero time means now); tests use
// it to step a clock.
func (l *RateLimiter) AllowAt(userID int64, now time.Time) bool {
	if l.Off() {
		return true
	}
	if now.IsZero() {
		now = l.now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[userID]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[userID] = b
	}
	if now.After(b.last) {
		b.last = now
	}
	return b.lim.AllowN(now, 1)
}

// refill is how long an idle bucket takes to be full again (plus a margin).
func (l *RateLimiter) refill() time.Duration {
	return time.Duration(float64(l.burst)/float64(l.limit)*float64(time.Second)) + time.Second
}

// sweep drops buckets idle for longer than refill, at most once per refill
// period. l.mu must be held.
func (l *RateLimiter) sweep(now time.Time) {
	idle := l.refill()
	if now.Sub(l.lastSweep) < idle {
		return
	}
	l.lastSweep = now
	for id, b := range l.buckets {
		if now.Sub(b.last) > idle {
			delete(l.buckets, id)
		}
	}
}

// Len returns the number of buckets held (for tests and metrics).
func (l *RateLimiter) Len() int {
	if l.Off() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
