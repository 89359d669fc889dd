package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stormResult is the outcome of -mode storm.
type stormResult struct {
	n           int
	accounts    int
	connectTime time.Duration // of the first connections
	downTime    time.Duration // from SIGTERM until the new server listened
	back        int           // clients back (joined, history received)
	attempts    int64         // reconnection attempts, failed ones included
	times       []time.Duration
	total       time.Duration // from listening until the last client was back
}

// runStorm connects cfg.n chat clients (each joined, history received),
// restarts the server (SIGTERM, wait for its exit, start the command
// again) and measures the time from the new server's "listening on" line
// until each client is back: reconnected, joined and its history
// received. Clients start reconnecting once the old server has exited,
// each retrying after a jittered -retry-delay, with -concurrency attempts
// in flight at most.
func runStorm(ctx context.Context, cfg *config, t *target) (*stormResult, error) {
	if t.proc == nil {
		return nil, errors.New("-mode storm needs -server-cmd")
	}
	base, err := url.Parse(t.url)
	if err != nil {
		return nil, err
	}
	r := &stormResult{n: cfg.n, accounts: cfg.accounts}
	cookies, err := setupAccounts(ctx, t.url, cfg.accountPrefix, cfg.accounts, 4)
	if err != nil {
		return r, err
	}
	d := newChatDialer(cfg, base, cookies, nil)
	d.waitHistory = true
	defer d.close()
	conns, elapsed, err := connectAll(ctx, cfg, cfg.n, d.dial)
	r.connectTime = elapsed
	if err != nil {
		closeAll(conns)
		return r, err
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout)
	defer cancel()
	oldGone := make(chan struct{})
	backAt := make([]time.Time, len(conns))
	var attempts atomic.Int64
	sem := make(chan struct{}, cfg.concurrency)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			dc, _ := c.(interface{ Done() <-chan struct{} })
			if dc != nil {
				select {
				case <-dc.Done():
				case <-ctx.Done():
				}
			}
			_ = c.Close()
			conns[i] = nil
			select {
			case <-oldGone:
			case <-ctx.Done():
				return
			}
			for ctx.Err() == nil {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				attempts.Add(1)
				actx, acancel := context.WithTimeout(ctx, 10*time.Second)
				nc, err := d.dial(actx, i)
				acancel()
				<-sem
				if err == nil {
					backAt[i] = time.Now()
					conns[i] = nc
					return
				}
				delay := time.Duration(float64(cfg.retryDelay) * (0.5 + rand.Float64()))
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return
				}
			}
		})
	}

	stopAt := time.Now()
	t.stop()
	close(oldGone)
	restartErr := t.start()
	if restartErr != nil {
		cancel()
	} else {
		nb, err := url.Parse(t.url)
		if err == nil {
			d.base.Store(nb)
		}
	}
	wg.Wait()
	defer closeAll(slices.DeleteFunc(conns, func(c loadConn) bool { return c == nil }))
	if restartErr != nil {
		return r, fmt.Errorf("restarting the server: %w", restartErr)
	}
	listenAt := t.proc.listenAt
	r.downTime = listenAt.Sub(stopAt)
	r.attempts = attempts.Load()
	for _, at := range backAt {
		if at.IsZero() {
			continue
		}
		r.back++
		r.times = append(r.times, max(0, at.Sub(listenAt)))
	}
	slices.Sort(r.times)
	if len(r.times) > 0 {
		r.total = r.times[len(r.times)-1]
	}
	if r.back < r.n {
		return r, fmt.Errorf("%d of %d clients back within %s: %w", r.back, r.n, cfg.connectTimeout, context.DeadlineExceeded)
	}
	return r, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p + 0.999999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// print writes the report.
func (r *stormResult) print(w io.Writer) {
	fmt.Fprintf(w, "mode storm, proto chat: %d clients, %d accounts, connected (joined, history received) in %.2fs\n",
		r.n, r.accounts, r.connectTime.Seconds())
	fmt.Fprintf(w, "server restarted: listening again %.2fs after SIGTERM\n", r.downTime.Seconds())
	fmt.Fprintf(w, "back (reconnected, joined, history received): %d of %d, %d attempts\n", r.back, r.n, r.attempts)
	if len(r.times) > 0 {
		fmt.Fprintf(w, "time from listening until back: p50 %s, p99 %s, max %s; all back %.2fs after listening\n",
			ms(percentile(r.times, 0.5)), ms(percentile(r.times, 0.99)), ms(r.times[len(r.times)-1]), r.total.Seconds())
	}
}
