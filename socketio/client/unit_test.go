package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/internal/eio"
	"github.com/chatd/chatd/socketio/parser"
)

func TestEncodePayload(t *testing.T) {
	tests := []struct {
		pkts []packet
		want string
	}{
		{[]packet{textMessage([]byte("hello"))}, "4hello"},
		{[]packet{textMessage([]byte("hello")), binaryMessage([]byte{1, 2, 3, 4})}, "4hello\x1ebAQIDBA=="},
		{[]packet{{Type: eio.PacketPong}, {Type: eio.PacketClose}}, "3\x1e1"},
		{[]packet{binaryMessage(nil)}, "b"},
		{[]packet{textMessage([]byte("é€"))}, "4é€"},
	}
	for _, tt := range tests {
		if got := string(encodePayload(tt.pkts)); got != tt.want {
			t.Errorf("encodePayload(%v) = %q, want %q", tt.pkts, got, tt.want)
		}
	}
}

func TestDecodePayload(t *testing.T) {
	pkts, err := decodePayload([]byte("6\x1e4hello\x1ebAQIDBA==\x1e2\x1e1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []packet{{Type: eio.PacketNoop, Data: []byte{}}, textMessage([]byte("hello")), binaryMessage([]byte{1, 2, 3, 4}),
		{Type: eio.PacketPing, Data: []byte{}}, {Type: eio.PacketClose, Data: []byte{}}}
	if !reflect.DeepEqual(pkts, want) {
		t.Fatalf("got %+v", pkts)
	}
	open, err := decodePayload([]byte(`0{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	if err != nil || len(open) != 1 || open[0].Type != eio.PacketOpen || !json.Valid(open[0].Data) {
		t.Fatalf("open: %+v %v", open, err)
	}
	for _, bad := range []string{"", "7", "x", "4a\x1e", "\x1e4a", "bAQ!D", "4a\x1e\x1e4b"} {
		if _, err := decodePayload([]byte(bad)); !errors.Is(err, errBadPacket) {
			t.Errorf("decodePayload(%q) error = %v", bad, err)
		}
	}
	// Round trip.
	in := []packet{textMessage([]byte("42[\"a\"]")), binaryMessage(bytes.Repeat([]byte{0xfe}, 100)), {Type: eio.PacketPong, Data: []byte{}}}
	out, err := decodePayload(encodePayload(in))
	if err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %+v %v", out, err)
	}
}

func TestTakeBatch(t *testing.T) {
	q := []packet{textMessage(make([]byte, 9)), textMessage(make([]byte, 9)), binaryMessage(make([]byte, 6)), textMessage(make([]byte, 100))}
	// Sizes: 10, 10, 9 ("b"+8 base64 chars), 101; separators 1 each.
	tests := []struct{ max, want int }{
		{0, 4}, {10, 1}, {20, 1}, {21, 2}, {30, 2}, {31, 3}, {132, 3}, {133, 4}, {1 << 20, 4}, {1, 1},
	}
	for _, tt := range tests {
		if got := takeBatch(q, tt.max); got != tt.want {
			t.Errorf("takeBatch(max %d) = %d, want %d", tt.max, got, tt.want)
		}
		if n := takeBatch(q, tt.max); tt.max > 0 && n > 1 && len(encodePayload(q[:n])) > tt.max {
			t.Errorf("max %d: batch of %d bytes", tt.max, len(encodePayload(q[:n])))
		}
	}
	if got := takeBatch(q[3:], 10); got != 1 {
		t.Errorf("an oversized packet alone must still be taken, got %d", got)
	}
}

func TestBackoff(t *testing.T) {
	noJitter := &Backoff{Min: 100 * time.Millisecond, Max: time.Second, Jitter: -1}
	var got []time.Duration
	for range 6 {
		got = append(got, noJitter.Duration())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v", got)
		}
	}
	if noJitter.Attempts() != 6 {
		t.Fatal(noJitter.Attempts())
	}
	noJitter.Reset()
	if d := noJitter.Duration(); d != 100*time.Millisecond {
		t.Fatalf("after Reset: %v", d)
	}

	// Defaults: 1s, 5s, jitter 0.5; deterministic draws.
	draws := []float64{0.5, 0.2} // deviation 0.5*0.5*d, subtracted
	i := 0
	b := &Backoff{Rand: func() float64 { v := draws[i%2]; i++; return v }}
	if d := b.Duration(); d != 750*time.Millisecond {
		t.Fatalf("first default delay %v", d)
	}
	draws = []float64{1.0 - 1e-9, 0.9} // nearly the full deviation, added
	if d := b.Duration(); d < 2999*time.Millisecond || d > 3000*time.Millisecond {
		t.Fatalf("second default delay %v", d)
	}
	for range 10 {
		b.Duration()
	}
	if d := b.Duration(); d != 5*time.Second {
		t.Fatalf("capped delay %v", d)
	}

	// Random jitter stays within bounds.
	r := &Backoff{Min: time.Second, Max: 5 * time.Second}
	for n := range 50 {
		d := r.Duration()
		base := time.Second << min(n, 3)
		if base > 5*time.Second {
			base = 5 * time.Second
		}
		if d < base/2 || d > 5*time.Second || d > base*3/2 {
			t.Fatalf("attempt %d: %v", n, d)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "/socket.io/" || c.Timeout != 20*time.Second ||
		!reflect.DeepEqual(c.transports, []string{"polling", "websocket"}) || c.DisableReconnection {
		t.Fatalf("defaults %+v", c)
	}
	c, err = newConfig(&Options{Path: "io", Transports: []string{"websocket", "websocket"}})
	if err != nil || c.Path != "/io/" || !reflect.DeepEqual(c.transports, []string{"websocket"}) {
		t.Fatalf("config %+v, %v", c, err)
	}
	if c, err := newConfig(&Options{Transports: []string{}}); err != nil || !reflect.DeepEqual(c.transports, []string{"polling", "websocket"}) {
		t.Fatalf("empty transports: %+v, %v", c, err)
	}
}

// TestUnknownTransport: a transport name the client does not implement is
// an error of Connect, Dial and NewManager, not silently dropped.
func TestUnknownTransport(t *testing.T) {
	for _, names := range [][]string{{"webtransport"}, {"websocket", "bogus"}, {"WebSocket"}, {""}} {
		opts := &Options{Transports: names, ForceNew: true}
		bad := names[len(names)-1]
		check := func(what string, err error) {
			t.Helper()
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("unsupported transport %q", bad)) {
				t.Errorf("%s with %q: %v", what, names, err)
			}
		}
		_, err := NewManager("http://127.0.0.1:1", opts)
		check("NewManager", err)
		_, err = Connect("http://127.0.0.1:1", opts)
		check("Connect", err)
		_, err = Dial(context.Background(), "http://127.0.0.1:1", opts)
		check("Dial", err)
	}
}

// TestReconnectionZeroes: the defaults of the zero value, and the official
// client's 0 (no jitter, no attempt) said with the named constants.
func TestReconnectionZeroes(t *testing.T) {
	fixed := func(d time.Duration) bool { return d == 100*time.Millisecond }
	jittered := func(o Options) bool {
		c, err := newConfig(&o)
		if err != nil {
			t.Fatal(err)
		}
		b := c.backoff()
		draws := []float64{0.9, 0.9} // a deviation of 0.9*factor*d, added
		i := 0
		b.Rand = func() float64 { v := draws[i%2]; i++; return v }
		return !fixed(b.Duration())
	}
	base := Options{ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: time.Second}
	if !jittered(base) {
		t.Error("RandomizationFactor 0: no jitter, want the default 0.5")
	}
	noJitter := base
	noJitter.RandomizationFactor = NoRandomization
	if jittered(noJitter) {
		t.Error("NoRandomization: the delay is jittered")
	}

	tests := []struct {
		attempts int
		giveUp   []int // the attempts (from 1) the Manager does not make
		makes    []int
	}{
		{0, nil, []int{1, 2, 100, 1 << 30}},
		{NoReconnectionAttempts, []int{1, 2}, nil},
		{-5, []int{1}, nil},
		{3, []int{4, 5}, []int{1, 2, 3}},
	}
	for _, tt := range tests {
		c, err := newConfig(&Options{ReconnectionAttempts: tt.attempts})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tt.giveUp {
			if !c.giveUp(n) {
				t.Errorf("ReconnectionAttempts %d: attempt %d is made", tt.attempts, n)
			}
		}
		for _, n := range tt.makes {
			if c.giveUp(n) {
				t.Errorf("ReconnectionAttempts %d: gives up before attempt %d", tt.attempts, n)
			}
		}
	}
}

func TestEmitReservedAndInvalid(t *testing.T) {
	m, err := NewManager("http://127.0.0.1:1", &Options{DisableReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := newSocket(m, "/", nil) // not connected: nothing is sent
	for _, ev := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := s.Emit(ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("Emit(%q) = %v", ev, err)
		}
	}
	if err := s.Emit("x", func() {}); err == nil {
		t.Error("Emit of a func")
	}
	if err := s.Emit("x", 1, []byte{2}); err != nil {
		t.Fatal(err)
	}
	if len(s.sendBuf) != 1 || len(s.sendBuf[0].pkts) != 2 ||
		string(s.sendBuf[0].pkts[0].Data) != `51-["x",1,{"_placeholder":true,"num":0}]` {
		t.Fatalf("buffered %+v", s.sendBuf)
	}
	if err := s.EmitVolatile("x"); err != nil || len(s.sendBuf) != 1 {
		t.Fatal("volatile emit buffered")
	}
	ns := newSocket(m, "/admin", nil)
	if err := ns.Emit("y"); err != nil || string(ns.sendBuf[0].pkts[0].Data) != `2/admin,["y"]` {
		t.Fatalf("namespace packet %q", ns.sendBuf[0].pkts[0].Data)
	}
	for _, bad := range []string{"ftp://x", "http://", "://"} {
		if _, err := NewManager(bad, nil); err == nil {
			t.Errorf("NewManager(%q) accepted", bad)
		}
		if _, err := Connect(bad, nil); err == nil {
			t.Errorf("Connect(%q) accepted", bad)
		}
	}
}

func TestOnceAndOff(t *testing.T) {
	m, err := NewManager("http://127.0.0.1:1", &Options{DisableReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := newSocket(m, "/", nil)
	calls := make(chan string, 10)
	s.Once("e", func(n int) { calls <- "once" })
	s.On("e", func(n int) { calls <- "on" })
	s.OnAny(func(event string, _ Args) { calls <- "any" })
	for range 2 {
		s.onEvent(nil, parserPacket(t, `2["e",1]`), nil)
	}
	s.OffAny()
	s.Off("e")
	s.onEvent(nil, parserPacket(t, `2["e",1]`), nil)
	s.onEvent(nil, parserPacket(t, `2["done"]`), nil)
	done := make(chan struct{})
	s.events.push(func() { close(done) })
	<-done
	close(calls)
	var got []string
	for c := range calls {
		got = append(got, c)
	}
	if strings.Join(got, ",") != "any,once,on,any,on" {
		t.Fatalf("calls %v", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Once(connect) accepted")
			}
		}()
		s.Once("connect", func() {})
	}()
}

func parserPacket(t *testing.T, s string) parser.Packet {
	t.Helper()
	p, err := parser.Decode([]byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClosedManager(t *testing.T) {
	m, err := NewManager("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	s := m.Socket("/x", nil)
	if s.Active() || s.Connected() || s.Namespace() != "/x" || s.Manager() != m {
		t.Fatalf("socket of a closed Manager: active=%v", s.Active())
	}
	ch := s.addWaiter()
	s.Connect()
	var cerr *ConnectError
	if err := <-ch; !errors.As(err, &cerr) || !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("connect on a closed Manager: %v", err)
	}
}
