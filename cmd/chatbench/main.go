package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	mode           string
	url            string
	serverCmd      string
	serverPID      int
	client         string
	n              int
	senders        int
	rate           float64
	duration       time.Duration
	warmup         time.Duration
	drain          time.Duration
	hold           time.Duration
	size           int
	concurrency    int
	room           string
	connectTimeout time.Duration
	cpuProfile     string
}

// parseFlags parses and validates the command line.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.mode, "mode", "fanout", "idle or fanout")
	fs.StringVar(&c.url, "url", "", "server base URL, such as http://127.0.0.1:3000 (or use -server-cmd)")
	fs.StringVar(&c.serverCmd, "server-cmd", "", `command starting the server, which must print "listening on URL" (no shell; prefix with "taskset -c 0" to pin it)`)
	fs.IntVar(&c.serverPID, "server-pid", 0, "PID of the server started elsewhere, for its CPU and memory (with -url)")
	fs.StringVar(&c.client, "client", "raw", "load client: raw (lean built-in WebSocket client) or go (socketio/client)")
	fs.IntVar(&c.n, "n", 1000, "connections (idle) or room members (fanout)")
	fs.IntVar(&c.senders, "senders", 1, "fanout: sending connections (not room members)")
	fs.Float64Var(&c.rate, "rate", 100, "fanout: messages per second, all senders together")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "fanout: measured sending time")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "fanout: sending time before measuring")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "fanout: longest wait for outstanding deliveries once sending stops")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "idle: time the connections stay idle before memory is read")
	fs.IntVar(&c.size, "size", 64, "fanout: bytes of text in each message")
	fs.IntVar(&c.concurrency, "concurrency", 64, "connection attempts in flight while connecting")
	fs.StringVar(&c.room, "room", "bench", "room name")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 60*time.Second, "longest time for opening all connections")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

// validate checks the combination of settings.
func (c *config) validate() error {
	switch {
	case c.mode != "idle" && c.mode != "fanout":
		return fmt.Errorf("-mode must be idle or fanout, not %q", c.mode)
	case c.client != "raw" && c.client != "go":
		return fmt.Errorf("-client must be raw or go, not %q", c.client)
	case (c.url == "") == (c.serverCmd == ""):
		return errors.New("exactly one of -url and -server-cmd is needed")
	case c.serverPID != 0 && c.serverCmd != "":
		return errors.New("-server-pid goes with -url, not -server-cmd")
	case c.serverPID < 0:
		return errors.New("-server-pid must be positive")
	case c.n < 1:
		return errors.New("-n must be at least 1")
	case c.concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.room == "":
		return errors.New("-room must not be empty")
	case c.connectTimeout <= 0:
		return errors.New("-connect-timeout must be positive")
	}
	if c.url != "" {
		u, err := url.Parse(c.url)
		if err != nil || (u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("-url must be an http:// URL with a host, not %q", c.url)
		}
	}
	if c.mode == "fanout" {
		switch {
		case c.senders < 1:
			return errors.New("-senders must be at least 1")
		case c.rate <= 0:
			return errors.New("-rate must be positive")
		case c.duration <= 0:
			return errors.New("-duration must be positive")
		case c.warmup < 0 || c.drain < 0:
			return errors.New("-warmup and -drain must not be negative")
		case c.size < 0 || c.size > 1<<20:
			return errors.New("-size must be between 0 and 1048576")
		}
	}
	if c.mode == "idle" && c.hold < 0 {
		return errors.New("-hold must not be negative")
	}
	return nil
}

// run is the whole program.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	target := &target{url: cfg.url, pid: cfg.serverPID}
	if cfg.serverCmd != "" {
		p, err := startServer(cfg.serverCmd, 30*time.Second, stderr)
		if err != nil {
			return err
		}
		defer p.stop()
		target.url, target.pid = p.url, p.pid()
	}
	switch cfg.mode {
	case "idle":
		r, err := runIdle(ctx, cfg, target)
		if r != nil {
			r.print(stdout)
		}
		return err
	default:
		r, err := runFanout(ctx, cfg, target)
		if r != nil {
			r.print(stdout)
		}
		return err
	}
}

// target is the server under load.
type target struct {
	url string
	pid int // 0 when unknown
}

// sample reads the server's /proc figures; ok is false without a PID.
func (t *target) sample() (procSample, bool) {
	if t.pid == 0 {
		return procSample{}, false
	}
	s, err := readProc(t.pid)
	return s, err == nil
}

// loadConn is one connection of the load.
type loadConn interface {
	Emit(room string, arg []byte) error
	Close() error
}

// dial opens one connection of the configured client kind.
func dial(ctx context.Context, kind string, base *url.URL, room string, onMsg func([]byte)) (loadConn, error) {
	if kind == "go" {
		return dialGo(ctx, base, room, onMsg)
	}
	return dialRaw(ctx, base, room, onMsg)
}

// connectAll opens n connections with up to concurrency attempts in flight.
// It returns the connections opened (in no particular order), the time it
// took and the first error; it stops at the first error.
func connectAll(ctx context.Context, cfg *config, base *url.URL, n int, room string, onMsg func([]byte)) ([]loadConn, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout)
	defer cancel()
	conns := make([]loadConn, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range min(cfg.concurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := dial(ctx, cfg.client, base, room, onMsg)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err) })
					cancel()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	opened := conns[:0]
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	if firstErr == nil && len(opened) < n {
		firstErr = fmt.Errorf("%d of %d connections opened: %w", len(opened), n, ctx.Err())
	}
	return opened, elapsed, firstErr
}

// closeAll closes the connections, a few at a time.
func closeAll(conns []loadConn) {
	var wg sync.WaitGroup
	ch := make(chan loadConn)
	for range 16 {
		wg.Go(func() {
			for c := range ch {
				_ = c.Close()
			}
		})
	}
	for _, c := range conns {
		ch <- c
	}
	close(ch)
	wg.Wait()
}

// quote returns s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// message returns the JSON argument of a benchmark message: its send time
// (nanoseconds since the start of the run), its sender and text of the
// given size.
func message(sent time.Duration, sender, size int) []byte {
	b := make([]byte, 0, 48+size)
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, int64(sent), 10)
	b = append(b, `,"s":`...)
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, `,"text":"`...)
	b = append(b, strings.Repeat("x", size)...)
	b = append(b, `"}`...)
	return b
}

// sendTime extracts the send time of a message made by message, without
// allocating.
func sendTime(p []byte) (time.Duration, bool) {
	const prefix = `{"t":`
	if len(p) < len(prefix)+1 || string(p[:len(prefix)]) != prefix {
		return 0, false
	}
	var v int64
	i := len(prefix)
	start := i
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		v = v*10 + int64(p[i]-'0')
	}
	if i == start || i >= len(p) || (p[i] != ',' && p[i] != '}') {
		return 0, false
	}
	return time.Duration(v), true
}
