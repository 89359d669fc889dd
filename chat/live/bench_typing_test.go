package live_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const (
	typingMembers = 1000 // members of the room, each a user of their own
	typingSenders = 10   // of them, the ones posting the messages
	// typingEvery is how often each other member sends typing: true
	// while the typing phase runs, by default: a member typing without
	// pause on the chat page, which repeats typing: true every 2 s
	// (web/static/app.js, TYPING_REPEAT). typingEveryEnv changes it
	// (a Go duration), e.g. to 500ms for clients that repeat at every few
	// keystrokes.
	typingEvery    = 2 * time.Second
	typingEveryEnv = "CHATD_TYPING_EVERY"
	// typingClientsEnv names the server and the cookie file to the
	// client process of BenchmarkTypingFanout.
	typingClientsEnv = "CHATD_TYPING_CLIENTS"
)

// cpuTime is the CPU time (user and system) of this process so far, its
// children not included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTypingFanout measures the server's CPU time per delivered chat
// message in a room of 1,000 members on WebSocket, first while nobody
// types, then while every member that is not posting sends typing: true
// every 2 s (typingEvery; CHATD_TYPING_EVERY sets another interval), which
// the server forwards, volatile, at most once per user per 2 s and for at
// most 5 typists of the room at a time (live.Options.MaxTypists), to the
// 999 others. The clients run in a process of their own (this
// test binary again, TestTypingFanoutClients), so the CPU time measured
// is the server's alone. b.N messages are posted in each phase by 10 of
// the members, one after the other, each waiting for its ack; a phase
// ends once every member has every message. typing-overhead is the ratio
// of the two, the figure docs/performance.md gives. Run it once, e.g.
//
//	go test -run '^$' -bench TypingFanout -benchtime 1000x -count 1 ./chat/live/
func BenchmarkTypingFanout(b *testing.B) {
	e := newBenchEnv(b, typingMembers)
	hs := httptest.NewServer(e.io)
	defer hs.Close()
	cookies := filepath.Join(b.TempDir(), "cookies")
	if err := os.WriteFile(cookies, []byte(strings.Join(e.cookies, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTypingFanoutClients$")
	cmd.Env = append(os.Environ(), typingClientsEnv+"="+hs.URL+" "+cookies)
	cmd.Stderr = os.Stderr
	toClients, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = toClients.Close() // the clients exit at the end of their input
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(out)
	// next returns the next line of the clients that starts with "chatd:"
	// (the test framework prints lines of its own).
	next := func() []string {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), "chatd: "); ok {
				return strings.Fields(rest)
			}
		}
		b.Fatalf("the clients stopped: %v", lines.Err())
		return nil
	}
	if got := next(); len(got) != 1 || got[0] != "ready" {
		b.Fatalf("clients: %q, want ready", got)
	}
	b.ResetTimer()

	// phase runs one phase in the clients and returns the server's CPU
	// time per delivery and the userTyping deliveries.
	phase := func(name string) (float64, int64) {
		start := cpuTime()
		fmt.Fprintf(toClients, "%s %d\n", name, b.N)
		got := next()
		cpu := cpuTime() - start
		if len(got) != 2 || got[0] != "done" {
			b.Fatalf("clients after %s: %q", name, got)
		}
		typed, _ := strconv.ParseInt(got[1], 10, 64)
		return float64(cpu) / float64(b.N*typingMembers), typed
	}
	quiet, _ := phase("quiet")
	typing, typed := phase("typing")
	b.StopTimer()

	b.ReportMetric(quiet, "cpu-ns/delivery-quiet")
	b.ReportMetric(typing, "cpu-ns/delivery-typing")
	b.ReportMetric(typing/quiet, "typing-overhead")
	b.ReportMetric(float64(typed)/float64(b.N), "userTyping/message")
}

// wsMember is one member's WebSocket, read by a goroutine that counts the
// comPeRoom and userTyping events and passes the acks on.
type wsMember struct {
	ws       *websocket.Conn
	wmu      sync.Mutex // one writer at a time
	messages atomic.Int64
	typings  atomic.Int64
	acks     chan struct{}
}

func (m *wsMember) send(tb testing.TB, text string) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if err := m.ws.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		tb.Error(err)
	}
}

var (
	comPeRoomPrefix  = []byte(`42/user,["comPeRoom"`)
	userTypingPrefix = []byte(`42/user,["userTyping"`)
	ackPrefix        = []byte(`43/user,`)
)

