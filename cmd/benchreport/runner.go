//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"
)

// runner runs the chatbench runs of a report.
type runner struct {
	o                 *options
	bin, root, tmp    string
	chatbench         string
	node, nodeModules string
	pinServer         []string // taskset prefix of servers, or nil
	pinLoad           []string // taskset prefix of chatbench, or nil
	nofile            uint64   // the soft limit of open files set

	results *os.File    // chatbench's JSON lines
	log     *os.File    // everything chatbench printed
	out     *syncWriter // log and progress
	res     results
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// newRunner checks what the runs need (binaries, Node and its modules,
// the open-file limit) and prepares the results files and a temporary
// directory.
func newRunner(o *options) (*runner, error) {
	r := &runner{o: o, res: results{}}
	var err error
	if r.bin, err = filepath.Abs(o.bin); err != nil {
		return nil, err
	}
	if r.root, err = filepath.Abs(o.root); err != nil {
		return nil, err
	}
	need := []string{"chatbench"}
	if o.s.product {
		need = append(need, "chatd")
	}
	if o.s.library {
		need = append(need, "benchserver")
	}
	for _, b := range need {
		if _, err := os.Stat(filepath.Join(r.bin, b)); err != nil {
			return nil, fmt.Errorf("%s: build it first (go build -o %s/ ./cmd/%s; make bench-report does)", err, o.bin, b)
		}
	}
	r.chatbench = filepath.Join(r.bin, "chatbench")
	if r.node, err = exec.LookPath("node"); err != nil {
		return nil, errors.New("node is not in PATH: the Node servers cannot run")
	}
	r.nodeModules = filepath.Join(r.root, "e2e", "node_modules")
	modules := []string{"socket.io"}
	if o.s.product {
		modules = append(modules, "better-sqlite3")
	}
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(r.nodeModules, m, "package.json")); err != nil {
			return nil, fmt.Errorf("%s is not installed in %s (make e2e-deps)", m, r.nodeModules)
		}
	}
	if r.nofile, err = raiseNofile(fdsNeeded(o.s.conns), o.s.conns); err != nil {
		return nil, err
	}
	if r.pinServer, r.pinLoad, err = pinning(o.pin); err != nil {
		return nil, err
	}
	if r.tmp, err = os.MkdirTemp("", "bench-report-"); err != nil {
		return nil, err
	}
	for _, p := range []string{r.bin, r.root, r.tmp, r.node} {
		if strings.ContainsAny(p, " \t\n") {
			r.close()
			return nil, fmt.Errorf("path %q has white space, which chatbench -server-cmd cannot carry", p)
		}
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		r.close()
		return nil, err
	}
	if r.results, err = os.Create(o.out); err != nil {
		r.close()
		return nil, err
	}
	if r.log, err = os.Create(strings.TrimSuffix(o.out, ".jsonl") + ".log"); err != nil {
		r.close()
		return nil, err
	}
	r.out = &syncWriter{w: io.MultiWriter(r.log, o.progress)}
	return r, nil
}

// close closes the results files and removes the temporary directory.
func (r *runner) close() {
	for _, f := range []*os.File{r.results, r.log} {
		if f != nil {
			_ = f.Close()
		}
	}
	if r.tmp != "" {
		_ = os.RemoveAll(r.tmp)
	}
}

// raiseNofile sets the soft limit of open files, which the servers and
// chatbench inherit, to 20,000 or need if more, within the hard limit; it
// fails when the hard limit is below need.
func raiseNofile(need uint64, conns int) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("ulimit -n: %w", err)
	}
	if lim.Max < need {
		return 0, fmt.Errorf("ulimit -n: the hard limit of open files is %d, and %d connections need %d per process: raise it (ulimit -Hn %d, as root) or lower BENCH_CONNS",
			lim.Max, conns, need, need)
	}
	// The Go runtime raises its own soft limit to the hard one at start-up
	// and would give children the original; setting it here gives them
	// this one.
	want := min(max(need, 20000), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: lim.Max}); err != nil {
		return 0, fmt.Errorf("ulimit -n %d: %w", want, err)
	}
	return want, nil
}

