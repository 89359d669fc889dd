package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/socketiotest"
)

func TestRoomsAndBroadcast(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack socketio.Ack) { s.Join(room); _ = ack() })
		s.On("leave", func(room string, ack socketio.Ack) { s.Leave(room); _ = ack() })
		s.On("to", func(room, msg string) { _ = s.To(room).Emit("msg", msg) })
		s.On("all", func(msg string) { _ = s.Broadcast().Emit("msg", msg) })
	})
	base := startServer(t, srv)
	a, b, c := dialWire(t, base), dialWire(t, base), dialWire(t, base)
	idA, idB, _ := a.Connect("/", nil), b.Connect("/", nil), c.Connect("/", nil)
	a.Send(`420["join","r1"]`)
	a.Expect(`430[]`)
	b.Send(`420["join","r1"]`)
	b.Expect(`430[]`)
	b.Send(`421["join","r2"]`)
	b.Expect(`431[]`)

	// To a room from a member: the other member only.
	a.Send(`42["to","r1","hello"]`)
	b.Expect(`42["msg","hello"]`)
	// Server-side room broadcast with Except, from outside.
	if err := srv.To("r1").Except(idB).Emit("msg", "not b"); err != nil {
		t.Fatal(err)
	}
	a.Expect(`42["msg","not b"]`)
	// A socket in several target rooms receives once.
	if err := srv.To("r1", "r2").Emit("msg", "once"); err != nil {
		t.Fatal(err)
	}
	a.Expect(`42["msg","once"]`)
	b.Expect(`42["msg","once"]`)
	// Broadcast reaches everyone but the sender; c got nothing before.
	c.Send(`42["all","hi all"]`)
	a.Expect(`42["msg","hi all"]`)
	b.Expect(`42["msg","hi all"]`)
	// A socket id is a room.
	if err := srv.To(idA).Emit("msg", "direct"); err != nil {
		t.Fatal(err)
	}
	a.Expect(`42["msg","direct"]`)
	// Namespace-wide emit.
	if err := srv.Emit("msg", "everyone"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*socketiotest.Conn{a, b, c} {
		w.Expect(`42["msg","everyone"]`)
	}
	// Leaving a room stops delivery.
	b.Send(`422["leave","r1"]`)
	b.Expect(`432[]`)
	_ = srv.To("r1").Emit("msg", "after leave")
	a.Expect(`42["msg","after leave"]`)
	_ = srv.To(idB).Emit("msg", "b still here")
	b.Expect(`42["msg","b still here"]`)

	ids, err := srv.Sockets().In("r2").SocketIDs(context.Background())
	if err != nil || len(ids) != 1 || ids[0] != idB {
		t.Fatalf("r2 sockets = %v, %v; want [%s]", ids, err, idB)
	}
	if err := srv.Emit("disconnect"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Fatalf("reserved emit: %v", err)
	}
}

func TestMiddlewareRejectsWithData(t *testing.T) {
	srv := socketio.NewServer(nil)
	var order []string
	var mu sync.Mutex
	srv.Of("/private").
		Use(func(s *socketio.Socket) error {
			mu.Lock()
			order = append(order, "first")
			mu.Unlock()
			s.Join("joined-in-middleware")
			return nil
		}).
		Use(func(s *socketio.Socket) error {
			mu.Lock()
			order = append(order, "second")
			mu.Unlock()
			var auth struct{ Token string }
			_ = jsonUnmarshal(s.Handshake().Auth, &auth)
			if auth.Token != "ok" {
				return socketio.NewConnectError("unauthorized", map[string]any{"code": 401})
			}
			return nil
		}).
		OnConnection(func(s *socketio.Socket) {
			rooms := s.Rooms()
			sort.Strings(rooms)
			_ = s.Emit("rooms", rooms)
		})
	w := dialWire(t, startServer(t, srv))
	w.Send(`40/private,{"token":"bad"}`)
	w.Expect(`44/private,{"message":"unauthorized","data":{"code":401}}`)
	if n := srv.Of("/private").Adapter().RoomSize("joined-in-middleware"); n != 0 {
		t.Fatalf("rejected socket left in room (%d)", n)
	}
	w.Send(`40/private,{"token":"ok"}`)
	sid := w.ExpectMatch(`40/private,\{"sid":"[^"]{20}"\}`)[len(`40/private,{"sid":"`):][:20]
	rooms := []string{sid, "joined-in-middleware"}
	sort.Strings(rooms)
	b, _ := jsonMarshal(rooms)
	w.Expect(`42/private,["rooms",` + string(b) + `]`)
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 4 || order[0] != "first" || order[1] != "second" {
		t.Fatalf("middleware order %v", order)
	}
}

