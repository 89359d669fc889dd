package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/chatd/chatd/internal/benchresult"
)

// jsonReport is the JSON line of a run (internal/benchresult).
type jsonReport = benchresult.Report

// writeJSON writes the JSON line of result r (nil when nothing was
// measured) and of err, labelled label.
func writeJSON(w io.Writer, label string, cfg *config, r result, err error) {
	j := jsonReport{Label: label, Mode: cfg.mode, Proto: cfg.proto, N: cfg.n}
	if cfg.proto == "bench" {
		j.Client = cfg.client
	} else {
		j.Accounts = cfg.accounts
	}
	if err != nil {
		j.Error = err.Error()
	}
	switch r := r.(type) {
	case *idleResult:
		r.fillJSON(&j)
	case *fanoutResult:
		r.fillJSON(&j)
	case *stormResult:
		r.fillJSON(&j)
	}
	b, _ := json.Marshal(j)
	_, _ = w.Write(append(b, '\n'))
}

func ptr[T any](v T) *T { return &v }

// msf is d in milliseconds.
func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *idleResult) fillJSON(j *jsonReport) {
	j.Opened = r.opened
	if r.opened > 0 && r.connectTime > 0 {
		j.ConnectSeconds = r.connectTime.Seconds()
		j.ConnsPerSec = float64(r.opened) / r.connectTime.Seconds()
	}
	if r.connCPU >= 0 {
		j.ServerCPU = ptr(r.connCPU)
		j.OtherCPU = ptr(r.otherCPU)
	}
	j.LoadCPU = r.loadCPU
	if r.opened == 0 {
		return
	}
	if r.haveProc && r.rss > 0 {
		j.BaseRSS, j.RSS, j.PreAccountsRSS = r.baseRSS, r.rss, r.preAccountsRSS
		j.RSSPerConn = ptr(float64(r.rss-r.baseRSS) / float64(r.opened))
	}
	if r.haveStats && r.stats.Runtime != "" {
		j.HeapPerConn = ptr(float64(r.stats.HeapBytes-r.baseStats.HeapBytes) / float64(r.opened))
		if r.stats.StackBytes > 0 {
			j.StackPerConn = ptr(float64(r.stats.StackBytes-r.baseStats.StackBytes) / float64(r.opened))
		}
	}
}

func (r *fanoutResult) fillJSON(j *jsonReport) {
	j.N = r.members
	j.Senders, j.Polling, j.Rate, j.DurationSeconds = r.senders, r.polling, r.rate, r.duration.Seconds()
	j.Sent, j.SendErrors, j.Expected, j.Delivered, j.Measured = r.sent, r.sendErrors, r.expected, r.delivered, r.measured
	j.Lost = ptr(r.expected - r.delivered)
	if r.window > 0 {
		j.DeliveriesPerSec = float64(r.measured) / r.window.Seconds()
	}
	if r.proto == "chat" {
		j.Acked, j.AckErrors = r.acked, r.ackErrors
		j.AcksMissing = ptr(r.sent - r.acked - r.ackErrors)
	}
	if h := r.hist; h != nil && h.Count() > 0 {
		j.P50Ms, j.P90Ms = ptr(msf(h.Percentile(0.50))), ptr(msf(h.Percentile(0.90)))
		j.P99Ms, j.P999Ms = ptr(msf(h.Percentile(0.99))), ptr(msf(h.Percentile(0.999)))
		j.MaxMs = ptr(msf(h.Max()))
	}
	j.LoadCPU = r.loadCPU
	if r.serverCPU >= 0 {
		j.ServerCPU, j.OtherCPU, j.ServerRSS = ptr(r.serverCPU), ptr(r.otherCPU), r.serverRSS
		if r.measured > 0 {
			j.ServerCPUPer1k = ptr(r.serverCPUTime.Seconds() / (float64(r.measured) / 1000))
		}
	}
}

func (r *stormResult) fillJSON(j *jsonReport) {
	j.Back, j.Attempts = r.back, r.attempts
	j.ConnectSeconds, j.DownSeconds = r.connectTime.Seconds(), r.downTime.Seconds()
	if len(r.times) > 0 {
		j.P50Ms, j.P99Ms = ptr(msf(percentile(r.times, 0.5))), ptr(msf(percentile(r.times, 0.99)))
		j.MaxMs = ptr(msf(r.times[len(r.times)-1]))
		j.AllBackSeconds = r.total.Seconds()
	}
}