// pinning returns the taskset prefixes of servers and of the load: two
// different CPUs of those this process may use, when there are two and
// taskset is installed (mode auto), the CPUs given ("S,L"), or none (off).
func pinning(mode string) (server, load []string, err error) {
	if mode == "off" {
		return nil, nil, nil
	}
	taskset, lookErr := exec.LookPath("taskset")
	if mode != "auto" {
		s, l, ok := strings.Cut(mode, ",")
		sn, err1 := strconv.Atoi(strings.TrimSpace(s))
		ln, err2 := strconv.Atoi(strings.TrimSpace(l))
		if !ok || err1 != nil || err2 != nil || sn < 0 || ln < 0 {
			return nil, nil, fmt.Errorf("BENCH_PIN must be auto, off or SERVER,LOAD CPU numbers, not %q", mode)
		}
		if lookErr != nil {
			return nil, nil, errors.New("BENCH_PIN: taskset is not installed")
		}
		return []string{taskset, "-c", strconv.Itoa(sn)}, []string{taskset, "-c", strconv.Itoa(ln)}, nil
	}
	if lookErr != nil {
		return nil, nil, nil
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, nil, nil
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < 2; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return nil, nil, nil
	}
	return []string{taskset, "-c", strconv.Itoa(cpus[0])}, []string{taskset, "-c", strconv.Itoa(cpus[1])}, nil
}

// runAll runs every run of the settings, then prints the tables.
func (r *runner) runAll(ctx context.Context, stdout io.Writer) error {
	s := r.o.s
	pin := "not pinned (fewer than 2 CPUs, taskset missing, or BENCH_PIN=off)"
	if r.pinServer != nil {
		pin = fmt.Sprintf("servers on CPU %s, load on CPU %s", r.pinServer[2], r.pinLoad[2])
	}
	started := time.Now()
	fmt.Fprintf(r.out, "bench-report %s\n%s\n%s\n%s; ulimit -n %d\nresults: %s\n",
		started.Format("2006-01-02 15:04:05"), machine(), s.describe(), pin, r.nofile, r.o.out)

	var failed []string
	for _, br := range s.runs() {
		if ctx.Err() != nil {
			break
		}
		if br.rate > 0 {
			failed = append(failed, r.search(ctx, br)...)
			continue
		}
		rep := r.runOne(ctx, br)
		if rep == nil { // skipped
			continue
		}
		r.res.add(rep)
		if !rep.OK() {
			failed = append(failed, br.label)
		}
	}
	interrupted := ctx.Err() != nil

	var tables bytes.Buffer
	fmt.Fprintf(&tables, "## bench-report, %s\n\n%s; %s.\n%s; %s.\n\n", started.Format("2006-01-02"), machine(), s.describe(), pin,
		fmt.Sprintf("ratio is the first server's figure over Node's; runs took %s", time.Since(started).Round(time.Second)))
	printTables(&tables, r.res, s)
	_, _ = stdout.Write(tables.Bytes())
	_, _ = r.log.Write(tables.Bytes())
	if err := os.WriteFile(strings.TrimSuffix(r.o.out, ".jsonl")+".md", tables.Bytes(), 0o644); err != nil {
		return err
	}
	switch {
	case interrupted:
		return fmt.Errorf("interrupted (%v); every process started was stopped", context.Cause(ctx))
	case len(failed) > 0:
		return fmt.Errorf("%d runs failed: %s (see %s)", len(failed), strings.Join(failed, ", "), r.log.Name())
	}
	return nil
}

