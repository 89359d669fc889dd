package chat

import (
	"strings"
	"sync"
	"time"
)

// ThrottleOptions configure the log-in throttle. Zero fields take the
// defaults named in their comments.
type ThrottleOptions struct {
	// MaxFailures is the number of consecutive failed log-ins of one
	// username after which it is locked. Defaults to 5.
	MaxFailures int
	// BaseLock is how long the first lock lasts; each further failure
	// after a lock doubles it. Defaults to 30s.
	BaseLock time.Duration
	// MaxLock caps the lock time. Defaults to 15 minutes.
	MaxLock time.Duration
	// Forget is how long after its last failure a username's count is
	// dropped (when it is not locked). Defaults to 1 hour.
	Forget time.Duration
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.BaseLock <= 0 {
		o.BaseLock = 30 * time.Second
	}
	if o.MaxLock <= 0 {
		o.MaxLock = 15 * time.Minute
	}
	if o.MaxLock < o.BaseLock {
		o.MaxLock = o.BaseLock
	}
	if o.Forget <= 0 {
		o.Forget = time.Hour
	}
	return o
}

// LoginThrottle counts failed log-ins per username (without regard to case,
// whether or not the account exists) and locks a username after
// MaxFailures consecutive failures: for BaseLock, then twice as long after
// each further failure, up to MaxLock. A successful log-in clears the
// count. While a username is locked, log-ins are refused without checking
// the password.
//
// The state is kept in memory, per process: a restart forgets it, and each
// node of a cluster throttles on its own (so an attacker spread over N nodes
// gets N times the attempts). It is safe for concurrent use; entries are
// dropped once they are unlocked and older than Forget.
type LoginThrottle struct {
	opts ThrottleOptions

	mu        sync.Mutex
	entries   map[string]*throttleEntry
	lastSweep time.Time
}

type throttleEntry struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

// NewLoginThrottle returns a throttle with the given options.
func NewLoginThrottle(opts ThrottleOptions) *LoginThrottle {
	return &LoginThrottle{opts: opts.withDefaults(), entries: make(map[string]*throttleEntry)}
}

// Check reports how long name is still locked at now (0 if it is not).
func (t *LoginThrottle) Check(name string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[strings.ToLower(name)]
	if e == nil || !now.Before(e.lockedUntil) {
		return 0
	}
	return e.lockedUntil.Sub(now)
}

// Fail records a failed log-in of name at now and returns how long name is
// locked from now on (0 if it is not).
func (t *LoginThrottle) Fail(name string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	key := strings.ToLower(name)
	e := t.entries[key]
	if e == nil {
		e = &throttleEntry{}
		t.entries[key] = e
	}
	e.failures++
	e.lastFailure = now
	if e.failures < t.opts.MaxFailures {
		return 0
	}
	lock := t.opts.BaseLock
	for i := t.opts.MaxFailures; i < e.failures && lock < t.opts.MaxLock; i++ {
		lock *= 2
	}
	lock = min(lock, t.opts.MaxLock)
	e.lockedUntil = now.Add(lock)
	return lock
}

// Succeed clears the failures of name.
func (t *LoginThrottle) Succeed(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, strings.ToLower(name))
}

// sweep drops forgotten entries, at most once a minute. t.mu must be held.
func (t *LoginThrottle) sweep(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute {
		return
	}
	t.lastSweep = now
	for k, e := range t.entries {
		if !now.Before(e.lockedUntil) && now.Sub(e.lastFailure) > t.opts.Forget {
			delete(t.entries, k)
		}
	}
}

// Len returns the number of usernames with recorded failures.
func (t *LoginThrottle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
