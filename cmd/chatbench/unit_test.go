package main

import (
	"bufio"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, 127, 128, 129, 255, 256, 257, 1 << 20, 1<<62 + 12345, 1<<63 - 1}
	for range 10000 {
		values = append(values, r.Int64N(1<<40))
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		high := bucketHigh(i)
		if high < v {
			t.Fatalf("value %d above the top %d of its bucket %d", v, high, i)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Fatalf("value %d not above the top %d of the bucket below %d", v, bucketHigh(i-1), i)
		}
		if float64(high-v) > float64(v)/subCount {
			t.Fatalf("bucket of %d too wide: top %d", v, high)
		}
	}
}

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(float64(len(sorted))*p + 0.999999999)
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestPercentiles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h histogram
	var all []time.Duration
	for range 50000 {
		// A long-tailed distribution between about 10µs and 1s.
		d := time.Duration(10000 * (1 + r.ExpFloat64()*r.ExpFloat64()*200))
		all = append(all, d)
		h.Record(d)
	}
	slices.Sort(all)
	if h.Count() != uint64(len(all)) {
		t.Fatalf("count %d, want %d", h.Count(), len(all))
	}
	if h.Max() != all[len(all)-1] {
		t.Fatalf("max %v, want %v", h.Max(), all[len(all)-1])
	}
	for _, p := range []float64{0.0001, 0.5, 0.9, 0.99, 0.999, 1} {
		got, want := h.Percentile(p), exactPercentile(all, p)
		if got < want || float64(got-want) > float64(want)/subCount {
			t.Errorf("p%v: %v, want %v (within 1/%d above)", p*100, got, want, subCount)
		}
	}
}

func TestPercentileSmall(t *testing.T) {
	var h histogram
	if h.Percentile(0.99) != 0 || h.Max() != 0 {
		t.Fatal("an empty histogram reports non-zero values")
	}
	for _, d := range []time.Duration{5, 1, 3, 2, 4} {
		h.Record(d)
	}
	h.Record(-7) // counts as zero
	for p, want := range map[float64]time.Duration{0.1: 0, 0.5: 2, 0.9: 5, 1: 5} {
		if got := h.Percentile(p); got != want {
			t.Errorf("p%v = %v, want %v", p*100, got, want)
		}
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000 + i))
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 7999 {
		t.Fatalf("count %d max %d, want 8000 and 7999", h.Count(), h.Max())
	}
	if p := h.Percentile(0.5); p < 3999 || p > 3999+3999/subCount {
		t.Fatalf("median %d, want about 3999", p)
	}
}

func TestMessageSendTime(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 123456789, 1 << 60} {
		m := message(d, 7, 10)
		if !strings.HasSuffix(string(m), `"s":7,"text":"xxxxxxxxxx"}`) {
			t.Fatalf("message %s", m)
		}
		got, ok := sendTime(m)
		if !ok || got != d {
			t.Fatalf("sendTime(%s) = %v, %v; want %v", m, got, ok, d)
		}
	}
	for _, bad := range []string{``, `{"t":}`, `{"t":12`, `{"t":-5}`, `{"x":1}`, `{"t":12x}`, `"t":1`} {
		if _, ok := sendTime([]byte(bad)); ok {
			t.Errorf("sendTime(%q) accepted", bad)
		}
	}
	if got, ok := sendTime([]byte(`{"t":42}`)); !ok || got != 42 {
		t.Errorf(`sendTime({"t":42}) = %v, %v`, got, ok)
	}
}

