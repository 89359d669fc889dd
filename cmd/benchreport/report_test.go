//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
)

// requireNode skips the test (fails it under CI) without node and the
// Node servers' modules in e2e/node_modules.
func requireNode(t *testing.T) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Node servers cannot run under CI: %s", why)
		}
		t.Skipf("the Node servers cannot run: %s", why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("no node in PATH")
	}
	for _, m := range []string{"socket.io", "better-sqlite3"} {
		if _, err := os.Stat(filepath.Join("..", "..", "e2e", "node_modules", m, "package.json")); err != nil {
			missing(m + " is not installed in e2e/node_modules (make e2e-deps)")
		}
	}
}

// reachable reports whether something accepts TCP connections at addr.
func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// buildBinaries builds what benchreport runs into dir.
func buildBinaries(t *testing.T, dir string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "build", "-o", dir+string(filepath.Separator),
		"github.com/chatd/chatd/cmd/chatd", "github.com/chatd/chatd/cmd/chatbench", "github.com/chatd/chatd/cmd/benchserver")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// processesUnder lists the processes whose command line names dir.
func processesUnder(dir string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir)) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

// A quick bench report, end to end: every run of both tables (the
// two-node row when PostgreSQL and Redis answer) against servers it
// starts itself, 50 connections, the fan-out rows' rate searches of two
// runs, a results file with a JSON line per run from which -from prints
// the same tables, and no process left behind.
func TestQuickReport(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run of about half a minute")
	}
	requireNode(t)
	bin, out := t.TempDir(), t.TempDir()
	buildBinaries(t, bin)
	cluster := "1"
	if !reachable("127.0.0.1:5432") || !reachable("127.0.0.1:6379") {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL or Redis is not answering under CI")
		}
		cluster = "0"
	}
	t.Setenv("BENCH_CONNS", "") // the quick defaults, whatever the environment
	t.Setenv("BENCH_SEARCH_STEPS", "")
	t.Setenv("BENCH_SEARCH_FACTOR", "")
	before := runtime.NumGoroutine()
	var stdout, progress bytes.Buffer
	results := filepath.Join(out, "r.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, []string{"-quick", "-bin", bin, "-root", filepath.Join("..", ".."), "-out", results, "-cluster", cluster}, &stdout, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if left := processesUnder(bin); len(left) > 0 {
		t.Errorf("processes left running: %q", left)
	}
	if cluster == "1" {
		// The two-node row's Redis is its own when redis-server is
		// installed, and stopped with the row.
		if m := regexp.MustCompile(`Redis \(PID (\d+)\) on 127\.0\.0\.1:\d+`).FindStringSubmatch(progress.String()); m != nil {
			if _, err := os.Stat("/proc/" + m[1]); err == nil {
				t.Errorf("the two-node row's Redis (PID %s) is still running", m[1])
			}
		} else if _, err := exec.LookPath("redis-server"); err == nil {
			t.Errorf("redis-server is installed but the two-node row did not start its own:\n%s", progress.String())
		}
	}
	leakcheck.After(t, before)

	f, err := os.Open(results)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parseResults(f)
	if err != nil {
		t.Fatal(err)
	}
	s := defaultSettings(true)
	s.cluster = cluster == "1"
	lines := 0
	for _, br := range s.runs() {
		runs := res[br.label]
		lines += len(runs)
		for i, r := range runs {
			if !r.OK() || (r.Mode == "idle" && r.Opened != r.N) || (r.Mode == "storm" && r.Back != r.N) || (r.Mode == "fanout" && !nothingLost(r)) {
				t.Errorf("%s: %+v", r.Label, r)
			}
			if br.rate > 0 && r.Label != stepLabel(br.label, i+1) {
				t.Errorf("run %d of the search %s is labelled %q", i+1, br.label, r.Label)
			}
		}
		switch {
		case len(runs) == 0:
			t.Errorf("%s did not run", br.label)
		case br.rate > 0 && (len(runs) > quickSearchSteps || runs[0].Rate != br.rate):
			t.Errorf("the search %s: %d runs, the first at %g msg/s (want at most %d, from %g)",
				br.label, len(runs), runs[0].Rate, quickSearchSteps, br.rate)
		case br.rate == 0 && len(runs) != 1:
			t.Errorf("%s: %d runs", br.label, len(runs))
		}
	}
	if len(res) != len(s.runs()) {
		t.Errorf("%d labels for %d runs", len(res), len(s.runs()))
	}
	if raw, err := os.ReadFile(results); err != nil || strings.Count(string(raw), "\n") != lines {
		t.Errorf("%d lines in the results file for %d runs (%v)", strings.Count(string(raw), "\n"), lines, err)
	}
	table := stdout.String()
	for _, want := range []string{"### chatd against the Node chat server", "### the socketio library",
		"| memory per idle connection, 50 connections", "| reconnect storm: 50 clients", "mode quick"} {
		if !strings.Contains(table, want) {
			t.Errorf("no %q in the tables:\n%s", want, table)
		}
	}
	if md, err := os.ReadFile(filepath.Join(out, "r.md")); err != nil || string(md) != table {
		t.Errorf("r.md differs from the tables printed (%v)", err)
	}
	if lg, err := os.ReadFile(filepath.Join(out, "r.log")); err != nil || !strings.Contains(string(lg), "==> chat-idle-chatd") {
		t.Errorf("r.log lacks the runs (%v)", err)
	}
	var replay bytes.Buffer
	if err := run(ctx, []string{"-from", results}, &replay, &progress); err != nil || replay.Len() == 0 || !strings.HasSuffix(table, replay.String()) {
		t.Errorf("-from (%v) printed\n%s\nnot the end of the tables printed", err, replay.String())
	}
	t.Log("\n" + table)
}

