package client

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff computes reconnection delays: exponential growth from Min by
// Factor per attempt, capped at Max, with a random jitter of up to
// Jitter×delay either way. The zero value uses the defaults of the official
// client (1s, 5s, factor 2, jitter 0.5). A Backoff is safe for concurrent use.
type Backoff struct {
	// Min is the first delay; 0 means 1s.
	Min time.Duration
	// Max caps every delay; 0 means 5s. A Max below Min is raised to Min.
	Max time.Duration
	// Factor is the growth per attempt; values below 1 mean 2.
	Factor float64
	// Jitter is the randomization factor in [0, 1]; 0 means 0.5,
	// NoRandomization (any negative value) means none, and values above 1
	// mean 1.
	Jitter float64
	// Rand returns a float in [0, 1); nil means math/rand/v2.Float64.
	// Tests set it to get deterministic delays.
	Rand func() float64

	mu       sync.Mutex
	attempts int
}

// Duration returns the delay before the next attempt and counts the attempt.
// The nth call (counting from 0) gives min(Min×Factor^n, Max), moved by a
// random amount of at most Jitter×that delay, and never above Max.
func (b *Backoff) Duration() time.Duration {
	b.mu.Lock()
	n := b.attempts
	b.attempts++
	b.mu.Unlock()
	return b.delay(n)
}

// Attempts returns the number of delays handed out since the last Reset.
func (b *Backoff) Attempts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attempts
}

// Reset starts the sequence again from Min.
func (b *Backoff) Reset() {
	b.mu.Lock()
	b.attempts = 0
	b.mu.Unlock()
}

func (b *Backoff) delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	if hi < lo {
		hi = lo
	}
	factor := b.Factor
	if factor < 1 {
		factor = 2
	}
	jitter := b.Jitter
	switch {
	case jitter < 0:
		jitter = 0
	case jitter == 0:
		jitter = 0.5
	case jitter > 1:
		jitter = 1
	}
	d := float64(lo) * math.Pow(factor, float64(n))
	if d > float64(hi) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(hi)
	}
	if jitter > 0 {
		rnd := b.Rand
		if rnd == nil {
			rnd = rand.Float64
		}
		r1, r2 := rnd(), rnd()
		dev := r1 * jitter * d
		// Like the official client: the second draw picks the direction.
		if r2 < 0.5 {
			d -= dev
		} else {
			d += dev
		}
	}
	if d > float64(hi) {
		d = float64(hi)
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}
