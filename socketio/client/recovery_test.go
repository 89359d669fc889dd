package client

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// With connection state recovery on the server, a socket whose transport
// is cut sends its pid and the offset of the last event it received when
// it reconnects, and gets its id back and the events broadcast meanwhile,
// in order and once, against the reference server and ours, on each
// transport.
func TestConnectionStateRecovery(t *testing.T) {
	servers := []struct {
		name  string
		start func(t *testing.T) string
	}{
		{"reference", func(t *testing.T) string {
			return startRef(t, "0", "RECOVERY=1", "PING_INTERVAL=300", "PING_TIMEOUT=200").URL
		}},
		{"own", func(t *testing.T) string {
			return startOwnServerOpts(t, socketio.Options{
				ConnectionStateRecovery: &socketio.RecoveryOptions{},
				Engine:                  engine.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond},
			})
		}},
	}
	for _, srv := range servers {
		for _, mode := range transportModes {
			t.Run(srv.name+"/"+mode.name, func(t *testing.T) {
				checkGoroutines(t)
				base := srv.start(t)
				u, err := url.Parse(base)
				if err != nil {
					t.Fatal(err)
				}
				p := testutil.NewProxy(t, u.Host)
				opts := mode.opts
				opts.ReconnectionDelay, opts.ReconnectionDelayMax = 20*time.Millisecond, 100*time.Millisecond
				s := dial(t, "http://"+p.Addr(), &opts)
				if s.Recovered() {
					t.Fatal("a first connection is recovered")
				}
				events := make(chan float64, 16)
				s.On("ev", func(n float64, offset string) {
					if offset == "" {
						t.Errorf("event %v without an offset", n)
					}
					events <- n
				})
				connects := make(chan bool, 4)
				s.OnConnect(func() { connects <- true })
				lost := make(chan string, 4)
				s.OnDisconnect(func(reason string) { lost <- reason })
				other := dial(t, base, nil)
				heard := make(chan float64, 16)
				other.On("ev", func(n float64) { heard <- n })
				for _, c := range []*Socket{s, other} {
					if _, err := c.EmitWithAck(ctxT(t), "join", "r"); err != nil {
						t.Fatal(err)
					}
				}
				next := func(ch chan float64, who string) float64 {
					t.Helper()
					select {
					case n := <-ch:
						return n
					case <-time.After(10 * time.Second):
						t.Fatalf("%s: no event", who)
						return 0
					}
				}
				_ = other.Emit("to-room", "r", "ev", 1)
				if n := next(events, "before the cut"); n != 1 {
					t.Fatalf("got %v, want 1", n)
				}
				next(heard, "other")
				id := s.ID()

				p.SwitchTo("") // the transport is cut; reconnections are refused
				select {
				case reason := <-lost:
					if reason != ReasonTransportClose && reason != ReasonTransportError && reason != ReasonPingTimeout {
						t.Fatalf("disconnect reason %q", reason)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the cut was not noticed")
				}
				// The server keeps the session once it has noticed the
				// loss (at once, or at the heartbeat's timeout).
				testutil.Eventually(t, 10*time.Second, "the server drops the cut socket", func() bool {
					a, err := other.EmitWithAck(ctxT(t), "room-size", "r")
					var n int
					return err == nil && a.Decode(0, &n) == nil && n == 1
				})
				for n := 2.0; n <= 3; n++ {
					_ = other.Emit("to-room", "r", "ev", n)
					next(heard, "other")
				}
				p.SwitchTo(u.Host)
				select {
				case <-connects:
				case <-time.After(15 * time.Second):
					t.Fatal("no reconnection")
				}
				if !s.Recovered() || s.ID() != id {
					t.Fatalf("recovered %v, id %q (was %q)", s.Recovered(), s.ID(), id)
				}
				for want := 2.0; want <= 3; want++ {
					if n := next(events, "missed"); n != want {
						t.Fatalf("missed event %v, want %v", n, want)
					}
				}
				_ = other.Emit("to-room", "r", "ev", 4)
				if n := next(events, "live"); n != 4 {
					t.Fatalf("after the recovery got %v, want 4 (an event twice?)", n)
				}
			})
		}
	}
}

// The CONNECT payload carries pid and offset beside the auth fields, which
// win; without an offset yet only the pid; a non-object auth is refused.
func TestConnectPayload(t *testing.T) {
	for _, tc := range []struct {
		auth         any
		pid, offset  string
		want, errSub string
	}{
		{nil, "", "", "null", ""},
		{map[string]int{"a": 1}, "", "", `{"a":1}`, ""},
		{nil, "p1", "o1", `{"offset":"o1","pid":"p1"}`, ""},
		{nil, "p1", "", `{"pid":"p1"}`, ""},
		{map[string]any{"token": "t", "pid": "mine"}, "p1", "o1", `{"offset":"o1","pid":"mine","token":"t"}`, ""},
		{"text", "p1", "o1", "", "must be a JSON object"},
		{[]int{1}, "p1", "o1", "", "must be a JSON object"},
	} {
		got, err := connectPayload(tc.auth, tc.pid, tc.offset)
		if tc.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("connectPayload(%v, %q, %q): %s, %v; want an error with %q", tc.auth, tc.pid, tc.offset, got, err, tc.errSub)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("connectPayload(%v, %q, %q) = %s, %v; want %s", tc.auth, tc.pid, tc.offset, got, err, tc.want)
		}
	}
}
