package pgadapter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
)

// nodeDir is the folder of the Node.js helper scripts.
var nodeDir = filepath.Join("..", "..", "e2e", "postgres")

// nodeModules are the npm packages the Node.js node needs.
var nodeModules = []string{"@socket.io/postgres-adapter", "pg", "socket.io", "socket.io-client"}

// needNode skips the test unless node and the npm packages of the Node.js
// node can be found.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	var js strings.Builder
	for _, m := range nodeModules {
		js.WriteString("require.resolve(" + strconv.Quote(m) + ");")
	}
	cmd := exec.Command("node", "-e", js.String())
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("the Node.js node needs the npm packages %s (with e2e/package.json: @socket.io/postgres-adapter 0.5.0, pg 8.13.1): %s",
			strings.Join(nodeModules, ", "), firstLine(out))
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

// nodeProc is a running e2e/postgres/postgres-node.js.
type nodeProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	URL    string
	stderr *lockedBuffer

	mu     sync.Mutex
	lines  []map[string]json.RawMessage
	nextID int
}

// startNode starts the Node.js node on the test database with the table
// and channel prefix name, and waits until it listens.
func startNode(t *testing.T, name string) *nodeProc {
	t.Helper()
	cmd := exec.Command("node", "postgres-node.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "PG_URL="+testDSN(), "NAME="+name, "HEARTBEAT_MS=500")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{t: t, cmd: cmd, stdin: stdin, stderr: &lockedBuffer{}}
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
			var m map[string]json.RawMessage
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

// call sends a command and returns its answer.
func (p *nodeProc) call(cmd map[string]any) map[string]json.RawMessage {
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
	var answer map[string]json.RawMessage
	p.poll("answer to "+string(b), func(m map[string]json.RawMessage) bool {
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

// poll waits for an output line satisfying match.
func (p *nodeProc) poll(what string, match func(map[string]json.RawMessage) bool) {
	p.t.Helper()
	testutil.Eventually(p.t, 10*time.Second, "node: "+what, func() bool { return p.find(match) })
}

func (p *nodeProc) find(match func(map[string]json.RawMessage) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.lines, match)
}

// eventOf matches the report of event received by client.
func eventOf(client, event string, args *json.RawMessage) func(map[string]json.RawMessage) bool {
	return func(m map[string]json.RawMessage) bool {
		if string(m["type"]) != `"event"` || string(m["client"]) != strconv.Quote(client) || string(m["event"]) != strconv.Quote(event) {
			return false
		}
		if args != nil {
			*args = m["args"]
		}
		return true
	}
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return s
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