func TestParseOptions(t *testing.T) {
	t.Setenv("BENCH_QUICK", "")
	t.Setenv("BENCH_CONNS", "")
	o, err := parseOptions(nil, os.Stderr)
	if err != nil || o.s.conns != 10000 || o.s.quick || !o.s.product || !o.s.library || !o.s.cluster {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	t.Setenv("BENCH_QUICK", "1")
	t.Setenv("BENCH_PARTS", "library")
	t.Setenv("BENCH_CLUSTER", "0")
	if o, err = parseOptions(nil, os.Stderr); err != nil || o.s.conns != 50 || !o.s.quick || o.s.product || !o.s.library || o.s.cluster {
		t.Fatalf("quick: %+v, %v", o, err)
	}
	t.Setenv("BENCH_CONNS", "200")
	if o, err = parseOptions([]string{"-conns", "300"}, os.Stderr); err != nil || o.s.conns != 300 {
		t.Fatalf("-conns over BENCH_CONNS: %+v, %v", o, err)
	}
	if o, err = parseOptions(nil, os.Stderr); err != nil || o.s.conns != 200 {
		t.Fatalf("BENCH_CONNS: %+v, %v", o, err)
	}
	for _, bad := range []map[string]string{{"BENCH_CONNS": "x"}, {"BENCH_CONNS": "0"}, {"BENCH_PARTS": "nope"},
		{"BENCH_CLUSTER": "maybe"}, {"BENCH_TIMEOUT": "soon"}, {"BENCH_SEARCH_STEPS": "-1"}, {"BENCH_SEARCH_STEPS": "many"},
		{"BENCH_SEARCH_FACTOR": "1"}, {"BENCH_SEARCH_FACTOR": "0.9"}, {"BENCH_SEARCH_FACTOR": "x"}} {
		for k, v := range bad {
			t.Setenv(k, v)
		}
		if _, err := parseOptions(nil, os.Stderr); err == nil {
			t.Errorf("%v: no error", bad)
		}
		for _, k := range []string{"BENCH_CONNS", "BENCH_PARTS", "BENCH_CLUSTER", "BENCH_TIMEOUT", "BENCH_SEARCH_STEPS", "BENCH_SEARCH_FACTOR"} {
			t.Setenv(k, "")
		}
	}
	if _, err := parseOptions([]string{"-search-factor", "1"}, os.Stderr); err == nil {
		t.Error("-search-factor 1: no error")
	}
}

func TestParseOptionsSearch(t *testing.T) {
	t.Setenv("BENCH_QUICK", "")
	t.Setenv("BENCH_SEARCH_STEPS", "")
	t.Setenv("BENCH_SEARCH_FACTOR", "")
	o, err := parseOptions(nil, os.Stderr)
	if err != nil || o.s.searchSteps != 8 || o.s.searchFactor != 1.15 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	if o, err = parseOptions([]string{"-quick"}, os.Stderr); err != nil || o.s.searchSteps != quickSearchSteps {
		t.Fatalf("quick: %+v, %v", o, err)
	}
	t.Setenv("BENCH_SEARCH_STEPS", "0")
	t.Setenv("BENCH_SEARCH_FACTOR", "1.3")
	if o, err = parseOptions(nil, os.Stderr); err != nil || o.s.searchSteps != 0 || o.s.searchFactor != 1.3 {
		t.Fatalf("BENCH_SEARCH_STEPS=0, BENCH_SEARCH_FACTOR=1.3: %+v, %v", o, err)
	}
	t.Setenv("BENCH_SEARCH_STEPS", "5")
	if o, err = parseOptions([]string{"-quick"}, os.Stderr); err != nil || o.s.searchSteps != quickSearchSteps {
		t.Fatalf("quick with 5 steps: %+v, %v", o, err)
	}
	if o, err = parseOptions([]string{"-search-steps", "3"}, os.Stderr); err != nil || o.s.searchSteps != 3 {
		t.Fatalf("-search-steps 3 over BENCH_SEARCH_STEPS: %+v, %v", o, err)
	}
}

func TestRaiseNofile(t *testing.T) {
	if _, err := raiseNofile(1<<62, 1<<62-2048); err == nil || !strings.Contains(err.Error(), "hard limit") {
		t.Errorf("an impossible limit: err = %v", err)
	}
	got, err := raiseNofile(fdsNeeded(50), 50)
	if err != nil {
		t.Skipf("hard limit below 20,000 here: %v", err)
	}
	if got < fdsNeeded(50) {
		t.Errorf("soft limit set to %d", got)
	}
}
