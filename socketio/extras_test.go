package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/client"
	"github.com/chatd/chatd/socketio/engine"
)

// dialGo connects the Go client to base's namespace nsp over WebSocket.
func dialGo(t *testing.T, base, nsp string) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, base+nsp, &client.Options{ForceNew: true, DisableReconnection: true, Transports: []string{client.TransportWebSocket}})
	if err != nil {
		t.Fatalf("dial %s: %v", nsp, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

func TestBroadcastEmitWithAck(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) { s.Join("ackers") })
	base := startServer(t, srv)
	ctx := context.Background()

	// No client: answers at once.
	res, err := srv.To("ackers").Timeout(time.Second).EmitWithAck(ctx, "q")
	if err != nil || len(res) != 0 {
		t.Fatalf("no clients: %v %v", res, err)
	}

	var clients []*client.Socket
	for i := range 3 {
		c := dialGo(t, base, "/")
		answer := i
		c.On("q", func(x int, ack client.Ack) {
			if answer == 2 {
				return // never answers
			}
			_ = ack(x*10+answer, "second argument dropped")
		})
		clients = append(clients, c)
	}
	testutil.Eventually(t, 5*time.Second, "3 sockets in the room", func() bool { return srv.Sockets().Adapter().RoomSize("ackers") == 3 })

	res, err = srv.To("ackers").Timeout(300*time.Millisecond).EmitWithAck(ctx, "q", 4)
	if !errors.Is(err, socketio.ErrTimeout) {
		t.Fatalf("err %v, want a timeout", err)
	}
	var got []int
	for _, a := range res {
		if a.Len() != 1 {
			t.Fatalf("response %v: want the first argument only", a)
		}
		var n int
		_ = a.Decode(0, &n)
		got = append(got, n)
	}
	sort.Ints(got)
	if !slices.Equal(got, []int{40, 41}) {
		t.Fatalf("partial responses %v", got)
	}

	// Everyone answers: complete before the timeout.
	_ = clients[2].Close()
	testutil.Eventually(t, 5*time.Second, "2 sockets in the room", func() bool { return srv.Sockets().Adapter().RoomSize("ackers") == 2 })
	start := time.Now()
	res, err = srv.To("ackers").Timeout(5*time.Second).EmitWithAck(ctx, "q", 1)
	if err != nil || len(res) != 2 || time.Since(start) > 4*time.Second {
		t.Fatalf("full responses %v %v after %v", res, err, time.Since(start))
	}
}

func TestSocketMiddlewareOnceOffAndCatchAll(t *testing.T) {
	srv := socketio.NewServer(nil)
	type rec struct{ kind, event string }
	events := make(chan rec, 64)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Use(func(event string, args socketio.Args) error {
			if event == "forbidden" {
				return errors.New("forbidden event")
			}
			return nil
		})
		s.OnError(func(err error) { events <- rec{"error", err.Error()} })
		s.PrependAny(func(event string, _ socketio.Args) { events <- rec{"any-first", event} })
		offAny := s.OnAny(func(event string, _ socketio.Args) { events <- rec{"any", event} })
		s.Once("one", func() { events <- rec{"once", "one"} })
		off := s.On("two", func() { events <- rec{"on", "two"} })
		s.On("stop", func() {
			off()
			offAny()
			events <- rec{"on", "stop"}
		})
		s.OnAnyOutgoing(func(event string, args socketio.Args) {
			events <- rec{"out", event + args.String()}
		})
		s.On("echo", func(v string, ack socketio.Ack) { _ = s.Emit("reply", v); _ = ack() })
	})
	base := startServer(t, srv)
	c := dialGo(t, base, "/")
	ctx := context.Background()
	emit := func(ev string) {
		if _, err := c.EmitWithAck(ctx, "echo", ev); err != nil {
			t.Fatal(err)
		}
		_ = c.Emit(ev)
	}
	emit("x")
	want := []rec{{"any-first", "echo"}, {"any", "echo"}, {"out", `reply["x"]`}}
	for _, w := range want {
		if got := recv(t, events); got != w {
			t.Fatalf("got %+v, want %+v", got, w)
		}
	}
	for _, ev := range []string{"one", "one", "two", "forbidden", "stop", "two"} {
		_ = c.Emit(ev)
	}
	_, _ = c.EmitWithAck(ctx, "echo", "end")
	var got []rec
	for {
		r := recv(t, events)
		got = append(got, r)
		if r.kind == "out" {
			break
		}
	}
	wantAfter := []rec{
		{"any-first", "x"}, {"any", "x"},
		{"any-first", "one"}, {"any", "one"}, {"once", "one"},
		{"any-first", "one"}, {"any", "one"},
		{"any-first", "two"}, {"any", "two"}, {"on", "two"},
		{"error", "forbidden event"},
		{"any-first", "stop"}, {"any", "stop"}, {"on", "stop"},
		{"any-first", "two"},
		{"any-first", "echo"},
		{"out", `reply["end"]`},
	}
	if !slices.Equal(got, wantAfter) {
		t.Fatalf("got\n%v\nwant\n%v", got, wantAfter)
	}
}

