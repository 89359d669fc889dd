package engine

import (
	"io"
	"testing"
	"time"
)

// Packets queued while a session is held go out, in order, at the last
// Release, on WebSocket and on polling; closing a held session still
// delivers what was queued.
func TestHoldRelease(t *testing.T) {
	e := newEnv(t, slowHeartbeat())

	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	s := e.srv.Session(parseOpen(t, m).SID)
	s.Hold()
	s.Hold()
	s.Send([]byte("a"), false)
	s.Send([]byte("b"), false)
	s.Release()
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, b, err := c.ReadMessage(); err == nil {
		t.Fatalf("read %q while held", b)
	}
	// A timed-out read leaves gorilla's connection unusable: dial again.
	c = e.dial(t, "EIO=4&transport=websocket")
	_, m = readMsg(t, c)
	s = e.srv.Session(parseOpen(t, m).SID)
	s.Hold()
	s.Send([]byte("a"), false)
	s.Send([]byte("b"), false)
	time.Sleep(50 * time.Millisecond)
	s.Release()
	if _, m := readSkipPing(t, c); m != "4a" {
		t.Fatalf("first %q", m)
	}
	if _, m := readSkipPing(t, c); m != "4b" {
		t.Fatalf("second %q", m)
	}
	s.Hold()
	s.Send([]byte("last"), false)
	s.Close(ReasonForcedClose)
	if _, m := readSkipPing(t, c); m != "4last" {
		t.Fatalf("after close %q", m)
	}

	// Polling: a pending GET is answered only at the Release.
	sid := e.handshake(t)
	ps := e.srv.Session(sid)
	ps.Hold()
	ps.Send([]byte("p"), false)
	got := make(chan string, 1)
	go func() {
		res, err := e.client.Get(e.url("EIO=4&transport=polling&sid=" + sid))
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- string(b)
	}()
	select {
	case b := <-got:
		t.Fatalf("GET answered with %q while held", b)
	case <-time.After(100 * time.Millisecond):
	}
	ps.Release()
	select {
	case b := <-got:
		if b != "4p" {
			t.Fatalf("GET %q", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("GET not answered after Release")
	}
}