func TestDynamicNamespaces(t *testing.T) {
	srv := socketio.NewServer(nil)
	var created []string
	var mu sync.Mutex
	srv.OnNewNamespace(func(ns *socketio.Namespace) {
		mu.Lock()
		created = append(created, ns.Name())
		mu.Unlock()
	})
	parent := srv.OfRegexp(regexp.MustCompile(`^/team-\d+$`))
	parent.Use(func(s *socketio.Socket) error {
		if s.Handshake().Query.Get("deny") != "" {
			return errors.New("denied by parent")
		}
		return nil
	})
	parent.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hello", s.Namespace().Name()) })
	base := startServer(t, srv)
	w := dialWire(t, base)
	w.Connect("/team-42", nil)
	w.Expect(`42/team-42,["hello","/team-42"]`)
	w.Send(`40/team-x`)
	w.Expect(`44/team-x,{"message":"Invalid namespace"}`)
	// Emitting on the parent reaches the children.
	if err := parent.Emit("news", 1); err != nil {
		t.Fatal(err)
	}
	w.Expect(`42/team-42,["news",1]`)
	mu.Lock()
	if len(created) == 0 || created[len(created)-1] != "/team-42" {
		t.Fatalf("new namespace hook saw %v", created)
	}
	mu.Unlock()

	// The parent's middleware applies.
	u := base + "/socket.io/?deny=1"
	d := dialURL(t, u)
	d.Send(`40/team-7`)
	d.Expect(`44/team-7,{"message":"denied by parent"}`)
}

func TestEmitWithAckBothWaysAndTimeout(t *testing.T) {
	srv := socketio.NewServer(nil)
	results := make(chan string, 4)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("go", func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			args, err := s.EmitWithAck(ctx, "question", "q1")
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			var answer string
			_ = args.Decode(0, &answer)
			results <- answer
			ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel2()
			_, err = s.EmitWithAck(ctx2, "question", "q2")
			results <- errString(err)
		})
	})
	w := dialWire(t, startServer(t, srv))
	w.Connect("/", nil)
	w.Send(`42["go"]`)
	got := w.ExpectMatch(`42(\d+)\["question","q1"\]`)
	id := regexp.MustCompile(`^42(\d+)`).FindStringSubmatch(got)[1]
	w.Send(`43` + id + `["forty-two"]`)
	if r := <-results; r != "forty-two" {
		t.Fatalf("ack result %q", r)
	}
	w.ExpectMatch(`42\d+\["question","q2"\]`)
	if r := <-results; r != socketio.ErrTimeout.Error() {
		t.Fatalf("timeout result %q", r)
	}
}

func TestBinaryEmitFromServer(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("file", "name.bin", []byte{1, 2}, map[string]any{"nested": []byte{3}})
	})
	w := dialWire(t, startServer(t, srv))
	w.Connect("/", nil)
	w.Expect(`452-["file","name.bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`)
	w.ExpectBinary([]byte{1, 2})
	w.ExpectBinary([]byte{3})
}

func TestTypedHandlerArguments(t *testing.T) {
	srv := socketio.NewServer(nil)
	type point struct{ X, Y int }
	errs := make(chan error, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("move", func(p point, label string, data []byte, ack socketio.Ack) {
			_ = ack(p.X+p.Y, label, len(data))
		})
		s.OnError(func(err error) { errs <- err })
	})
	w := dialWire(t, startServer(t, srv))
	w.Connect("/", nil)
	w.Send(`451-7["move",{"X":2,"Y":3},"l",{"_placeholder":true,"num":0}]`)
	w.SendBinary([]byte("abcd"))
	w.Expect(`437[5,"l",4]`)
	w.Send(`42["move","not an object"]`)
	select {
	case err := <-errs:
		var ae *socketio.ArgError
		if !errors.As(err, &ae) || ae.Event != "move" || ae.Index != 0 {
			t.Fatalf("error %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no argument error reported")
	}
}

