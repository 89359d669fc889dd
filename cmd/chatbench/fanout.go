package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// selfPID is chatbench's own process id, for its CPU share.
var selfPID = os.Getpid()

// fanoutResult is the outcome of -mode fanout.
type fanoutResult struct {
	client        string
	members       int
	senders       int
	rate          float64
	duration      time.Duration
	connectTime   time.Duration
	sent          int64 // messages sent, warm-up included
	sendErrors    int64
	expected      int64 // deliveries expected: sent × members
	delivered     int64 // deliveries seen
	measured      int64 // deliveries of messages sent after the warm-up
	window        time.Duration
	hist          *histogram
	serverCPU     float64       // share over the measured sending window; -1 unknown
	serverRSS     int64         // at the end of sending
	loadCPU       float64       // share over the measured sending window
	otherCPU      float64       // CPU share of other processes over that window
	senderLagging time.Duration // how far the senders fell behind the schedule at worst
	serverCPUTime time.Duration // server CPU time over the measured sending window

	// The chat protocol.
	proto     string
	accounts  int
	polling   int
	acked     int64 // messages acknowledged with an id
	ackErrors int64 // messages acknowledged with an error
}

// runFanout measures delivery to one room of cfg.n members.
func runFanout(ctx context.Context, cfg *config, t *target) (*fanoutResult, error) {
	base, err := url.Parse(t.url)
	if err != nil {
		return nil, err
	}
	r := &fanoutResult{client: cfg.client, members: cfg.n, senders: cfg.senders, rate: cfg.rate,
		duration: cfg.duration, hist: new(histogram), serverCPU: -1,
		proto: cfg.proto, accounts: cfg.accounts, polling: cfg.polling}
	chat := cfg.proto == "chat"
	makeMessage, parseSent := message, sendTime
	if chat {
		makeMessage, parseSent = chatMessage, chatSendTime
	}

	var (
		origin      = time.Now()
		measureFrom = atomic.Int64{} // send time from which latencies count
		delivered   atomic.Int64
		measured    atomic.Int64
		lastMeasure atomic.Int64 // receive time of the last measured delivery
	)
	measureFrom.Store(int64(time.Duration(1 << 62))) // nothing counts until sending starts
	onMsg := func(p []byte) {
		now := time.Since(origin)
		delivered.Add(1)
		sent, ok := parseSent(p)
		if !ok || int64(sent) < measureFrom.Load() {
			return
		}
		measured.Add(1)
		r.hist.Record(now - sent)
		for {
			l := lastMeasure.Load()
			if int64(now) <= l || lastMeasure.CompareAndSwap(l, int64(now)) {
				break
			}
		}
	}

	var members, senders []loadConn
	if chat {
		// Members and senders alike are room members; the senders are
		// WebSocket connections, the long-polling ones come last.
		cookies, err := setupAccounts(ctx, t.url, cfg.accountPrefix, cfg.accounts, 4)
		if err != nil {
			return r, err
		}
		d := newChatDialer(cfg, base, cookies, onMsg)
		defer d.close()
		var elapsed time.Duration
		members, elapsed, err = connectAll(ctx, cfg, cfg.n, d.dial)
		defer closeAll(members)
		r.connectTime = elapsed
		if err != nil {
			return r, err
		}
		senders = members[:cfg.senders]
	} else {
		var elapsed time.Duration
		members, elapsed, err = connectAll(ctx, cfg, cfg.n, benchDialer(cfg, base, cfg.room, onMsg))
		defer closeAll(members)
		r.connectTime = elapsed
		if err != nil {
			return r, err
		}
		senders, _, err = connectAll(ctx, cfg, cfg.senders, benchDialer(cfg, base, "", nil))
		defer closeAll(senders)
		if err != nil {
			return r, err
		}
	}
	delivered.Store(0)

	// Each sender emits rate/senders messages per second on a fixed
	// schedule, catching up at once when it falls behind.
	interval := time.Duration(float64(time.Second) * float64(cfg.senders) / cfg.rate)
	start := time.Since(origin) + 50*time.Millisecond
	warmEnd := start + cfg.warmup
	end := warmEnd + cfg.duration
	measureFrom.Store(int64(warmEnd))
	var sent, sendErrors, lag atomic.Int64
	var wg sync.WaitGroup
	var serverAt, loadAt, serverEnd, loadEnd procSample
	var busyAt, busyEnd time.Duration
	var haveServer bool
	wg.Go(func() { // samples over the measured sending window
		time.Sleep(time.Until(origin.Add(warmEnd)))
		busyAt, _ = machineBusy()
		serverAt, haveServer = t.sample()
		loadAt, _ = readProc(selfPID)
		time.Sleep(time.Until(origin.Add(end)))
		busyEnd, _ = machineBusy()
		serverEnd, _ = t.sample()
		loadEnd, _ = readProc(selfPID)
	})
	for i, s := range senders {
		wg.Go(func() {
			// Senders start spread over one interval.
			at := start + interval*time.Duration(i)/time.Duration(len(senders))
			for ; at < end; at += interval {
				if d := time.Until(origin.Add(at)); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				} else {
					for l := lag.Load(); int64(-d) > l && !lag.CompareAndSwap(l, int64(-d)); l = lag.Load() {
					}
				}
				if s.Emit(cfg.room, makeMessage(time.Since(origin), i, cfg.size)) != nil {
					sendErrors.Add(1)
					continue
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	r.sent, r.sendErrors = sent.Load(), sendErrors.Load()
	r.senderLagging = time.Duration(lag.Load())
	r.expected = r.sent * int64(len(members))

	acks := func() (ok, failed int64) {
		for _, s := range senders {
			if a, isAcker := s.(acker); isAcker {
				o, f := a.Acks()
				ok, failed = ok+o, failed+f
			}
		}
		return ok, failed
	}
	outstanding := func() bool {
		if delivered.Load() < r.expected {
			return true
		}
		o, f := acks()
		return chat && o+f < r.sent
	}

	// Wait for the outstanding deliveries (and acks), as long as they
	// keep coming.
	deadline := time.Now().Add(cfg.drain)
	last := delivered.Load()
	quietSince := time.Now()
	for outstanding() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		if d := delivered.Load(); d != last {
			last, quietSince = d, time.Now()
		} else if time.Since(quietSince) > time.Second {
			break
		}
	}
	r.delivered, r.measured = delivered.Load(), measured.Load()
	r.acked, r.ackErrors = acks()
	endAt := max(time.Duration(lastMeasure.Load()), end)
	r.window = endAt - warmEnd
	if haveServer {
		r.serverCPU = cpuShare(serverAt, serverEnd)
		r.serverCPUTime = serverEnd.cpu - serverAt.cpu
		r.serverRSS = serverEnd.rss
		r.otherCPU = otherCPU(busyAt, busyEnd, serverAt, serverEnd, loadAt, loadEnd)
	}
	r.loadCPU = cpuShare(loadAt, loadEnd)
	return r, nil
}

// print writes the report.
func (r *fanoutResult) print(w io.Writer) {
	if r.proto == "chat" {
		fmt.Fprintf(w, "mode fanout, proto chat: %d members (%d on long-polling, %d senders among them), %d accounts, %.0f messages/s for %s (after warm-up); members connected in %.2fs\n",
			r.members, r.polling, r.senders, r.accounts, r.rate, r.duration, r.connectTime.Seconds())
	} else {
		fmt.Fprintf(w, "mode fanout, client %s: %d members, %d senders, %.0f messages/s for %s (after warm-up); members connected in %.2fs\n",
			r.client, r.members, r.senders, r.rate, r.duration, r.connectTime.Seconds())
	}
	fmt.Fprintf(w, "sent %d messages (%d send errors, senders at most %s behind schedule)\n", r.sent, r.sendErrors, r.senderLagging.Round(time.Millisecond))
	if r.proto == "chat" {
		fmt.Fprintf(w, "acks: %d acknowledged with an id, %d with an error, %d missing\n", r.acked, r.ackErrors, r.sent-r.acked-r.ackErrors)
	}
	lost := r.expected - r.delivered
	fmt.Fprintf(w, "deliveries: %d expected, %d seen, %d lost\n", r.expected, r.delivered, lost)
	if r.window > 0 {
		fmt.Fprintf(w, "measured: %d deliveries in %.2fs: %.0f deliveries/s (offered %.0f/s)\n",
			r.measured, r.window.Seconds(), float64(r.measured)/r.window.Seconds(), r.rate*float64(r.members))
	}
	h := r.hist
	fmt.Fprintf(w, "latency: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n",
		ms(h.Percentile(0.50)), ms(h.Percentile(0.90)), ms(h.Percentile(0.99)), ms(h.Percentile(0.999)), ms(h.Max()))
	if r.serverCPU >= 0 {
		fmt.Fprintf(w, "server CPU %.2f, RSS %s; load CPU %.2f; other processes CPU %.2f\n", r.serverCPU, kb(r.serverRSS), r.loadCPU, r.otherCPU)
		if r.measured > 0 {
			fmt.Fprintf(w, "server CPU per 1,000 deliveries: %.4fs\n", r.serverCPUTime.Seconds()/(float64(r.measured)/1000))
		}
	} else {
		fmt.Fprintf(w, "load CPU %.2f\n", r.loadCPU)
	}
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
