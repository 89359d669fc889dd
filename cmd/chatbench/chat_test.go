package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// chatdBuild is cmd/chatd built once for the tests that need it.
var chatdBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// buildChatd builds cmd/chatd (once per test binary) and returns the
// binary's path.
func buildChatd(t *testing.T) string {
	t.Helper()
	b := &chatdBuild
	b.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if b.dir, b.err = os.MkdirTemp("", "chatbench-test"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "chatd")
		b.out, b.err = exec.Command(goTool, "build", "-o", b.bin, "github.com/chatd/chatd/cmd/chatd").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build cmd/chatd: %v\n%s", b.err, b.out)
	}
	return b.bin
}

// removeChatdBuild removes the binary of buildChatd.
func removeChatdBuild() {
	if chatdBuild.dir != "" {
		_ = os.RemoveAll(chatdBuild.dir)
	}
}

// nodeChatCmd returns the server command of nodechat.js on a database in
// dir, or skips the test (fails it when CI is set) without node or
// e2e/node_modules with socket.io and better-sqlite3.
func nodeChatCmd(t *testing.T, dir string) string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("nodechat.js cannot run under CI: %s", why)
		}
		t.Skipf("nodechat.js cannot run: %s", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node in PATH")
	}
	modules, err := filepath.Abs(filepath.Join("..", "..", "e2e", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"socket.io", "better-sqlite3"} {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			missing(pkg + " is not installed in e2e/node_modules (make e2e-deps)")
		}
	}
	script, err := filepath.Abs("nodechat.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{node, modules, script, dir} {
		if strings.ContainsAny(p, " \t") {
			t.Skipf("path %q has white space, which -server-cmd cannot carry", p)
		}
	}
	return "env NODE_PATH=" + modules + " " + node + " " + script + " 0 " + filepath.Join(dir, "nodechat.db")
}

// runChat starts the server with command, runs chatbench with args
// against it and returns the result.
func runChat(t *testing.T, command string, args ...string) result {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-proto", "chat", "-server-cmd", command}, args...), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	tg := &target{cmd: command, stderr: &stderr}
	if err := tg.start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := execute(ctx, cfg, tg)
	tg.stop()
	var out bytes.Buffer
	if r != nil {
		r.print(&out)
	}
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("%v\nserver output:\n%s", err, stderr.String())
	}
	return r
}

// testChatServer runs the chat modes, small, against a server command.
func testChatServer(t *testing.T, command func(t *testing.T) string) {
	t.Run("idle", func(t *testing.T) {
		before := runtime.NumGoroutine()
		t.Run("run", func(t *testing.T) {
			r := runChat(t, command(t), "-mode", "idle", "-n", "20", "-accounts", "2", "-hold", "0s").(*idleResult)
			if r.opened != 20 || r.connectTime <= 0 || !r.haveProc || r.rss <= 0 {
				t.Errorf("result %+v", r)
			}
		})
		checkGoroutines(t, before)
	})
	t.Run("fanout", func(t *testing.T) {
		before := runtime.NumGoroutine()
		t.Run("run", func(t *testing.T) {
			r := runChat(t, command(t), "-mode", "fanout", "-n", "20", "-senders", "2", "-polling", "3",
				"-accounts", "2", "-rate", "40", "-warmup", "200ms", "-duration", "1s").(*fanoutResult)
			// 40 messages/s for 1.2s.
			if r.sent < 40 || r.sent > 50 || r.sendErrors != 0 {
				t.Errorf("sent %d messages, %d errors; want 48", r.sent, r.sendErrors)
			}
			if r.acked != r.sent || r.ackErrors != 0 {
				t.Errorf("%d of %d messages acked, %d acked with an error", r.acked, r.sent, r.ackErrors)
			}
			// Every member, senders and long-polling members included,
			// sees every message.
			if r.expected != r.sent*20 || r.delivered != r.expected {
				t.Errorf("expected %d deliveries (sent %d), saw %d", r.expected, r.sent, r.delivered)
			}
			if r.measured == 0 || r.measured >= r.delivered || r.hist.Count() != uint64(r.measured) {
				t.Errorf("%d measured deliveries, %d recorded latencies, %d in all", r.measured, r.hist.Count(), r.delivered)
			}
			if p := r.hist.Percentile(0.5); p <= 0 || r.hist.Max() > 5*time.Second {
				t.Errorf("median %v, max %v", p, r.hist.Max())
			}
			if r.serverCPUTime <= 0 {
				t.Errorf("server CPU time %v", r.serverCPUTime)
			}
		})
		checkGoroutines(t, before)
	})
	t.Run("storm", func(t *testing.T) {
		before := runtime.NumGoroutine()
		t.Run("run", func(t *testing.T) {
			r := runChat(t, command(t), "-mode", "storm", "-n", "10", "-accounts", "2", "-retry-delay", "20ms").(*stormResult)
			if r.back != 10 || len(r.times) != 10 || r.attempts < 10 {
				t.Errorf("%d of 10 back (%d times) after %d attempts", r.back, len(r.times), r.attempts)
			}
			if r.total > 10*time.Second || r.total != r.times[len(r.times)-1] {
				t.Errorf("all back after %v (times %v)", r.total, r.times)
			}
		})
		checkGoroutines(t, before)
	})
}

