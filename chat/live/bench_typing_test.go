package live_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/store"
	"github.com/gorilla/websocket"
)

const (
	typingMembers = 1000 // members of the room, each a user of their own
	typingSenders = 10   // of them, the ones posting the messages
	// typingEvery is about how often each other member sends typing: true
	// while the typing phase runs: a client typing without a pause,
	// repeating at every few keystrokes (the server forwards one per
	// user per 2 s).
	typingEvery = 500 * time.Millisecond
)

// wsMember is one member's WebSocket, read by a goroutine that counts the
// comPeRoom events and passes the acks on.
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

// cpuTime is the CPU time (user and system) of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTypingFanout measures the CPU time per delivered chat message
// in a room of 1,000 members on WebSocket, first while nobody types, then
// while every member that is not posting sends typing: true about every
// 550 ms (typingEvery, rounded to whole events per 5 ms tick), which the
// server forwards, volatile, at most once per user per 2 s, to the 999
// others.
// b.N messages are posted in each phase by 10 of the members, one after
// the other, each waiting for its ack; a phase ends once every member has
// every message. The CPU time is the whole process's (the clients
// included: they only read and count frames), per comPeRoom delivered;
// typing-overhead is the ratio of the two, the figure docs/performance.md
// gives. Run it once, e.g.
//
//	go test -run '^$' -bench TypingFanout -benchtime 1000x -count 1 ./chat/live/
func BenchmarkTypingFanout(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "chat.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	acc := chat.NewAccounts(db, db, chat.AccountsOptions{Password: fastParams})
	io := socketio.NewServer(&socketio.Options{Engine: engine.Options{
		PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueuedBytes: 64 << 20,
	}})
	cs := live.NewServer(live.Options{Auth: acc, Namespaces: db, Reads: db,
		Messages: chat.NewMessages(db, chat.MessagesOptions{CacheHistory: true})})
	if err := cs.Register(ctx, io); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	hs := httptest.NewServer(mux)
	var readers sync.WaitGroup
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = io.Close(cctx)
		hs.Close()
		readers.Wait()
		cs.Close()
		_ = db.Close()
	}()

	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	members := make([]*wsMember, typingMembers)
	for i := range members {
		name := fmt.Sprintf("member%04d", i)
		if _, err := acc.CreateUser(ctx, name, "password-123", chat.RoleUser); err != nil {
			b.Fatal(err)
		}
		login, err := acc.LogIn(ctx, name, "password-123")
		if err != nil {
			b.Fatal(err)
		}
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Cookie": {chat.SessionCookieName + "=" + login.Token}})
		if err != nil {
			b.Fatal(err)
		}
		m := &wsMember{ws: ws, acks: make(chan struct{}, 1)}
		members[i] = m
		if _, _, err := ws.ReadMessage(); err != nil { // open
			b.Fatal(err)
		}
		m.send(b, "40/user,")
		for { // up to the connect and nsRoomLoad
			_, p, err := ws.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if bytes.HasPrefix(p, []byte(`42/user,["nsRoomLoad"`)) {
				break
			}
		}
		readers.Go(m.read)
		m.send(b, `42/user,1["joinRoom","chat"]`)
		<-m.acks
	}
	b.ResetTimer()

	// phase posts n messages and returns the CPU time per delivery.
	phase := func(name string) float64 {
		var before int64
		for _, m := range members {
			before += m.messages.Load()
		}
		start := cpuTime()
		for i := range b.N {
			s := members[i%typingSenders]
			s.send(b, fmt.Sprintf(`42/user,%d["newMsg2Server",{"text":"%s message %d"}]`, i+2, name, i))
			select {
			case <-s.acks:
			case <-time.After(30 * time.Second):
				b.Fatalf("%s: no ack for message %d", name, i)
			}
		}
		want := before + int64(b.N)*typingMembers
		deadline := time.Now().Add(time.Minute)
		for {
			var got int64
			for _, m := range members {
				got += m.messages.Load()
			}
			if got >= want {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d deliveries", name, got-before, want-before)
			}
			time.Sleep(time.Millisecond)
		}
		return float64(cpuTime()-start) / float64(b.N*typingMembers)
	}

	quiet := phase("quiet")

	stop := make(chan struct{})
	var typists sync.WaitGroup
	typists.Go(func() {
		// Every member but the senders, round robin: typingMembers-
		// typingSenders events per typingEvery, sent in ticks of 5 ms.
		const tick = 5 * time.Millisecond
		perTick := (typingMembers - typingSenders) * int(tick) / int(typingEvery)
		t := time.NewTicker(tick)
		defer t.Stop()
		next := 0
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for range perTick {
				members[typingSenders+next].send(b, `42/user,["typing",{"typing":true}]`)
				next = (next + 1) % (typingMembers - typingSenders)
			}
		}
	})
	var typedBefore int64
	for _, m := range members {
		typedBefore += m.typings.Load()
	}
	typing := phase("typing")
	close(stop)
	typists.Wait()
	var typed int64
	for _, m := range members {
		typed += m.typings.Load()
	}
	b.StopTimer()

	b.ReportMetric(quiet, "cpu-ns/delivery-quiet")
	b.ReportMetric(typing, "cpu-ns/delivery-typing")
	b.ReportMetric(typing/quiet, "typing-overhead")
	b.ReportMetric(float64(typed-typedBefore)/float64(b.N), "userTyping/message")
}