func TestDisconnectReasons(t *testing.T) {
	srv := socketio.NewServer(nil)
	reasons := make(chan string, 8)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnecting(func(r socketio.Reason) {
			reasons <- "disconnecting:" + string(r) + ":" + boolStr(s.In("room"))
		})
		s.OnDisconnect(func(r socketio.Reason) { reasons <- "disconnect:" + string(r) })
		s.Join("room")
		s.On("kick", func() { s.Disconnect(false) })
	})
	base := startServer(t, srv)

	w := dialWire(t, base)
	w.Connect("/", nil)
	w.Send(`41`)
	expectReasons(t, reasons, "disconnecting:client namespace disconnect:true", "disconnect:client namespace disconnect")

	w.Connect("/", nil)
	w.Send(`42["kick"]`)
	w.Expect(`41`)
	expectReasons(t, reasons, "disconnecting:server namespace disconnect:true", "disconnect:server namespace disconnect")

	w.Connect("/", nil)
	_ = w.WS.Close()
	expectReasons(t, reasons, "disconnecting:transport close:true", "disconnect:transport close")
	if n := srv.Sockets().Adapter().RoomSize("room"); n != 0 {
		t.Fatalf("room still has %d sockets", n)
	}
}

func TestPingTimeoutReason(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}})
	reasons := make(chan string, 2)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(r socketio.Reason) { reasons <- string(r) })
	})
	w := dialWire(t, startServer(t, srv))
	w.Send("40")
	select {
	case r := <-reasons:
		if r != "ping timeout" {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no disconnect")
	}
}

func TestDisconnectCloseEndsEveryNamespace(t *testing.T) {
	srv := socketio.NewServer(nil)
	reasons := make(chan string, 4)
	srv.Of("/a").OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(r socketio.Reason) { reasons <- "a:" + string(r) })
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(r socketio.Reason) { reasons <- "main:" + string(r) })
		s.On("bye", func() { s.Disconnect(true) })
	})
	w := dialWire(t, startServer(t, srv))
	w.Connect("/a", nil)
	w.Connect("/", nil)
	w.Send(`42["bye"]`)
	got := []string{<-reasons, <-reasons}
	sort.Strings(got)
	if got[0] != "a:server namespace disconnect" || got[1] != "main:server namespace disconnect" {
		t.Fatalf("reasons %v", got)
	}
	// Each namespace is told, then the connection closes.
	frames := []string{w.ReadText(), w.ReadText()}
	sort.Strings(frames)
	if frames[0] != "41" || frames[1] != "41/a," {
		t.Fatalf("frames %q, want 41 and 41/a,", frames)
	}
	w.ExpectClosed()
}

func TestServerCloseLeavesNoGoroutines(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(nil)
	reasons := make(chan string, 4)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(r socketio.Reason) { reasons <- string(r) })
		s.On("slow", func(ack socketio.Ack) { time.Sleep(50 * time.Millisecond); _ = ack() })
	})
	base := startServer(t, srv)
	ws := []*socketiotest.Conn{dialWire(t, base), dialWire(t, base)}
	for _, w := range ws {
		w.Connect("/", nil)
		w.Send(`421["slow"]`)
	}
	for _, w := range ws {
		w.Expect(`431[]`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for range ws {
		if r := <-reasons; r != "server shutting down" {
			t.Fatalf("reason %q", r)
		}
	}
	for _, w := range ws {
		w.ExpectClosed()
		_ = w.WS.Close()
	}
}

func TestHandlersOfOneSocketRunInOrder(t *testing.T) {
	srv := socketio.NewServer(nil)
	var mu sync.Mutex
	var seen []int
	var running, overlap bool
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("n", func(n int) {
			mu.Lock()
			if running {
				overlap = true
			}
			running = true
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running = false
			seen = append(seen, n)
			mu.Unlock()
		})
	})
	w := dialWire(t, startServer(t, srv))
	w.Connect("/", nil)
	for i := range 50 {
		w.Send(`42["n",` + itoa(i) + `]`)
	}
	testutil.Eventually(t, 5*time.Second, "50 events", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 50 })
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Fatal("handlers of one socket overlapped")
	}
	for i, n := range seen {
		if n != i {
			t.Fatalf("order %v", seen)
		}
	}
}

