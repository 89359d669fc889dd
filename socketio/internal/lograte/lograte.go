// Package lograte logs a recurring error at most once per period, so that
// an outage of a shared service (Redis, PostgreSQL) does not flood the
// log; the cluster adapters share it.
package lograte

import (
	"log/slog"
	"sync"
	"time"
)

// Period is the shortest time between two lines of one Limiter.
const Period = 10 * time.Second

// Limiter logs at most once per Period, counting the lines it suppressed.
// The zero value is ready to use; it is safe for concurrent use.
type Limiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Warn logs msg with err at warning level on l, unless a line was logged
// less than Period ago; the line says how many were suppressed since the
// last one.
func (r *Limiter) Warn(l *slog.Logger, msg string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < Period {
		r.suppressed++
		return
	}
	l.Warn(msg, "err", err, "suppressed", r.suppressed)
	r.last, r.suppressed = now, 0
}
