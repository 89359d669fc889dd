package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// serverEnv makes the test binary run as a benchmark server (for
// -server-cmd) instead of running the tests.
const serverEnv = "CHATBENCH_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		serveForever()
		return
	}
	code := m.Run()
	removeChatdBuild()
	os.Exit(code)
}

// serveForever runs the benchmark events on a loopback port until SIGTERM.
func serveForever() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	io := newTestServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: io}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	<-ctx.Done()
	_ = io.Close(context.Background())
	_ = srv.Close()
}

// newTestServer is a Socket.IO server with the events of cmd/benchserver.
func newTestServer() *socketio.Server { return newTestServerOpts(nil) }

// newTestServerOpts is newTestServer with options.
func newTestServerOpts(opts *socketio.Options) *socketio.Server {
	io := socketio.NewServer(opts)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack socketio.Ack) {
			s.Join(room)
			_ = ack(len(s.Rooms()))
		})
		s.On("to-room", func(args socketio.Args) {
			var room string
			if args.Decode(0, &room) == nil {
				_ = s.To(room).Emit("room-msg", args.Forward()[1:]...)
			}
		})
	})
	return io
}

// startTestServer serves newTestServer on a loopback port until the test
// ends.
func startTestServer(t *testing.T) (*socketio.Server, string) {
	t.Helper()
	return startTestServerOpts(t, nil)
}

// startTestServerOpts is startTestServer with options.
func startTestServerOpts(t *testing.T, opts *socketio.Options) (*socketio.Server, string) {
	t.Helper()
	io := newTestServerOpts(opts)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, `{"runtime":"go","heapBytes":%d,"stackBytes":%d,"sockets":%d}`,
			ms.HeapInuse, ms.StackInuse, io.Sockets().SocketCount())
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		hs.Close()
	})
	return io, hs.URL
}

// checkGoroutines fails the test if the goroutine count does not come back
// down to before (see internal/leakcheck).
func checkGoroutines(t *testing.T, before int) { leakcheck.After(t, before) }

func TestFanoutSmoke(t *testing.T) {
	for _, kind := range []string{"raw", "go"} {
		t.Run(kind, func(t *testing.T) {
			before := runtime.NumGoroutine()
			t.Run("run", func(t *testing.T) {
				_, url := startTestServer(t)
				cfg, err := parseFlags([]string{"-url", url, "-client", kind, "-n", "20", "-senders", "2",
					"-rate", "40", "-warmup", "200ms", "-duration", "1s", "-size", "200"}, os.Stderr)
				if err != nil {
					t.Fatal(err)
				}
				r, err := runFanout(context.Background(), cfg, &target{url: url, pid: selfPID})
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				r.print(&out)
				t.Log("\n" + out.String())
				// 40 messages/s for 1.2s.
				if r.sent < 40 || r.sent > 50 || r.sendErrors != 0 {
					t.Errorf("sent %d messages, %d errors; want 48", r.sent, r.sendErrors)
				}
				if r.expected != r.sent*20 || r.delivered != r.expected {
					t.Errorf("expected %d deliveries (sent %d), saw %d", r.expected, r.sent, r.delivered)
				}
				if r.measured == 0 || r.measured >= r.delivered || r.hist.Count() != uint64(r.measured) {
					t.Errorf("%d measured deliveries, %d recorded latencies, %d in all", r.measured, r.hist.Count(), r.delivered)
				}
				if p := r.hist.Percentile(0.5); p <= 0 || p > r.hist.Max() || r.hist.Max() > 5*time.Second {
					t.Errorf("median %v, max %v", p, r.hist.Max())
				}
				if r.serverCPU <= 0 || r.serverRSS <= 0 {
					t.Errorf("server CPU %v, RSS %d", r.serverCPU, r.serverRSS)
				}
				if !strings.Contains(out.String(), " 0 lost") {
					t.Errorf("report does not say nothing was lost:\n%s", out.String())
				}
			})
			checkGoroutines(t, before)
		})
	}
}

func TestIdleSmoke(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("run", func(t *testing.T) {
		_, url := startTestServer(t)
		cfg, err := parseFlags([]string{"-mode", "idle", "-url", url, "-n", "30", "-hold", "0s", "-concurrency", "7"}, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		r, err := runIdle(context.Background(), cfg, &target{url: url, pid: selfPID})
		if err != nil {
			t.Fatal(err)
		}
		if r.opened != 30 {
			t.Fatalf("%d connections opened, want 30", r.opened)
		}
		// The server's count while the connections were open.
		if !r.haveStats || r.stats.Sockets != 30 || r.baseStats.Sockets != 0 {
			t.Errorf("server stats %+v before, %+v idle; want 0 and 30 sockets", r.baseStats, r.stats)
		}
		if r.connectTime <= 0 || !r.haveProc || r.rss <= 0 {
			t.Errorf("result %+v", r)
		}
		var out bytes.Buffer
		r.print(&out)
		t.Log("\n" + out.String())
		if !strings.Contains(out.String(), "30 of 30 connections open") || !strings.Contains(out.String(), "heap after a GC") {
			t.Errorf("report:\n%s", out.String())
		}
	})
	checkGoroutines(t, before)
}

// Idle raw connections answer the server's pings and stay connected.
func TestIdlePings(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("run", func(t *testing.T) {
		_, url := startTestServerOpts(t, &socketio.Options{Engine: engine.Options{
			PingInterval: 50 * time.Millisecond,
			PingTimeout:  100 * time.Millisecond,
		}})
		cfg, err := parseFlags([]string{"-mode", "idle", "-url", url, "-n", "10", "-hold", "600ms"}, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		r, err := runIdle(context.Background(), cfg, &target{url: url})
		if err != nil {
			t.Fatal(err)
		}
		// Four ping periods and more have passed.
		if !r.haveStats || r.stats.Sockets != 10 {
			t.Fatalf("%d sockets connected after the hold, want 10", r.stats.Sockets)
		}
	})
	checkGoroutines(t, before)
}

func TestServerCmd(t *testing.T) {
	t.Setenv(serverEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"-mode", "fanout", "-server-cmd", exe, "-n", "5",
		"-rate", "20", "-warmup", "0s", "-duration", "500ms"}, &out, &errOut)
	t.Log("\n" + out.String() + errOut.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "deliveries: 50 expected, 50 seen, 0 lost") {
		t.Errorf("report:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "server CPU") {
		t.Errorf("no server CPU in the report:\n%s", out.String())
	}
}

func TestServerCmdFails(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-server-cmd", "false"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") {
		t.Fatalf("err = %v", err)
	}
}
