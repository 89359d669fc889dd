// Package nodepeer drives, in tests, a Node.js process that runs a
// reference Socket.IO server and clients on one of the reference cluster
// adapters (the peers of e2e/redis and e2e/postgres).
//
// A peer prints "listening on URL" once its server listens, then one JSON
// object per line: the answers to the commands it reads from its input
// (one JSON object per line, with an "id" that the answer repeats, and an
// "error" member when the command failed) and reports such as the events
// its clients receive. It shuts down when its input ends.
//
// The package is for tests only.
package nodepeer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
)

// Need skips the test unless node is installed and the npm packages
// modules resolve from the folder dir; pins, as "name version, ...",
// tells in the message which versions e2e/package.json gives.
func Need(t *testing.T, dir string, modules []string, pins string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	var js strings.Builder
	for _, m := range modules {
		js.WriteString("require.resolve(" + strconv.Quote(m) + ");")
	}
	cmd := exec.Command("node", "-e", js.String())
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("the Node.js node needs the npm packages %s (with e2e/package.json: %s): %s",
			strings.Join(modules, ", "), pins, firstLine(out))
	}
}

// firstLine returns the line of node's output that names the missing
// module, or its first line.
func firstLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		if strings.Contains(l, "Cannot find module") {
			return strings.TrimSpace(l)
		}
	}
	return lines[0]
}

// Line is an output line of a peer.
type Line = map[string]json.RawMessage

// Proc is a running peer.
type Proc struct {
	// URL is the address of the peer's Socket.IO server.
	URL string

	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *LockedBuffer

	mu     sync.Mutex
	lines  []Line
	nextID int
}

// Start starts node on script in the folder dir, with env added to the
// environment, and waits until it listens. The peer is stopped (its input
// closed, killed after ten seconds) when the test ends; its standard error
// is logged if the test failed.
func Start(t *testing.T, dir, script string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command("node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{t: t, cmd: cmd, stdin: stdin, stderr: &LockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "listening on "); ok {
				listening <- rest
				continue
			}
			var m Line
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			p.mu.Lock()
			p.lines = append(p.lines, m)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the node shuts down when its input ends
		exited := make(chan error, 1)
		go func() { <-readDone; exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("node stderr:\n%s", p.stderr.String())
		}
	})
	select {
	case p.URL = <-listening:
	case <-time.After(20 * time.Second):
		t.Fatalf("node did not start; stderr:\n%s", p.stderr.String())
	}
	return p
}

// Call sends a command and returns its answer; an answer with an error
// fails the test.
func (p *Proc) Call(cmd map[string]any) Line {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	cmd["id"] = id
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatal(err)
	}
	want := strconv.Itoa(id)
	var answer Line
	p.Poll("answer to "+string(b), func(m Line) bool {
		if string(m["id"]) == want {
			answer = m
			return true
		}
		return false
	})
	if e, ok := answer["error"]; ok {
		p.t.Fatalf("node: %s: %s", b, e)
	}
	return answer
}

// Poll waits (ten seconds at most) for an output line satisfying match.
func (p *Proc) Poll(what string, match func(Line) bool) {
	p.t.Helper()
	testutil.Eventually(p.t, 10*time.Second, "node: "+what, func() bool { return p.Find(match) })
}

// Find reports whether an output line so far satisfies match.
func (p *Proc) Find(match func(Line) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.lines, match)
}

// EventOf matches the report of event received by client, and stores its
// arguments in args unless it is nil.
func EventOf(client, event string, args *json.RawMessage) func(Line) bool {
	return func(m Line) bool {
		if string(m["type"]) != `"event"` || string(m["client"]) != strconv.Quote(client) || string(m["event"]) != strconv.Quote(event) {
			return false
		}
		if args != nil {
			*args = m["args"]
		}
		return true
	}
}

// EventArg matches the report of event received by client with first
// argument the string arg.
func EventArg(client, event, arg string) func(Line) bool {
	return func(m Line) bool {
		var args []json.RawMessage
		if !EventOf(client, event, nil)(m) || json.Unmarshal(m["args"], &args) != nil || len(args) == 0 {
			return false
		}
		return string(args[0]) == strconv.Quote(arg)
	}
}

// ArgsOf returns the first arguments, when they are strings, of the events
// named event that client received so far, in order.
func (p *Proc) ArgsOf(client, event string) []string {
	var out []string
	p.Find(func(m Line) bool {
		var args []string
		if EventOf(client, event, nil)(m) && json.Unmarshal(m["args"], &args) == nil && len(args) > 0 {
			out = append(out, args[0])
		}
		return false
	})
	return out
}

// Str decodes a JSON string, failing the test when raw is none.
func Str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return s
}

// LockedBuffer is a bytes.Buffer safe for concurrent use.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
