package client

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
)

// refServer is a running Node reference server (e2e/goclient/refserver.js).
type refServer struct {
	URL  string
	Port string
	cmd  *exec.Cmd
	done chan struct{}
}

// e2eDir returns the e2e folder of the repository.
func e2eDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireNode skips the test when node or the e2e packages are missing,
// unless the CI environment variable is set, in which case it fails.
func requireNode(t *testing.T) {
	t.Helper()
	_, errNode := exec.LookPath("node")
	_, errMod := os.Stat(filepath.Join(e2eDir(t), "node_modules", "socket.io", "package.json"))
	if errNode == nil && errMod == nil {
		return
	}
	msg := fmt.Sprintf("Node reference server unavailable (node: %v; e2e/node_modules: %v); run npm ci in e2e", errNode, errMod)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startRef starts the reference server on port ("0" for a free one) with
// extra environment variables, and stops it when the test ends.
func startRef(t *testing.T, port string, env ...string) *refServer {
	t.Helper()
	requireNode(t)
	cmd := exec.Command("node", filepath.Join("goclient", "refserver.js"))
	cmd.Dir = e2eDir(t)
	cmd.Env = append(os.Environ(), append([]string{"PORT=" + port}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs := &refServer{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		if first {
			close(lines)
		}
		_ = cmd.Wait()
		close(rs.done)
	}()
	t.Cleanup(rs.stop)
	select {
	case line, ok := <-lines:
		const prefix = "listening on "
		if !ok || !strings.HasPrefix(line, prefix) {
			t.Fatalf("reference server: unexpected first line %q", line)
		}
		rs.URL = strings.TrimPrefix(line, prefix)
		rs.Port = rs.URL[strings.LastIndexByte(rs.URL, ':')+1:]
	case <-time.After(20 * time.Second):
		t.Fatal("reference server did not start")
	}
	return rs
}

// stop kills the server process (by its PID) and waits for it to exit.
func (rs *refServer) stop() {
	if rs.cmd.Process != nil {
		_ = rs.cmd.Process.Kill()
	}
	<-rs.done
}

// checkGoroutines fails the test if goroutines it started are still
// running once it is over (see internal/leakcheck).
func checkGoroutines(t *testing.T) { leakcheck.Check(t) }

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// ctxT returns a context that ends with the test or after 15s.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects a new Manager's socket and closes it at cleanup.
func dial(t *testing.T, url string, opts *Options) *Socket {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	o := *opts
	o.ForceNew = true
	s, err := Dial(ctxT(t), url, &o)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { s.Manager().Close() })
	return s
}

// transportModes are the three ways of running a connection.
var transportModes = []struct {
	name  string
	opts  Options
	final string
}{
	{"polling", Options{Transports: []string{TransportPolling}}, TransportPolling},
	{"websocket", Options{Transports: []string{TransportWebSocket}}, TransportWebSocket},
	{"upgrade", Options{}, TransportWebSocket},
}
