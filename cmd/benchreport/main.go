//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// options are the command line (and environment) of benchreport.
type options struct {
	s        settings
	bin      string // directory of chatd, chatbench, benchserver
	root     string // the repository: cmd/chatbench/*.js and e2e/node_modules
	out      string // results file
	from     string // print the tables of this results file and stop
	pin      string // auto, off or "SERVER,LOAD"
	progress io.Writer
}

// env returns the environment variable name, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// parseOptions parses args with the BENCH_* environment as defaults.
func parseOptions(args []string, stderr io.Writer) (*options, error) {
	quick, err := strconv.ParseBool(env("BENCH_QUICK", "0"))
	if err != nil {
		return nil, fmt.Errorf("BENCH_QUICK: %w", err)
	}
	// -quick changes the defaults of the other settings, so it is read first.
	for _, a := range args {
		if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "quick"); ok && (v == "" || strings.HasPrefix(v, "=")) {
			quick = v == "" || v == "=1" || v == "=true"
		}
	}
	o := &options{s: defaultSettings(quick), progress: stderr}
	s := &o.s
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("quick", quick, "a smoke run: 50 connections, small rooms, short runs (BENCH_QUICK=1)")
	var parts, clusterEnv string
	var intErr error
	envInt := func(name string, def int) int {
		v := env(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			intErr = fmt.Errorf("%s must be a positive integer, not %q", name, v)
		}
		return n
	}
	envFloat := func(name string, def float64) float64 {
		v := env(name, "")
		if v == "" {
			return def
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || !(x > 1) || math.IsInf(x, 0) {
			intErr = fmt.Errorf("%s must be a number above 1 such as 1.15, not %q", name, v)
		}
		return x
	}
	steps := s.searchSteps
	if v := env("BENCH_SEARCH_STEPS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			intErr = fmt.Errorf("BENCH_SEARCH_STEPS must be 0 or more, not %q", v)
		}
		steps = n
	}
	envDur := func(name string, def time.Duration) time.Duration {
		v := env(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			intErr = fmt.Errorf("%s must be a positive duration such as 10m, not %q", name, v)
		}
		return d
	}
	fs.IntVar(&s.conns, "conns", envInt("BENCH_CONNS", s.conns), "idle connections and storm clients (BENCH_CONNS)")
	fs.IntVar(&s.accounts, "accounts", envInt("BENCH_ACCOUNTS", s.accounts), "distinct accounts of the accounts row (BENCH_ACCOUNTS)")
	fs.IntVar(&s.repeat, "repeat", envInt("BENCH_REPEAT", 1),
		"rounds of the connection rows (one account, 2,000 accounts, two nodes), each a run per server; a row shows its median (BENCH_REPEAT)")
	fs.StringVar(&parts, "parts", env("BENCH_PARTS", "product,library"), "tables to run: product, library or both, comma-separated (BENCH_PARTS)")
	fs.StringVar(&clusterEnv, "cluster", env("BENCH_CLUSTER", "1"), "run the two-node row, on PostgreSQL and Redis (BENCH_CLUSTER)")
	fs.DurationVar(&s.runTimeout, "timeout", envDur("BENCH_TIMEOUT", s.runTimeout), "the longest one chatbench run may take (BENCH_TIMEOUT)")
	fs.IntVar(&s.searchSteps, "search-steps", steps,
		fmt.Sprintf("the most runs of a fan-out's rate search, 0 or 1 for one run (at most %d with -quick) (BENCH_SEARCH_STEPS)", quickSearchSteps))
	fs.Float64Var(&s.searchFactor, "search-factor", envFloat("BENCH_SEARCH_FACTOR", s.searchFactor),
		"the factor between two rates of a fan-out's rate search (BENCH_SEARCH_FACTOR)")
	fs.StringVar(&s.pgURL, "pg", env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL of the two-node row (DATABASE_URL)")
	fs.StringVar(&s.redisURL, "redis", env("REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis of the two-node row when it does not start its own (REDIS_URL)")
	fs.StringVar(&s.redisServer, "redis-server", env("BENCH_REDIS_SERVER", "auto"),
		"the two-node row's Redis: auto (a redis-server of its own on the load's CPU when installed, else REDIS_URL), off (REDIS_URL), or the path of redis-server (BENCH_REDIS_SERVER)")
	fs.StringVar(&o.bin, "bin", env("BENCH_BIN", "bin"), "directory of the chatd, chatbench and benchserver binaries (BENCH_BIN)")
	fs.StringVar(&o.root, "root", ".", "the repository's top directory")
	fs.StringVar(&o.out, "out", env("BENCH_OUT", filepath.Join("bin", "bench-results.jsonl")), "results file of chatbench's JSON lines; the text goes to .log, the tables to .md (BENCH_OUT)")
	fs.StringVar(&o.from, "from", "", "print the tables of this results file and run nothing")
	fs.StringVar(&o.pin, "pin", env("BENCH_PIN", "auto"), `CPU pinning: auto, off, or "SERVER,LOAD" CPU numbers (BENCH_PIN)`)
	if intErr != nil {
		return nil, intErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if s.conns < 1 || s.accounts < 1 {
		return nil, errors.New("-conns and -accounts must be at least 1")
	}
	if s.searchSteps < 0 {
		return nil, errors.New("-search-steps must be 0 or more")
	}
	if s.repeat < 1 {
		return nil, errors.New("-repeat must be at least 1")
	}
	if !(s.searchFactor > 1) || math.IsInf(s.searchFactor, 0) {
		return nil, errors.New("-search-factor must be above 1")
	}
	if s.quick {
		s.searchSteps = min(s.searchSteps, quickSearchSteps)
	}
	s.product, s.library = false, false
	for p := range strings.SplitSeq(parts, ",") {
		switch strings.TrimSpace(p) {
		case "product":
			s.product = true
		case "library":
			s.library = true
		case "":
		default:
			return nil, fmt.Errorf("-parts: unknown table %q (product, library)", p)
		}
	}
	if !s.product && !s.library {
		return nil, errors.New("-parts names no table")
	}
	if s.cluster, err = strconv.ParseBool(clusterEnv); err != nil {
		return nil, fmt.Errorf("-cluster (BENCH_CLUSTER): %w", err)
	}
	return o, nil
}

// run is the whole program.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.from != "" {
		f, err := os.Open(o.from)
		if err != nil {
			return err
		}
		defer f.Close()
		res, err := parseResults(f)
		if err != nil {
			return fmt.Errorf("%s: %w", o.from, err)
		}
		printTables(stdout, res, o.s)
		return nil
	}
	r, err := newRunner(o)
	if err != nil {
		return err
	}
	defer r.close()
	return r.runAll(ctx, stdout)
}

// printTables writes the tables of the parts that have results.
func printTables(w io.Writer, res results, s settings) {
	for _, t := range []*table{productTable(res), libraryTable(res)} {
		if len(t.rows) > 0 {
			t.markdown(w)
		}
	}
}

// machine describes the CPUs of the machine.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
