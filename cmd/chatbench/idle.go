package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

// idleResult is the outcome of -mode idle.
type idleResult struct {
	client         string
	n              int
	opened         int
	connectTime    time.Duration
	connCPU        float64 // server CPU share while connecting; -1 unknown
	loadCPU        float64 // load CPU share while connecting
	otherCPU       float64 // CPU share of other processes while connecting
	baseRSS        int64
	rss            int64 // after -hold
	rssGC          int64 // after the server's garbage collection, if it has /stats
	baseStats      serverStats
	stats          serverStats
	haveProc       bool
	haveStats      bool
	proto          string // "chat", or "" for the benchmark protocol
	preAccountsRSS int64  // server RSS before the sign-ups
	accounts       int
}

// runIdle opens cfg.n idle connections that each join one room, and
// measures how fast they open and what they cost the server in memory.
func runIdle(ctx context.Context, cfg *config, t *target) (*idleResult, error) {
	base, err := url.Parse(t.url)
	if err != nil {
		return nil, err
	}
	r := &idleResult{client: cfg.client, n: cfg.n, connCPU: -1}
	dial := benchDialer(cfg, base, cfg.room, nil)
	if cfg.proto == "chat" {
		pre, _ := t.sample()
		r.preAccountsRSS = pre.rss
		cookies, err := setupAccounts(ctx, t.url, cfg.accountPrefix, cfg.accounts, 4)
		if err != nil {
			return r, err
		}
		d := newChatDialer(cfg, base, cookies, nil)
		defer d.close()
		dial = d.dial
		r.proto, r.accounts = cfg.proto, cfg.accounts
	}

	// The baseline after the sign-ups, which cost the server memory too.
	r.baseStats, r.haveStats = fetchStats(ctx, t.url, true)
	before, haveProc := t.sample()
	r.haveProc = haveProc
	r.baseRSS = before.rss
	self0, _ := readProc(selfPID)
	busy0, _ := machineBusy()

	conns, elapsed, err := connectAll(ctx, cfg, cfg.n, dial)
	defer closeAll(conns)
	r.opened = len(conns)
	r.connectTime = elapsed
	after, _ := t.sample()
	self1, _ := readProc(selfPID)
	busy1, _ := machineBusy()
	if haveProc {
		r.connCPU = cpuShare(before, after)
		r.otherCPU = otherCPU(busy0, busy1, before, after, self0, self1)
	}
	r.loadCPU = cpuShare(self0, self1)
	if err != nil {
		return r, err
	}

	select {
	case <-time.After(cfg.hold):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	held, _ := t.sample()
	r.rss = held.rss
	if r.haveStats {
		r.stats, _ = fetchStats(ctx, t.url, true)
		gc, _ := t.sample()
		r.rssGC = gc.rss
	}
	return r, nil
}

// print writes the report.
func (r *idleResult) print(w io.Writer) {
	if r.proto == "chat" {
		fmt.Fprintf(w, "mode idle, proto chat: %d of %d connections open (each joined the room), %d accounts\n", r.opened, r.n, r.accounts)
	} else {
		fmt.Fprintf(w, "mode idle, client %s: %d of %d connections open (each joined the room)\n", r.client, r.opened, r.n)
	}
	if r.opened > 0 && r.connectTime > 0 {
		fmt.Fprintf(w, "connect: %.2fs, %.0f connections/s; server CPU %s, load CPU %.2f, other processes CPU %.2f\n",
			r.connectTime.Seconds(), float64(r.opened)/r.connectTime.Seconds(), share(r.connCPU), r.loadCPU, r.otherCPU)
	}
	if r.opened == 0 {
		return
	}
	if r.haveProc && r.rss > 0 {
		fmt.Fprintf(w, "server RSS: %s before, %s idle, %s per connection\n",
			kb(r.baseRSS), kb(r.rss), kb((r.rss-r.baseRSS)/int64(r.opened)))
		if r.preAccountsRSS > 0 {
			// Password hashing of the sign-ups may leave memory the server
			// reuses for the connections.
			fmt.Fprintf(w, "server RSS before the sign-ups: %s; %s per connection from there\n",
				kb(r.preAccountsRSS), kb((r.rss-r.preAccountsRSS)/int64(r.opened)))
		}
		if r.rssGC > 0 {
			fmt.Fprintf(w, "server RSS after a GC: %s, %s per connection\n", kb(r.rssGC), kb((r.rssGC-r.baseRSS)/int64(r.opened)))
		}
	}
	if r.haveStats && r.stats.Runtime != "" {
		fmt.Fprintf(w, "server %s heap after a GC: %s before, %s idle, %s per connection (server counts %d sockets)\n",
			r.stats.Runtime, kb(r.baseStats.HeapBytes), kb(r.stats.HeapBytes),
			kb((r.stats.HeapBytes-r.baseStats.HeapBytes)/int64(r.opened)), r.stats.Sockets)
		if r.stats.StackBytes > 0 {
			fmt.Fprintf(w, "server goroutine stacks: %s before, %s idle, %s per connection\n",
				kb(r.baseStats.StackBytes), kb(r.stats.StackBytes), kb((r.stats.StackBytes-r.baseStats.StackBytes)/int64(r.opened)))
		}
	}
}

// kb formats a byte count in KB (1024 bytes) with one decimal.
func kb(b int64) string { return fmt.Sprintf("%.1f KB", float64(b)/1024) }

// share formats a CPU share, or "n/a" when unknown.
func share(s float64) string {
	if s < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", s)
}