func TestCleanupEmptyChildNamespaces(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{CleanupEmptyChildNamespaces: true})
	srv.OfRegexp(regexp.MustCompile(`^/room-\d+$`)).Use(func(s *socketio.Socket) error {
		if s.Handshake().Query.Get("deny") != "" {
			return errors.New("denied")
		}
		return nil
	})
	base := startServer(t, srv)
	w := dialWire(t, base)
	w.Connect("/room-1", nil)
	if !srv.HasNamespace("/room-1") {
		t.Fatal("child namespace not created")
	}
	w.Send("41/room-1,")
	testutil.Eventually(t, 5*time.Second, "empty child removed", func() bool { return !srv.HasNamespace("/room-1") })
	// A later connection creates it again.
	w.Connect("/room-1", nil)
	if !srv.HasNamespace("/room-1") {
		t.Fatal("child namespace not created again")
	}
	// A child whose only client is refused by the middleware is removed.
	d := dialURL(t, base+"/socket.io/?deny=1")
	d.Send("40/room-2,")
	d.Expect(`44/room-2,{"message":"denied"}`)
	testutil.Eventually(t, 5*time.Second, "refused child removed", func() bool { return !srv.HasNamespace("/room-2") })

	// Without the option, children stay.
	keep := socketio.NewServer(nil)
	keep.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	k := dialWire(t, startServer(t, keep))
	k.Connect("/room-3", nil)
	k.Send("41/room-3,")
	time.Sleep(50 * time.Millisecond)
	if !keep.HasNamespace("/room-3") {
		t.Fatal("child removed without the option")
	}
}

// A child namespace whose sockets are all gone is kept while another
// socket is still in its middlewares: that socket counts as present, and
// connects to the namespace that stays registered.
func TestCleanupEmptyChildKeepsSocketsInMiddleware(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{CleanupEmptyChildNamespaces: true})
	entered, release := make(chan struct{}, 1), make(chan struct{})
	parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).Use(func(s *socketio.Socket) error {
		var auth struct{ Wait, Deny bool }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		switch {
		case auth.Deny:
			return errors.New("denied")
		case auth.Wait:
			entered <- struct{}{}
			<-release
		}
		return nil
	})
	left := make(chan string, 4)
	parent.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(socketio.Reason) { left <- s.ID() })
	})
	base := startServer(t, srv)
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // before the server closes, on a failure

	a := dialWire(t, base)
	aID := a.Connect("/dyn-1", nil)
	b := dialWire(t, base)
	b.Send(`40/dyn-1,{"wait":true}`)
	recv(t, entered)

	// The only connected socket leaves: by the time its disconnect
	// handler runs, the namespace has been kept or removed.
	a.Send("41/dyn-1,")
	if id := recv(t, left); id != aID {
		t.Fatalf("disconnected %q, want %q", id, aID)
	}
	if !srv.HasNamespace("/dyn-1") {
		t.Fatal("namespace removed while a socket is in its middleware")
	}
	// A refused socket does not remove it either.
	d := dialWire(t, base)
	d.Send(`40/dyn-1,{"deny":true}`)
	d.Expect(`44/dyn-1,{"message":"denied"}`)
	if !srv.HasNamespace("/dyn-1") {
		t.Fatal("namespace removed by a refused socket while another is in its middleware")
	}

	releaseOnce()
	b.ExpectMatch(`40/dyn-1,\{"sid":"[^"]+"\}`)
	if err := parent.Emit("hello"); err != nil {
		t.Fatal(err)
	}
	b.Expect(`42/dyn-1,["hello"]`)
	b.Send("41/dyn-1,")
	recv(t, left)
	testutil.Eventually(t, 5*time.Second, "the empty child removed", func() bool { return !srv.HasNamespace("/dyn-1") })
}

// A client that breaks the order of the namespace protocol has its
// connection closed, and its sockets get "forced server close", as with
// the reference's client.close(); an undecodable packet gives "parse
// error".
func TestForcedServerClose(t *testing.T) {
	srv := socketio.NewServer(nil)
	reasons := make(chan string, 8)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(r socketio.Reason) { reasons <- string(r) })
	})
	srv.Of("/other").OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(r socketio.Reason) { reasons <- "/other " + string(r) })
	})
	base := startServer(t, srv)
	for _, tc := range []struct{ name, frame, want string }{
		{"second CONNECT", "40", "forced server close"},
		{"namespace not joined", `42/nope,["x"]`, "forced server close"},
		{"CONNECT_ERROR from the client", `44{"message":"x"}`, "forced server close"},
		{"undecodable", `4abc`, "parse error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWire(t, base)
			c.Connect("/", nil)
			c.Connect("/other", nil)
			c.Send(tc.frame)
			c.ExpectClosed()
			got := []string{recv(t, reasons), recv(t, reasons)}
			sort.Strings(got)
			if want := []string{"/other " + tc.want, tc.want}; !slices.Equal(got, want) {
				t.Fatalf("reasons %q, want %q", got, want)
			}
		})
	}
}