// search runs the rate search of a fan-out (search.go), each run labelled
// with its step, and returns the labels of the runs that failed to run.
func (r *runner) search(ctx context.Context, br benchRun) (failed []string) {
	s := r.o.s
	rates, verdicts, best := rateSearch(br.rate, s.searchFactor, s.searchSteps, func(step int, rate float64) verdict {
		if ctx.Err() != nil {
			return broken
		}
		run := br
		run.label = stepLabel(br.label, step)
		run.args = append(append([]string{}, br.args...), "-rate", strconv.FormatFloat(rate, 'f', -1, 64))
		rep := r.runOne(ctx, run)
		if rep == nil { // skipped
			return broken
		}
		r.res.add(rep)
		v := judge(rep)
		if !rep.OK() {
			failed = append(failed, run.label)
		}
		fmt.Fprintf(r.out, "%s: %s at %s msg/s\n", run.label, v, rateText(rate))
		return v
	})
	var steps []string
	for i, rate := range rates {
		steps = append(steps, fmt.Sprintf("%s %s", rateText(rate), verdicts[i]))
	}
	result := "none passed"
	if best >= 0 {
		result = "the highest passing " + rateText(rates[best]) + " msg/s"
	}
	fmt.Fprintf(r.out, "%s: rates %s: %s\n", br.label, strings.Join(steps, ", "), result)
	return failed
}

// errSkip marks a run that cannot run on this machine, such as the
// two-node row without PostgreSQL or Redis.
type errSkip struct{ error }

// runOne runs chatbench once and returns its report; a run that printed
// no JSON line gets a report with the error, and a run skipped none.
func (r *runner) runOne(ctx context.Context, br benchRun) *report {
	fmt.Fprintf(r.out, "\n==> %s (%s)\n", br.label, br.server)
	ctx, cancel := context.WithTimeout(ctx, r.o.s.runTimeout)
	defer cancel()
	fail := func(err error) *report {
		fmt.Fprintf(r.out, "%s: %v\n", br.label, err)
		return &report{Label: br.label, Error: err.Error()}
	}
	server, env, cleanup, err := r.serverCmd(ctx, br)
	if skip := (errSkip{}); errors.As(err, &skip) {
		fmt.Fprintf(r.out, "%s: skipped: %v\n", br.label, err)
		r.res.add(&report{Label: clusterSkipped, Error: err.Error()})
		return nil
	}
	if err != nil {
		return fail(err)
	}
	defer cleanup()

	args := append(append([]string{}, r.pinLoad...), r.chatbench)
	args = append(args, br.args...)
	args = append(args, "-json", "-label", br.label, "-server-cmd", server)
	fmt.Fprintf(r.out, "$ %s\n", strings.Join(args, " "))
	var rep *report
	lines := &lineWriter{fn: func(line string) {
		if strings.HasPrefix(line, "{") {
			var jr report
			if err := json.Unmarshal([]byte(line), &jr); err == nil && jr.Label == br.label {
				rep = &jr
				_, _ = r.results.WriteString(line + "\n")
			}
		}
		fmt.Fprintf(r.out, "  %s\n", line)
	}}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = lines
	cmd.Stderr = &lineWriter{fn: func(line string) { fmt.Fprintf(r.out, "  ! %s\n", line) }}
	cmd.SysProcAttr = procAttr()
	// On a timeout or an interruption chatbench gets SIGTERM and stops its
	// server (SIGTERM, then SIGKILL after 5 s); SIGKILL after 15 s.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
		killGroup(cmd.Process.Pid)
	}
	lines.flush()
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("stopped: %w", context.Cause(ctx))
	case err != nil:
		err = fmt.Errorf("chatbench: %w", err)
	}
	if rep == nil {
		if err == nil {
			err = errors.New("chatbench printed no JSON line")
		}
		return fail(err)
	}
	if err != nil && rep.Error == "" {
		rep.Error = err.Error()
	}
	return rep
}

