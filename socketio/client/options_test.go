package client

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

// TestURLQuery: the query of the URL is sent with every request, merged
// with Options.Query (the URL wins for a parameter in both); the protocol's
// own parameters cannot be overridden, and the caller's Query is left as
// it was.
func TestURLQuery(t *testing.T) {
	checkGoroutines(t)
	f := startFakeWS(t)
	query := url.Values{"room": {"other"}, "token": {"t"}}
	s := dial(t, f.URL+"/?room=lobby&x=1&x=2&EIO=3&transport=polling", &Options{
		Transports: []string{TransportWebSocket}, Query: query, ReconnectionDelay: 10 * time.Millisecond})
	got := recv(t, f.queries, "handshake query")
	want := url.Values{"room": {"lobby"}, "x": {"1", "2"}, "token": {"t"}, "EIO": {"4"}, "transport": {"websocket"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("handshake query %v, want %v", got, want)
	}
	if !reflect.DeepEqual(query, url.Values{"room": {"other"}, "token": {"t"}}) {
		t.Fatalf("Options.Query modified: %v", query)
	}
	if s.Namespace() != "/" {
		t.Fatalf("namespace %q", s.Namespace())
	}

	// Every request carries it: a reconnection's handshake, and the
	// polling requests (the handshake GET, then with the sid).
	recv(t, f.conns, "connection").reset(t)
	if got := recv(t, f.queries, "reconnection query"); !reflect.DeepEqual(got, want) {
		t.Fatalf("reconnection query %v, want %v", got, want)
	}
	u, err := url.Parse(f.URL + "/chat?room=lobby")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := newConfig(&Options{Query: url.Values{"token": {"t"}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newManager(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := &engineConn{cfg: m.cfg, base: m.base, sid: "abc"}
	for _, tt := range []struct {
		transport string
		withSID   bool
		want      url.Values
	}{
		{TransportPolling, false, url.Values{"room": {"lobby"}, "token": {"t"}, "EIO": {"4"}, "transport": {"polling"}}},
		{TransportPolling, true, url.Values{"room": {"lobby"}, "token": {"t"}, "EIO": {"4"}, "transport": {"polling"}, "sid": {"abc"}}},
		{TransportWebSocket, true, url.Values{"room": {"lobby"}, "token": {"t"}, "EIO": {"4"}, "transport": {"websocket"}, "sid": {"abc"}}},
	} {
		ru, err := url.Parse(e.requestURL(tt.transport, tt.withSID))
		if err != nil {
			t.Fatal(err)
		}
		if ru.Path != "/socket.io/" || !reflect.DeepEqual(ru.Query(), tt.want) {
			t.Errorf("%s request %s, want the query %v", tt.transport, ru, tt.want)
		}
	}

	for _, bad := range []string{"http://127.0.0.1:1/?a=%zz", "http://127.0.0.1:1/?a;b"} {
		if _, err := NewManager(bad, nil); err == nil {
			t.Errorf("NewManager(%q) accepted", bad)
		}
		if _, err := Connect(bad, &Options{ForceNew: true}); err == nil {
			t.Errorf("Connect(%q) accepted", bad)
		}
	}
}

// TestNoReconnectionAttempts: with NoReconnectionAttempts, a lost
// connection is followed by OnReconnectFailed and by no attempt, as the
// official client does with reconnectionAttempts: 0; Socket.Connect still
// connects again.
func TestNoReconnectionAttempts(t *testing.T) {
	checkGoroutines(t)
	f := startFakeWS(t)
	m, err := NewManager(f.URL, &Options{Transports: []string{TransportWebSocket},
		ReconnectionAttempts: NoReconnectionAttempts, ReconnectionDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	failed := make(chan struct{}, 2)
	attempts := make(chan int, 2)
	m.OnReconnectFailed(func() { failed <- struct{}{} })
	m.OnReconnectAttempt(func(n int) { attempts <- n })
	s := m.Socket("/", &SocketOptions{NoAutoConnect: true})
	reasons := make(chan string, 2)
	s.OnDisconnect(func(r string) { reasons <- r })
	s.Connect()
	recv(t, f.conns, "connection").reset(t)
	if r := recv(t, reasons, "disconnect"); r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
	recv(t, failed, "OnReconnectFailed")
	m.mu.Lock()
	pending := m.reconnecting || m.opening || m.eng != nil
	m.mu.Unlock()
	if pending {
		t.Fatal("a reconnection is pending after OnReconnectFailed")
	}
	if len(attempts) != 0 || s.Connected() {
		t.Fatalf("%d attempts, connected %v", len(attempts), s.Connected())
	}
	// The events of the Manager come in order: an attempt would have
	// been reported before this one.
	done := make(chan struct{})
	m.events.push(func() { close(done) })
	recv(t, done, "the Manager's events")
	if len(attempts) != 0 {
		t.Fatal("a reconnection attempt was made")
	}

	s.Disconnect()
	ch := s.addWaiter()
	s.Connect()
	if err := recv(t, ch, "connect"); err != nil {
		t.Fatal(err)
	}
	recv(t, f.conns, "new connection")
}

// NoAutoConnect leaves the socket idle until Connect.
func TestNoAutoConnect(t *testing.T) {
	checkGoroutines(t)
	f := startFakeWS(t)
	m, err := NewManager(f.URL, &Options{Transports: []string{TransportWebSocket}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", &SocketOptions{NoAutoConnect: true})
	if s.Active() {
		t.Fatal("active before Connect")
	}
	connects := make(chan string, 1)
	s.OnConnect(func() { connects <- s.ID() })
	s.Connect()
	c := recv(t, f.conns, "connection")
	if id := recv(t, connects, "connect"); id != c.sid {
		t.Fatalf("socket id %q, server's %q", id, c.sid)
	}
}
