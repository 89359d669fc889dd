package socketio

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/engine"
)

// idsOf returns the ids of the handlers of event in ls, in order.
func idsOf(ls []listener, event string) []uint64 {
	var ids []uint64
	for _, l := range ls {
		if l.event == event {
			ids = append(ids, l.id)
		}
	}
	return ids
}

func TestListenerTable(t *testing.T) {
	s := &Socket{}
	offA1 := s.On("a", func() {})
	s.Once("a", func() {})
	s.On("b", func(string) {})
	s.On("a", func(Args, Ack) {})
	if s.hooks != nil {
		t.Fatal("hooks made without catch-all handlers, middlewares or disconnect handlers")
	}

	s.mu.Lock()
	before := s.listeners
	ls := s.takeListeners("a")
	after := s.listeners
	s.mu.Unlock()
	if got := idsOf(ls, "a"); !slices.Equal(got, []uint64{1, 2, 4}) {
		t.Fatalf("handlers of a: %v", got)
	}
	if got := idsOf(after, "a"); !slices.Equal(got, []uint64{1, 4}) {
		t.Fatalf("handlers of a after the one-shot ran: %v", got)
	}
	// A list handed out is never changed afterwards.
	if got := idsOf(before, "a"); !slices.Equal(got, []uint64{1, 2, 4}) {
		t.Fatalf("list taken before changed: %v", got)
	}

	offA1()
	offA1()
	s.mu.Lock()
	got := idsOf(s.listeners, "a")
	s.mu.Unlock()
	if !slices.Equal(got, []uint64{4}) {
		t.Fatalf("handlers of a after off: %v", got)
	}
	s.Off("a")
	s.Off("b")
	if s.listeners != nil {
		t.Fatalf("handlers left: %v", s.listeners)
	}
}

func TestMailboxBackPressure(t *testing.T) {
	m := &mailbox{max: 1, workers: &workGroup{}}
	release := make(chan struct{})
	var order []int
	m.post(func() { <-release; order = append(order, 1) }, true)
	m.post(func() { order = append(order, 2) }, true) // queued: the queue is full
	posted := make(chan struct{})
	go func() {
		m.post(func() { order = append(order, 3) }, true)
		close(posted)
	}()
	select {
	case <-posted:
		t.Fatal("post did not wait for room in a full queue")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-posted
	<-m.workers.zero()
	if !slices.Equal(order, []int{1, 2, 3}) {
		t.Fatalf("order %v", order)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobs != nil || m.running {
		t.Fatalf("idle mailbox keeps %d jobs, running %v", cap(m.jobs), m.running)
	}
}

// pollingSocket connects one polling session in-process and returns its
// socket on the main namespace, and a function that closes the session.
func pollingSocket(t *testing.T, srv *Server) (*Socket, func()) {
	t.Helper()
	got := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) {
		select {
		case got <- s:
		default: // a socket of a later call
		}
	})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil))
	body := rec.Body.String()
	at := strings.Index(body, `"sid":"`) + len(`"sid":"`)
	sid := body[at : at+strings.IndexByte(body[at:], '"')]
	post := func(body string) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", "/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("POST %s: %d", body, rec.Code)
		}
	}
	post("40")
	select {
	case s := <-got:
		return s, func() { post("1") }
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
		return nil, nil
	}
}

func testServer(t *testing.T) *Server {
	srv := NewServer(&Options{Engine: engine.Options{PingInterval: time.Hour, PingTimeout: time.Hour}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return srv
}

func waitDisconnected(t *testing.T, s *Socket) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, "the socket's disconnection", func() bool {
		return !s.Connected() && s.ns.Socket(s.id) == nil
	})
}

func TestSocketContextMadeOnFirstUse(t *testing.T) {
	srv := testServer(t)
	s, closeSession := pollingSocket(t, srv)
	if s.ctx.Load() != nil {
		t.Fatal("context made before it was asked for")
	}
	if s.conn.connectTimer.Load() != nil {
		t.Fatal("connect timer kept after the socket connected")
	}
	ctx := s.Context()
	if ctx != s.Context() || ctx.Err() != nil {
		t.Fatal("Context changes or is done while connected")
	}
	closeSession()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not cancelled on disconnect")
	}

	// A context first asked for after the disconnection is done at once.
	s, closeSession = pollingSocket(t, srv)
	closeSession()
	waitDisconnected(t, s)
	testutil.Eventually(t, 5*time.Second, "the context made after the disconnection to be done", func() bool {
		return s.Context().Err() != nil
	})
}

func TestAckMapDroppedWhenEmpty(t *testing.T) {
	s := &Socket{}
	got := make(chan error, 2)
	s.addAck(1, func(_ Args, err error) { got <- err })
	s.addAck(2, func(_ Args, err error) { got <- err })
	s.onAck(1, Args{})
	if s.acks == nil || len(s.acks) != 1 {
		t.Fatalf("acks %v", s.acks)
	}
	s.dropAck(2)
	if s.acks != nil {
		t.Fatalf("empty ack map kept: %v", s.acks)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeMadeOnFirstUse(t *testing.T) {
	srv := testServer(t)
	before := time.Now().UnixMilli()
	s, _ := pollingSocket(t, srv)
	if s.handshake.Load() != nil {
		t.Fatal("handshake made before it was asked for")
	}
	time.Sleep(5 * time.Millisecond)
	got := make(chan *Handshake, 2)
	for range 2 {
		go func() { got <- s.Handshake() }()
	}
	h1, h2 := <-got, <-got
	if h1 != h2 || s.Handshake() != h1 {
		t.Fatal("Handshake returns different values")
	}
	if h1.Issued < before || h1.Issued > time.Now().UnixMilli()-5 {
		t.Fatalf("issued %d: not the creation time (test started at %d)", h1.Issued, before)
	}
	if h1.Time != time.UnixMilli(h1.Issued).UTC().Format(time.RFC1123) || string(h1.Auth) != "{}" || h1.Query.Get("EIO") != "4" {
		t.Fatalf("handshake %+v", h1)
	}
}