// killGroup kills whatever is left of the process group led by pid, a
// process benchreport started (in a group of its own) that has exited.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// serverCmd returns the -server-cmd of a run, environment variables for
// chatbench, and a cleanup to call once the run is over.
func (r *runner) serverCmd(ctx context.Context, br benchRun) (string, []string, func(), error) {
	pin := strings.Join(r.pinServer, " ")
	if pin != "" {
		pin += " "
	}
	db := filepath.Join(r.tmp, strings.ReplaceAll(br.label, "#", "-")+".db")
	nodeEnv := []string{"NODE_PATH=" + r.nodeModules}
	nothing := func() {}
	switch br.server {
	case srvChatd:
		return pin + filepath.Join(r.bin, "chatd") + " -addr 127.0.0.1:0 -db " + db + " -msg-rate 0 -log-level warn", nil, nothing, nil
	case srvNodeChat:
		return pin + r.node + " --expose-gc " + filepath.Join(r.root, "cmd", "chatbench", "nodechat.js") + " 0 " + db, nodeEnv, nothing, nil
	case srvBench:
		return pin + filepath.Join(r.bin, "benchserver"), nil, nothing, nil
	case srvNodeBench:
		return pin + r.node + " --expose-gc " + filepath.Join(r.root, "cmd", "chatbench", "nodeserver.js"), nodeEnv, nothing, nil
	case srvCluster:
		return r.startCluster(ctx)
	}
	return "", nil, nil, fmt.Errorf("unknown server %q", br.server)
}

// startCluster makes a PostgreSQL schema name and a Redis prefix for this
// run, starts the cluster's Redis (redis-server on the load's CPU, unless
// -redis-server is off) and node B of the cluster on the load's CPU, and
// returns the command of node A, on the servers' CPU: node A has its CPU
// to itself, as the single node of the other rows has. Its cleanup stops
// node B and that Redis and removes the schema and the keys.
func (r *runner) startCluster(ctx context.Context) (string, []string, func(), error) {
	s := r.o.s
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pg, err := pgx.Connect(cctx, s.pgURL)
	if err != nil {
		return "", nil, nil, errSkip{fmt.Errorf("PostgreSQL unreachable (DATABASE_URL; BENCH_CLUSTER=0 leaves the row out): %w", err)}
	}
	_ = pg.Close(context.Background())
	redisURL, stopRedis, err := r.clusterRedis(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		stopRedis()
		return "", nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropts)
	if err := rdb.Ping(cctx).Err(); err != nil {
		_ = rdb.Close()
		stopRedis()
		return "", nil, nil, errSkip{fmt.Errorf("Redis unreachable (REDIS_URL; BENCH_CLUSTER=0 leaves the row out): %w", err)}
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	name := "bench_report_" + hex.EncodeToString(id)
	u, err := url.Parse(s.pgURL)
	if err != nil {
		_ = rdb.Close()
		stopRedis()
		return "", nil, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	dbURL := u.String()
	node := filepath.Join(r.bin, "chatd") + " -addr 127.0.0.1:0 -db " + dbURL + " -redis " + redisURL +
		" -redis-prefix " + name + " -msg-rate 0 -log-level warn"

	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if pg, err := pgx.Connect(ctx, s.pgURL); err == nil {
			if _, err := pg.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
				fmt.Fprintf(r.out, "dropping schema %s: %v\n", name, err)
			}
			_ = pg.Close(ctx)
		}
		iter := rdb.Scan(ctx, 0, "*"+name+"*", 1000).Iterator()
		for iter.Next(ctx) {
			_ = rdb.Del(ctx, iter.Val()).Err()
		}
		if err := iter.Err(); err != nil {
			fmt.Fprintf(r.out, "removing Redis keys of %s: %v\n", name, err)
		}
		_ = rdb.Close()
		stopRedis()
	}
	nodeB, err := r.startNode(append(slices.Clone(r.pinLoad), strings.Fields(node)...), "node B")
	if err != nil {
		cleanup()
		return "", nil, nil, fmt.Errorf("node B: %w", err)
	}
	fmt.Fprintf(r.out, "node B (PID %d) on %s%s, schema and Redis prefix %s\n", nodeB.cmd.Process.Pid, nodeB.url, onCPU(r.pinLoad), name)
	pin := strings.Join(r.pinServer, " ")
	if pin != "" {
		pin += " "
	}
	return pin + node, nil, func() { nodeB.stop(); cleanup() }, nil
}

// onCPU describes a taskset prefix ("" when not pinned).
func onCPU(pin []string) string {
	if len(pin) == 0 {
		return ""
	}
	return ", CPU " + pin[len(pin)-1]
}

