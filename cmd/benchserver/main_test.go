package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/client"
)

func TestBenchServer(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-pprof", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var url, pprofURL string
	for url == "" && lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			url = u
		}
		if u, ok := strings.CutPrefix(lines.Text(), "pprof on "); ok {
			pprofURL = u
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" || pprofURL == "" {
		t.Fatalf("no addresses printed (url %q, pprof %q)", url, pprofURL)
	}

	dialCtx, dialCancel := context.WithTimeout(ctx, 10*time.Second)
	defer dialCancel()
	opts := &client.Options{Transports: []string{client.TransportWebSocket}, ForceNew: true}
	got := make(chan string, 4)
	var socks []*client.Socket
	for i := range 3 {
		s, err := client.Dial(dialCtx, url, opts)
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, s)
		s.On("room-msg", func(text string, n int) { got <- text + string(rune('0'+i)) })
		if i < 2 {
			ack, err := s.EmitWithAck(dialCtx, "join", "r")
			var rooms int
			if err != nil || ack.Decode(0, &rooms) != nil || rooms != 2 {
				t.Fatalf("join: %v %v (rooms %d)", ack, err, rooms)
			}
		}
	}
	// Socket 0 sends to the room: only socket 1 gets it.
	if err := socks[0].Emit("to-room", "r", "hi", 5); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hi1" {
			t.Fatalf("got %q, want hi1", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no room-msg")
	}

	var st struct {
		Runtime    string
		HeapBytes  int64
		StackBytes int64
		RSS        int64
		Sockets    int
		Goroutines int
	}
	resp, err := http.Get(url + "/stats?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Runtime != "go" || st.Sockets != 3 || st.HeapBytes <= 0 || st.StackBytes <= 0 || st.RSS <= 0 || st.Goroutines <= 0 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	resp, err = http.Get(pprofURL + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pprof: %s", resp.Status)
	}
	select {
	case m := <-got:
		t.Fatalf("unexpected room-msg %q", m)
	default:
	}

	for _, s := range socks {
		_ = s.Close()
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	leakcheck.After(t, before)
}