func TestOutgoingListenerSeesBroadcasts(t *testing.T) {
	srv := socketio.NewServer(nil)
	out := make(chan string, 4)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnAnyOutgoing(func(event string, args socketio.Args) { out <- event + args.String() })
		s.Join("r")
	})
	base := startServer(t, srv)
	c := dialGo(t, base, "/")
	got := make(chan string, 1)
	c.On("news", func(v string) { got <- v })
	testutil.Eventually(t, 5*time.Second, "room", func() bool { return srv.Sockets().Adapter().RoomSize("r") == 1 })
	if err := srv.To("r").Emit("news", "hi"); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, got); v != "hi" {
		t.Fatal(v)
	}
	if v := recv(t, out); v != `news["hi"]` {
		t.Fatalf("outgoing %q", v)
	}
}

func TestVolatileDropsWhenNotWritable(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{MaxQueuedBytes: 256 << 20}})
	ready := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) { ready <- s })
	base := startServer(t, srv)
	// A raw connection that does not read: once the socket buffers are
	// full, the server cannot write right away and volatile events are
	// dropped, while ordinary ones are queued.
	w := dialWire(t, base)
	w.Connect("/", nil)
	s := recv(t, ready)
	filler := strings.Repeat("x", 512<<10)
	sent := 0
	for ; sent < 200 && srv.Engine().Session(s.ConnID()).Writable(); sent++ {
		_ = s.Emit("filler", filler)
		time.Sleep(2 * time.Millisecond)
	}
	if srv.Engine().Session(s.ConnID()).Writable() {
		t.Skip("the transport stayed writable; nothing to check")
	}
	if err := s.Volatile().Emit("volatile", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Volatile().Emit("volatile", 2); err != nil {
		t.Fatal(err)
	}
	_ = s.Emit("after")
	for i := 0; i < sent; i++ {
		if got := w.ReadText(); !strings.HasPrefix(got, `42["filler"`) {
			t.Fatalf("frame %d: %.40q", i, got)
		}
	}
	w.Expect(`42["after"]`)
}

func TestServerSideEmitSingleNodeIsNoop(t *testing.T) {
	srv := socketio.NewServer(nil)
	if err := srv.Sockets().ServerSideEmit(context.Background(), "hello", 1); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Sockets().ServerSideEmitWithAck(context.Background(), "hello")
	if err != nil || res != nil {
		t.Fatalf("%v %v", res, err)
	}
	if err := srv.Sockets().ServerSideEmit(context.Background(), "disconnect"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Fatal(err)
	}
}

func TestFetchSocketsAndUtilities(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		var auth struct{ Name string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		s.SetData(auth.Name)
		s.Join("all")
	})
	base := startServer(t, srv)
	ctx := context.Background()
	names := []string{"ann", "bob", "cid"}
	gotMsg := make(chan string, 8)
	var mu sync.Mutex
	disconnected := map[string]bool{}
	for _, n := range names {
		c, err := client.Dial(ctx, base+"/", &client.Options{ForceNew: true, DisableReconnection: true, Auth: map[string]string{"name": n}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		name := n
		c.On("hey", func(v string) { gotMsg <- name + ":" + v })
		c.OnDisconnect(func(reason string) {
			mu.Lock()
			disconnected[name] = true
			mu.Unlock()
		})
	}
	testutil.Eventually(t, 5*time.Second, "3 sockets", func() bool { return srv.Sockets().SocketCount() == 3 })
	socks, err := srv.In("all").FetchSockets(ctx)
	if err != nil || len(socks) != 3 {
		t.Fatalf("fetch %d %v", len(socks), err)
	}
	var bob *socketio.RemoteSocket
	for _, rs := range socks {
		if rs.Data() == "bob" {
			bob = rs
		}
		if !rs.Local() || rs.Handshake() == nil || !slices.Contains(rs.Rooms(), "all") {
			t.Fatalf("socket %+v", rs)
		}
	}
	if err := bob.Join(ctx, "bobs"); err != nil {
		t.Fatal(err)
	}
	if err := srv.To("bobs").Emit("hey", "only bob"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, gotMsg); m != "bob:only bob" {
		t.Fatal(m)
	}
	if err := bob.Emit("hey", "direct"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, gotMsg); m != "bob:direct" {
		t.Fatal(m)
	}
	if err := srv.Sockets().Except("bobs").SocketsJoin(ctx, "others"); err != nil {
		t.Fatal(err)
	}
	ids, _ := srv.In("others").SocketIDs(ctx)
	if len(ids) != 2 {
		t.Fatalf("others %v", ids)
	}
	if err := srv.In("others").SocketsLeave(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	ids, _ = srv.In("all").SocketIDs(ctx)
	if len(ids) != 1 || ids[0] != bob.ID() {
		t.Fatalf("all %v", ids)
	}
	if err := srv.In("others").DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "two disconnected", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return disconnected["ann"] && disconnected["cid"] && !disconnected["bob"]
	})
}
