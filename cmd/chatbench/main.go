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
	json           bool   // -json: a JSON line after the text report
	label          string // -label: the JSON line's label

	// The chat protocol (-proto chat).
	proto         string
	accounts      int
	accountPrefix string
	nsp           string
	polling       int
	retryDelay    time.Duration
}

// parseFlags parses and validates the command line.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.mode, "mode", "fanout", "idle, fanout or storm (storm: -proto chat with -server-cmd)")
	fs.StringVar(&c.proto, "proto", "bench", `protocol: bench (the "join"/"to-room" events of cmd/benchserver) or chat (docs/protocol.md, as cmd/chatd speaks it)`)
	fs.IntVar(&c.accounts, "accounts", 1, "chat: accounts signed up (or logged in) before connecting; connections use them round-robin")
	fs.StringVar(&c.accountPrefix, "account-prefix", "bench", "chat: account names are this prefix and a number")
	fs.StringVar(&c.nsp, "nsp", "/user", "chat: namespace")
	fs.IntVar(&c.polling, "polling", 0, "chat fanout: members (not senders) on HTTP long-polling instead of WebSocket")
	fs.DurationVar(&c.retryDelay, "retry-delay", 100*time.Millisecond, "storm: mean delay between reconnection attempts of a client (jittered ±50%)")
	fs.StringVar(&c.url, "url", "", "server base URL, such as http://127.0.0.1:3000 (or use -server-cmd)")
	fs.StringVar(&c.serverCmd, "server-cmd", "", `command starting the server, which must print "listening on URL" (no shell; prefix with "taskset -c 0" to pin it)`)
	fs.IntVar(&c.serverPID, "server-pid", 0, "PID of the server started elsewhere, for its CPU and memory (with -url)")
	fs.StringVar(&c.client, "client", "raw", "load client: raw (lean built-in WebSocket client) or go (socketio/client)")
	fs.IntVar(&c.n, "n", 1000, "connections (idle, storm) or room members (fanout)")
	fs.IntVar(&c.senders, "senders", 1, "fanout: sending connections (bench: not room members; chat: members too, 10 by default)")
	fs.Float64Var(&c.rate, "rate", 100, "fanout: messages per second, all senders together")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "fanout: measured sending time")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "fanout: sending time before measuring")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "fanout: longest wait for outstanding deliveries once sending stops")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "idle: time the connections stay idle before memory is read")
	fs.IntVar(&c.size, "size", 64, "fanout: bytes of text in each message")
	fs.IntVar(&c.concurrency, "concurrency", 64, "connection attempts in flight while connecting")
	fs.StringVar(&c.room, "room", "bench", `room name ("chat" by default with -proto chat)`)
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 60*time.Second, "longest time for opening all connections")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	fs.BoolVar(&c.json, "json", false, "after the text report, print the result as one line of JSON (see cmd/benchreport)")
	fs.StringVar(&c.label, "label", "", "with -json: a label for the JSON line, to tell runs apart")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.proto == "chat" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["room"] {
			c.room = "chat"
		}
		if !set["senders"] {
			c.senders = min(10, c.n)
		}
	}
	return c, c.validate()
}

// validate checks the combination of settings.
func (c *config) validate() error {
	switch {
	case c.mode != "idle" && c.mode != "fanout" && c.mode != "storm":
		return fmt.Errorf("-mode must be idle, fanout or storm, not %q", c.mode)
	case c.proto != "bench" && c.proto != "chat":
		return fmt.Errorf("-proto must be bench or chat, not %q", c.proto)
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
	if c.proto == "chat" {
		switch {
		case c.client != "raw":
			return errors.New("-proto chat uses the raw client only")
		case c.accounts < 1:
			return errors.New("-accounts must be at least 1")
		case !strings.HasPrefix(c.nsp, "/"):
			return errors.New("-nsp must start with /")
		case c.polling < 0 || c.polling > c.n:
			return errors.New("-polling must be between 0 and -n")
		case c.polling > 0 && c.mode != "fanout":
			return errors.New("-polling goes with -mode fanout")
		case c.mode == "fanout" && c.senders > c.n-c.polling:
			return errors.New("-senders must not exceed the WebSocket members (-n minus -polling)")
		case c.size > 1900:
			return errors.New("-size must be at most 1900 with -proto chat (texts are limited to 2000 characters)")
		case c.mode == "storm" && c.serverCmd == "":
			return errors.New("-mode storm restarts the server: it needs -server-cmd")
		case c.retryDelay <= 0:
			return errors.New("-retry-delay must be positive")
		}
	} else {
		switch {
		case c.mode == "storm":
			return errors.New("-mode storm needs -proto chat")
		case c.polling != 0:
			return errors.New("-polling needs -proto chat")
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
	target := &target{url: cfg.url, pid: cfg.serverPID, cmd: cfg.serverCmd, stderr: stderr}
	if cfg.serverCmd != "" {
		if err := target.start(); err != nil {
			return err
		}
		defer target.stop()
	}
	r, err := execute(ctx, cfg, target)
	if r != nil {
		r.print(stdout)
	}
	if cfg.json {
		writeJSON(stdout, cfg.label, cfg, r, err)
	}
	return err
}

// result is the outcome of a run.
type result interface {
	print(w io.Writer)
}

// execute runs the configured mode against t. The result is nil only when
// nothing was measured.
func execute(ctx context.Context, cfg *config, t *target) (result, error) {
	var (
		r   result
		err error
	)
	switch cfg.mode {
	case "idle":
		var ir *idleResult
		ir, err = runIdle(ctx, cfg, t)
		if ir != nil {
			r = ir
		}
	case "storm":
		var sr *stormResult
		sr, err = runStorm(ctx, cfg, t)
		if sr != nil {
			r = sr
		}
	default:
		var fr *fanoutResult
		fr, err = runFanout(ctx, cfg, t)
		if fr != nil {
			r = fr
		}
	}
	return r, err
}

// target is the server under load.
type target struct {
	url    string
	pid    int    // 0 when unknown
	cmd    string // -server-cmd, if chatbench runs the server
	stderr io.Writer
	proc   *serverProc // the running server started from cmd
}

// start runs the server command and waits until it listens.
func (t *target) start() error {
	p, err := startServer(t.cmd, 30*time.Second, t.stderr)
	if err != nil {
		return err
	}
	t.proc, t.url, t.pid = p, p.url, p.pid()
	return nil
}

// stop stops the server chatbench started, if it runs.
func (t *target) stop() {
	if t.proc != nil {
		t.proc.stop()
		t.proc = nil
	}
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

// dialFunc opens connection number i of a run.
type dialFunc func(ctx context.Context, i int) (loadConn, error)

// benchDialer dials connections of the benchmark protocol that join room
// (none when room is empty).
func benchDialer(cfg *config, base *url.URL, room string, onMsg func([]byte)) dialFunc {
	return func(ctx context.Context, _ int) (loadConn, error) {
		return dial(ctx, cfg.client, base, room, onMsg)
	}
}

// connectAll opens n connections with up to concurrency attempts in flight.
// It returns the connections opened (in the order of their numbers, gaps
// removed), the time it took and the first error; it stops at the first
// error.
func connectAll(ctx context.Context, cfg *config, n int, dial dialFunc) ([]loadConn, time.Duration, error) {
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
				c, err := dial(ctx, i)
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
