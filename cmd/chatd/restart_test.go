package main

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/client"
)

// A single node keeps the state of connection state recovery across a
// restart (beside its database): a client of the stopped process resumes
// its socket on the next one, still in its room, without joining again
// or getting the history again.
func TestRunRecoveryAcrossRestart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "chat.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-log-level", "warn"}
	first := MustRunMain(t, args, nil)
	host := func(s *runningServer) string {
		u, err := url.Parse(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		return u.Host
	}
	proxy := testutil.NewProxy(t, host(first))
	ann := account(t, first.URL, "/signup", "ann", "ann-password")
	ben := account(t, first.URL, "/signup", "ben", "ben-password")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	histories := make(chan int, 8)
	s, err := client.Dial(ctx, "http://"+proxy.Addr()+"/user", &client.Options{
		Header:               http.Header{"Cookie": {ann}},
		Transports:           []string{client.TransportWebSocket},
		ForceNew:             true,
		ReconnectionDelay:    20 * time.Millisecond,
		ReconnectionDelayMax: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.On("historyUpdate", func(h []chat.Message) { histories <- len(h) })
	connects := make(chan struct{}, 4)
	s.OnConnect(func() { connects <- struct{}{} })
	if ack, err := s.EmitWithAck(ctx, "joinRoom", "chat"); err != nil || ack.Len() != 1 {
		t.Fatalf("joinRoom: %v %v", ack, err)
	}
	<-histories
	heard := make(chan string, 8)
	s.On("comPeRoom", func(m chat.Message) { heard <- m.Text })
	b := dialChat(t, first.URL, "/user", ben)
	b.call(t, "joinRoom", "chat")
	b.call(t, "newMsg2Server", map[string]string{"text": "before the restart"})
	if got := <-heard; got != "before the restart" {
		t.Fatalf("heard %q", got)
	}
	id := s.ID()

	if err := first.Stop(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dbPath + ".recovery"); err != nil {
		t.Fatalf("no recovery state after the shutdown: %v", err)
	}
	second := MustRunMain(t, args, nil)
	proxy.SwitchTo(host(second))
	select {
	case <-connects:
	case <-ctx.Done():
		t.Fatal("ann did not reconnect")
	}
	if !s.Recovered() || s.ID() != id {
		t.Fatalf("after the restart: recovered %v, id %q (was %q)", s.Recovered(), s.ID(), id)
	}
	if _, err := os.Stat(dbPath + ".recovery"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the recovery state is still there after it was loaded: %v", err)
	}
	// In the room without joinRoom: her message is stored and heard.
	reply, err := s.EmitWithAck(ctx, "newMsg2Server", map[string]string{"text": "after the restart"})
	var ack struct {
		ID    int64
		Error string
	}
	if err != nil || reply.Decode(0, &ack) != nil || ack.ID == 0 {
		t.Fatalf("posting after the restart: %v %v %+v", reply, err, ack)
	}
	if got := <-heard; got != "after the restart" {
		t.Fatalf("heard %q", got)
	}
	select {
	case n := <-histories:
		t.Fatalf("a history of %d messages after the recovery", n)
	default:
	}
}