// The chat modes against cmd/chatd (built here), each run on a new
// database.
func TestChatChatd(t *testing.T) {
	bin := buildChatd(t)
	testChatServer(t, func(t *testing.T) string {
		dir := t.TempDir()
		if strings.ContainsAny(bin+dir, " \t") {
			t.Skip("temporary paths with white space cannot go into -server-cmd")
		}
		return bin + " -addr 127.0.0.1:0 -db " + filepath.Join(dir, "chatd.db") + " -msg-rate 0 -log-level warn"
	})
}

// The chat modes against nodechat.js.
func TestChatNode(t *testing.T) {
	nodeChatCmd(t, t.TempDir()) // skips early without node
	testChatServer(t, func(t *testing.T) string { return nodeChatCmd(t, t.TempDir()) })
}

// Accounts that exist already are logged in; a wrong password fails with
// both statuses in the error.
func TestChatAccountsLogin(t *testing.T) {
	bin := buildChatd(t)
	dir := t.TempDir()
	tg := &target{cmd: bin + " -addr 127.0.0.1:0 -db " + filepath.Join(dir, "chatd.db") + " -log-level warn", stderr: io.Discard}
	if err := tg.start(); err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	ctx := context.Background()
	first, err := setupAccounts(ctx, tg.url, "acct", 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := setupAccounts(ctx, tg.url, "acct", 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if !strings.HasPrefix(first[i], "chatd_session=") || first[i] == again[i] {
			t.Errorf("account %d: cookies %q then %q; want two sessions", i, first[i], again[i])
		}
	}
	if _, err := setupAccounts(ctx, tg.url, "a", 1, 1); err == nil || !strings.Contains(err.Error(), "/signup: 4") || !strings.Contains(err.Error(), "/login: 4") {
		t.Errorf("an invalid name: err = %v", err)
	}
}

func TestChatMessage(t *testing.T) {
	m := chatMessage(123456789*time.Nanosecond, 7, 5)
	if string(m) != "123456789 7 xxxxx" {
		t.Fatalf("chatMessage = %q", m)
	}
	if d, ok := chatSendTime(m); !ok || d != 123456789 {
		t.Fatalf("chatSendTime = %v, %v", d, ok)
	}
	for _, bad := range []string{"", "x", "12", "12x", " 12"} {
		if _, ok := chatSendTime([]byte(bad)); ok {
			t.Errorf("chatSendTime(%q) ok", bad)
		}
	}
}

func TestChatFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-proto", "chat", "-url", "http://127.0.0.1:1", "-n", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.room != "chat" || cfg.senders != 5 || cfg.nsp != "/user" {
		t.Errorf("chat defaults: room %q, senders %d, nsp %q", cfg.room, cfg.senders, cfg.nsp)
	}
	for _, args := range [][]string{
		{"-mode", "storm", "-url", "http://127.0.0.1:1"},
		{"-proto", "chat", "-mode", "storm", "-url", "http://127.0.0.1:1"},
		{"-polling", "1", "-url", "http://127.0.0.1:1"},
		{"-proto", "chat", "-n", "10", "-polling", "5", "-senders", "6", "-url", "http://127.0.0.1:1"},
		{"-proto", "chat", "-client", "go", "-url", "http://127.0.0.1:1"},
		{"-proto", "chat", "-size", "1901", "-url", "http://127.0.0.1:1"},
		{"-proto", "nope", "-url", "http://127.0.0.1:1"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