func (m *wsMember) read() {
	for {
		_, b, err := m.ws.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(b, comPeRoomPrefix):
			m.messages.Add(1)
		case bytes.HasPrefix(b, userTypingPrefix):
			m.typings.Add(1)
		case bytes.HasPrefix(b, ackPrefix):
			select {
			case m.acks <- struct{}{}:
			default:
			}
		}
	}
}

// TestTypingFanoutClients is the client process of BenchmarkTypingFanout:
// it does nothing unless started by it. It connects the members, joins
// them to the room, says "chatd: ready", then runs the phases read from
// its input ("quiet N", "typing N"), answering "chatd: done T" (T: the
// userTyping events delivered meanwhile) after each.
func TestTypingFanoutClients(t *testing.T) {
	env := os.Getenv(typingClientsEnv)
	if env == "" {
		t.Skip("the client process of BenchmarkTypingFanout")
	}
	url, cookieFile, _ := strings.Cut(env, " ")
	raw, err := os.ReadFile(cookieFile)
	if err != nil {
		t.Fatal(err)
	}
	cookies := strings.Split(string(raw), "\n")
	members := make([]*wsMember, len(cookies))
	var readers sync.WaitGroup
	defer func() {
		for _, m := range members {
			if m != nil {
				_ = m.ws.Close()
			}
		}
		readers.Wait()
	}()
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	for i := range members {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Cookie": {cookies[i]}})
		if err != nil {
			t.Fatal(err)
		}
		m := &wsMember{ws: ws, acks: make(chan struct{}, 1)}
		members[i] = m
		if _, _, err := ws.ReadMessage(); err != nil { // open
			t.Fatal(err)
		}
		m.send(t, "40/user,")
		for { // up to the connect and nsRoomLoad
			_, p, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(p, []byte(`42/user,["nsRoomLoad"`)) {
				break
			}
		}
		readers.Go(m.read)
		m.send(t, `42/user,1["joinRoom","chat"]`)
		<-m.acks
	}
	fmt.Println("chatd: ready")

	total := func(count func(*wsMember) int64) int64 {
		var n int64
		for _, m := range members {
			n += count(m)
		}
		return n
	}
	messages := func(m *wsMember) int64 { return m.messages.Load() }
	typings := func(m *wsMember) int64 { return m.typings.Load() }
	id := 1
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var name string
		var n int
		if _, err := fmt.Sscan(in.Text(), &name, &n); err != nil {
			t.Fatalf("command %q: %v", in.Text(), err)
		}
		stop := make(chan struct{})
		var typists sync.WaitGroup
		if name == "typing" {
			typists.Go(func() {
				// Every member but the senders, round robin:
				// len(members)-typingSenders events per typingEvery,
				// sent in ticks of 5 ms.
				const tick = 5 * time.Millisecond
				every := typingEvery
				if v := os.Getenv(typingEveryEnv); v != "" {
					d, err := time.ParseDuration(v)
					if err != nil || d <= 0 {
						t.Errorf("%s=%q: want a positive duration", typingEveryEnv, v)
						return
					}
					every = d
				}
				others := len(members) - typingSenders
				perTick := float64(others) * float64(tick) / float64(every)
				tk := time.NewTicker(tick)
				defer tk.Stop()
				next, due := 0, 0.0
				for {
					select {
					case <-stop:
						return
					case <-tk.C:
					}
					due += perTick
					for ; due >= 1; due-- {
						members[typingSenders+next].send(t, `42/user,["typing",{"typing":true}]`)
						next = (next + 1) % others
					}
				}
			})
		}
		typedBefore := total(typings)
		want := total(messages) + int64(n*len(members))
		for i := range n {
			id++
			s := members[i%typingSenders]
			s.send(t, fmt.Sprintf(`42/user,%d["newMsg2Server",{"text":"%s message %d"}]`, id, name, i))
			select {
			case <-s.acks:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no ack for message %d", name, i)
			}
		}
		deadline := time.Now().Add(time.Minute)
		for total(messages) < want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d deliveries missing", name, want-total(messages))
			}
			time.Sleep(time.Millisecond)
		}
		close(stop)
		typists.Wait()
		fmt.Printf("chatd: done %d\n", total(typings)-typedBefore)
	}
}