func TestFlags(t *testing.T) {
	valid := [][]string{
		{"-url", "http://127.0.0.1:3000"},
		{"-mode", "idle", "-url", "http://127.0.0.1:3000/", "-server-pid", "1", "-n", "10000", "-hold", "0s"},
		{"-mode", "fanout", "-server-cmd", "taskset -c 0 bin/benchserver", "-client", "go", "-senders", "4", "-rate", "0.5", "-warmup", "0s", "-size", "0"},
	}
	for _, args := range valid {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
	c, err := parseFlags([]string{"-url", "http://h:1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.mode != "fanout" || c.client != "raw" || c.n != 1000 || c.senders != 1 || c.rate != 100 || c.room != "bench" {
		t.Errorf("defaults: %+v", c)
	}
	invalid := map[string][]string{
		"no target":       {},
		"two targets":     {"-url", "http://h:1", "-server-cmd", "x"},
		"pid with cmd":    {"-server-cmd", "x", "-server-pid", "5"},
		"negative pid":    {"-url", "http://h:1", "-server-pid", "-5"},
		"bad mode":        {"-url", "http://h:1", "-mode", "burst"},
		"bad client":      {"-url", "http://h:1", "-client", "node"},
		"ws url":          {"-url", "ws://h:1"},
		"no host":         {"-url", "http://"},
		"zero n":          {"-url", "http://h:1", "-n", "0"},
		"zero senders":    {"-url", "http://h:1", "-senders", "0"},
		"zero rate":       {"-url", "http://h:1", "-rate", "0"},
		"zero duration":   {"-url", "http://h:1", "-duration", "0s"},
		"negative warmup": {"-url", "http://h:1", "-warmup", "-1s"},
		"negative size":   {"-url", "http://h:1", "-size", "-1"},
		"zero conc":       {"-url", "http://h:1", "-concurrency", "0"},
		"empty room":      {"-url", "http://h:1", "-room", ""},
		"negative hold":   {"-url", "http://h:1", "-mode", "idle", "-hold", "-1s"},
		"extra argument":  {"-url", "http://h:1", "fanout"},
		"unknown flag":    {"-url", "http://h:1", "-x"},
	}
	for name, args := range invalid {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%s: %q accepted", name, args)
		}
	}
}

func TestProcParsing(t *testing.T) {
	stat := "1234 (bench server) S 1 1234 1234 0 -1 4194304 500 0 0 0 250 130 0 0 20 0 9 0 100 1000000 2000 18446744073709551615\n"
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3800*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 3.8s", cpu, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1 2"); err == nil {
		t.Error("short stat line accepted")
	}
	rss, err := parseStatusRSS("Name:\tx\nVmPeak:\t  9999 kB\nVmRSS:\t   1536 kB\nThreads:\t3\n")
	if err != nil || rss != 1536*1024 {
		t.Errorf("parseStatusRSS = %d, %v", rss, err)
	}
	if _, err := parseStatusRSS("Name:\tx\n"); err == nil {
		t.Error("status without VmRSS accepted")
	}
	busy, err := parseMachineBusy("cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n")
	if err != nil || busy != 1610*time.Millisecond {
		t.Errorf("parseMachineBusy = %v, %v; want 1.61s", busy, err)
	}
	now := time.Now()
	a := procSample{at: now, cpu: time.Second}
	b := procSample{at: now.Add(2 * time.Second), cpu: 2 * time.Second}
	if s := cpuShare(a, b); s != 0.5 {
		t.Errorf("cpuShare = %v, want 0.5", s)
	}
	l0, l1 := procSample{at: now}, procSample{at: now.Add(time.Second), cpu: 300 * time.Millisecond}
	if o := otherCPU(10*time.Second, 11500*time.Millisecond, a, procSample{at: now.Add(time.Second), cpu: 1700 * time.Millisecond}, l0, l1); o < 0.499 || o > 0.501 {
		t.Errorf("otherCPU = %v, want 0.5", o)
	}
	self, err := readProc(selfPID)
	if err != nil || self.rss <= 0 {
		t.Errorf("readProc(self) = %+v, %v", self, err)
	}
}

// readUpgradeResponse takes the accept value whatever the header's case
// and refuses any status but 101.
func TestReadUpgradeResponse(t *testing.T) {
	c := &rawConn{br: bufio.NewReader(strings.NewReader(
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nsec-websocket-accept:  abc= \r\n\r\n"))}
	if got, err := c.readUpgradeResponse(); err != nil || got != "abc=" {
		t.Errorf("101: %q, %v", got, err)
	}
	c = &rawConn{br: bufio.NewReader(strings.NewReader("HTTP/1.1 400 Bad Request\r\n\r\n"))}
	if _, err := c.readUpgradeResponse(); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("400: %v", err)
	}
	c = &rawConn{br: bufio.NewReader(strings.NewReader("HTTP/1.1 101 Switching Protocols\r\nUpgr"))}
	if _, err := c.readUpgradeResponse(); err == nil {
		t.Error("truncated response accepted")
	}
}
