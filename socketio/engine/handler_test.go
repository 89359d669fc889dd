package engine

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// orderHandler checks the Handler contract: calls for one session never
// overlap, OnOpen comes first and OnClose last and once.
type orderHandler struct {
	inFlight atomic.Int32
	mu       sync.Mutex
	events   []string
	errs     []string
	closed   chan Reason
}

func (h *orderHandler) enter(ev string) {
	if h.inFlight.Add(1) != 1 {
		h.fail("overlapping handler calls at " + ev)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *orderHandler) leave() { h.inFlight.Add(-1) }

func (h *orderHandler) fail(msg string) {
	h.mu.Lock()
	h.errs = append(h.errs, msg)
	h.mu.Unlock()
}

func (h *orderHandler) OnOpen(s *Session) Conn {
	h.enter("open")
	defer h.leave()
	return h
}

func (h *orderHandler) OnMessage(s *Session, data []byte, binary bool) {
	h.enter(string(data))
	defer h.leave()
	time.Sleep(30 * time.Millisecond) // widen the window for overlaps
	if string(data) == "close" {
		s.Close(ReasonForcedClose)
		time.Sleep(30 * time.Millisecond)
		h.mu.Lock()
		last := h.events[len(h.events)-1]
		h.mu.Unlock()
		if last != "close" {
			h.fail("OnClose ran before OnMessage returned")
		}
	}
}

func (h *orderHandler) OnClose(s *Session, reason Reason) {
	h.enter("onclose")
	defer h.leave()
	h.closed <- reason
}

// waitClosed waits for OnClose, checks its reason, and reports the
// contract violations recorded.
func (h *orderHandler) waitClosed(t *testing.T, want Reason) {
	t.Helper()
	select {
	case r := <-h.closed:
		if r != want {
			t.Errorf("reason %q, want %q", r, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnClose")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, msg := range h.errs {
		t.Error(msg)
	}
}

// Handler calls for one session are serialized, even when a polling POST
// and the upgraded WebSocket deliver at the same time, and a Session.Close
// from inside OnMessage runs OnClose only after OnMessage returned.
func TestHandlerCallsSerialized(t *testing.T) {
	h := &orderHandler{closed: make(chan Reason, 1)}
	e := newEnv(t, slowHeartbeat())
	e.srv.h = h
	sid := e.handshake(t)
	c := e.dial(t, "EIO=4&transport=websocket&sid="+sid)
	mustWrite(t, c, websocket.TextMessage, "2probe")
	readMsg(t, c)
	posted := make(chan struct{})
	go func() {
		defer close(posted)
		e.post(t, sid, "4p1\x1e4p2\x1e4p3")
	}()
	mustWrite(t, c, websocket.TextMessage, "5")
	for _, m := range []string{"4w1", "4w2", "4close", "4after"} {
		mustWrite(t, c, websocket.TextMessage, m)
	}
	<-posted
	h.waitClosed(t, ReasonForcedClose)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events[0] != "open" || h.events[len(h.events)-1] != "onclose" {
		t.Errorf("events %v", h.events)
	}
	for _, ev := range h.events {
		if ev == "after" {
			t.Errorf("OnMessage after the session closed: %v", h.events)
		}
	}
}

// A session closed after its open packet was queued but before OnOpen ran
// (the server closing it, a slow-consumer close, the heartbeat, all from
// other goroutines) still gets OnOpen, then OnClose once. On a loaded
// machine the close used to win the race for the handler lock, and the
// session ended without any OnClose.
func TestCloseBeforeOnOpen(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			h := &orderHandler{closed: make(chan Reason, 1)}
			e := newEnv(t, slowHeartbeat())
			e.srv.h = h
			testHookQueuedOpen = func(s *Session) {
				s.Close(ReasonForcedClose)
				// Time for the close's goroutine to run ahead of
				// OnOpen, if nothing keeps it from doing so.
				time.Sleep(50 * time.Millisecond)
			}
			t.Cleanup(func() { testHookQueuedOpen = nil })
			if transport == "polling" {
				e.do(t, "GET", e.url("EIO=4&transport=polling"), "", nil)
			} else {
				c, _, err := websocket.DefaultDialer.Dial(e.wsURL("EIO=4&transport=websocket"), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			h.waitClosed(t, ReasonForcedClose)
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.events) != 2 || h.events[0] != "open" || h.events[1] != "onclose" {
				t.Errorf("events %v, want [open onclose]", h.events)
			}
		})
	}
}