// clusterRedis returns the URL of the two-node row's Redis, and a function
// that stops it when benchreport started it. With -redis-server auto (and
// redis-server installed) or a path, benchreport starts a Redis of its
// own, without persistence, on a free loopback port and the load's CPU;
// with off, or auto without redis-server, the row uses REDIS_URL.
func (r *runner) clusterRedis(ctx context.Context) (string, func(), error) {
	s := r.o.s
	bin := s.redisServer
	switch bin {
	case "off":
		return s.redisURL, func() {}, nil
	case "auto", "":
		p, err := exec.LookPath("redis-server")
		if err != nil {
			fmt.Fprintf(r.out, "redis-server not found: the two-node row uses %s, on no CPU of its own\n", s.redisURL)
			return s.redisURL, func() {}, nil
		}
		bin = p
	}
	var lastErr error
	for range 3 { // a free port can be taken before Redis binds it
		port, err := freePort()
		if err != nil {
			return "", nil, err
		}
		srv, err := r.startRedis(ctx, bin, port)
		if err == nil {
			fmt.Fprintf(r.out, "Redis (PID %d) on 127.0.0.1:%d%s\n", srv.cmd.Process.Pid, port, onCPU(r.pinLoad))
			return fmt.Sprintf("redis://127.0.0.1:%d/0", port), srv.stop, nil
		}
		lastErr = err
	}
	return "", nil, fmt.Errorf("starting %s: %w", bin, lastErr)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedis starts redis-server on the port and the load's CPU and waits
// until it answers PING.
func (r *runner) startRedis(ctx context.Context, bin string, port int) (*bgServer, error) {
	args := append(slices.Clone(r.pinLoad), bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	tail := newLastLines()
	b, err := startBackground(args, tail, tail)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return b, nil
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("exited (%v): %s", b.cmd.ProcessState, tail.String())
		case <-ctx.Done():
			b.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("no answer to PING within 10 s: %v; %s", err, tail.String())
		}
	}
}

// lastLines keeps the last few lines written to it (under the
// lineWriter's lock, which its fn runs with).
type lastLines struct {
	lineWriter
	lines []string
}

func newLastLines() *lastLines {
	l := &lastLines{}
	l.fn = func(line string) {
		if l.lines = append(l.lines, line); len(l.lines) > 5 {
			l.lines = l.lines[1:]
		}
	}
	return l
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, " / ")
}

// bgServer is a server benchreport started itself.
type bgServer struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startNode starts a server command and waits until it prints
// "listening on URL".
func (r *runner) startNode(args []string, what string) (*bgServer, error) {
	found := make(chan string, 1)
	stdout := &lineWriter{fn: func(line string) {
		if _, u, ok := strings.Cut(line, "listening on "); ok {
			select {
			case found <- strings.TrimSpace(u):
			default:
			}
		}
	}}
	stderr := &lineWriter{fn: func(line string) { fmt.Fprintf(r.out, "  %s ! %s\n", what, line) }}
	b, err := startBackground(args, stdout, stderr)
	if err != nil {
		return nil, err
	}
	select {
	case b.url = <-found:
		return b, nil
	case <-b.done:
		killGroup(b.cmd.Process.Pid)
		return nil, fmt.Errorf("exited before listening: %v", b.cmd.ProcessState)
	case <-time.After(30 * time.Second):
		b.stop()
		return nil, errors.New("did not print its address within 30 s")
	}
}

// startBackground starts a command in a process group of its own, its
// output going to stdout and stderr; done is closed when it has exited.
func startBackground(args []string, stdout, stderr io.Writer) (*bgServer, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = procAttr()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &bgServer{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(b.done)
	}()
	return b, nil
}

// stop sends SIGTERM, then SIGKILL after 10 s, and waits for the exit.
func (b *bgServer) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	killGroup(b.cmd.Process.Pid)
}

// lineWriter calls fn with each line written to it (without its end).
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// flush passes on a last line without its end.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(string(w.buf))
		w.buf = nil
	}
}

// procAttr puts a child in a process group of its own (so that a Ctrl-C
// at the terminal reaches benchreport alone, which stops it in order, and
// so that what it leaves behind can be killed by its group), and sends it
// SIGTERM should benchreport die first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
