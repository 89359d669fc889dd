package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/parser"
)

// broker makes the PubSub of one node of a test cluster.
type broker struct {
	name string
	// node returns the PubSub of a new node.
	node func(t *testing.T) PubSub
}

// forEachBroker runs f once with the in-process broker and once with
// Redis, each node of the Redis cluster having its own client.
func forEachBroker(t *testing.T, f func(t *testing.T, b broker)) {
	t.Run("memory", func(t *testing.T) {
		checkGoroutines(t)
		mb := NewMemoryBroker()
		f(t, broker{name: "memory", node: func(*testing.T) PubSub { return mb }})
	})
	t.Run("redis", func(t *testing.T) {
		needRedis(t)
		checkGoroutines(t)
		f(t, broker{name: "redis", node: func(t *testing.T) PubSub {
			c := redis.NewClient(&redis.Options{Addr: redisAddr()})
			t.Cleanup(func() { _ = c.Close() })
			return NewRedisPubSub(c, nil)
		}})
	})
}

// testCluster builds adapters of one namespace on several nodes.
type testCluster struct {
	t    *testing.T
	b    broker
	key  string
	opts Options
}

func newCluster(t *testing.T, b broker, opts Options) *testCluster {
	opts.Key = testKey()
	return &testCluster{t: t, b: b, key: opts.Key, opts: opts}
}

// node starts a node's adapter of namespace nsp and waits for its
// subscriptions.
func (c *testCluster) node(nsp string, tweak ...func(*Options)) (*Adapter, *adaptertest.Emitter) {
	opts := c.opts
	for _, f := range tweak {
		f(&opts)
	}
	e := adaptertest.NewEmitter(nsp)
	a := NewAdapter(e, c.b.node(c.t), opts)
	c.t.Cleanup(func() {
		_ = a.Close()
		e.WaitAcks()
	})
	waitReady(c.t, a)
	return a, e
}

func event(nsp, data string) *adapter.Packet {
	return &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: nsp, Data: []byte(data)}}
}

// sync broadcasts a marker from a to every socket and waits until it
// reached socket id of e: the broadcasts a published before have been
// handled by e's node by then.
func syncNode(t *testing.T, a *Adapter, e *adaptertest.Emitter, id string) {
	t.Helper()
	marker := `["sync","` + newID() + `"]`
	if err := a.Broadcast(context.Background(), event(a.nsp, marker), adapter.BroadcastOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "marker at "+id, func() bool { return slices.Contains(e.Delivered(id), marker) })
}

// received returns the payloads of a socket, markers left out.
func received(e *adaptertest.Emitter, id string) []string {
	var out []string
	for _, p := range e.Delivered(id) {
		if len(p) > 8 && p[:8] == `["sync",` {
			continue
		}
		out = append(out, p)
	}
	return out
}

func TestConformance(t *testing.T) {
	t.Run("memory broker, one node", func(t *testing.T) {
		mb := NewMemoryBroker()
		adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter {
			return NewAdapter(e, mb, Options{Key: testKey()})
		})
	})
	t.Run("redis, two nodes", func(t *testing.T) {
		needRedis(t)
		adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter {
			c := redis.NewClient(&redis.Options{Addr: redisAddr()})
			key := testKey()
			other := NewAdapter(adaptertest.NewEmitter(e.Name()), NewRedisPubSub(c, nil), Options{Key: key})
			a := NewAdapter(e, NewRedisPubSub(c, nil), Options{Key: key})
			waitReady(t, a, other)
			t.Cleanup(func() {
				_ = other.Close()
				_ = c.Close()
			})
			return a
		})
	})
}

func TestBroadcastAcrossNodes(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, ea := c.node("/chat")
		bn, eb := c.node("/chat")
		addSocket(ea, a, "a1", nil, "r1")
		addSocket(ea, a, "a2", nil)
		addSocket(eb, bn, "b1", nil, "r1")
		addSocket(eb, bn, "b2", nil, "r2")
		ctx := context.Background()

		cases := []struct {
			name string
			opts adapter.BroadcastOptions
			want []string
		}{
			{"room", adapter.BroadcastOptions{Rooms: []string{"r1"}}, []string{"a1", "b1"}},
			{"rooms once", adapter.BroadcastOptions{Rooms: []string{"r1", "r2", "b1"}}, []string{"a1", "b1", "b2"}},
			{"everyone", adapter.BroadcastOptions{}, []string{"a1", "a2", "b1", "b2"}},
			{"except room", adapter.BroadcastOptions{Except: []string{"r1"}}, []string{"a2", "b2"}},
			{"except socket", adapter.BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"b1"}}, []string{"a1"}},
			{"remote socket id", adapter.BroadcastOptions{Rooms: []string{"b2"}}, []string{"b2"}},
			{"local flag", adapter.BroadcastOptions{Flags: adapter.Flags{Local: true}}, []string{"a1", "a2"}},
		}
		for i, tc := range cases {
			data := `["ev",` + string(rune('0'+i)) + `]`
			if err := a.Broadcast(ctx, event("/chat", data), tc.opts); err != nil {
				t.Fatal(err)
			}
			syncNode(t, a, eb, "b1")
			syncNode(t, a, eb, "b2")
			var got []string
			for _, id := range []string{"a1", "a2", "b1", "b2"} {
				n := 0
				for _, p := range received(map[bool]*adaptertest.Emitter{true: ea, false: eb}[id[0] == 'a'], id) {
					if p == data {
						n++
					}
				}
				if n > 1 {
					t.Errorf("%s: %s received it %d times", tc.name, id, n)
				}
				if n == 1 {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: receivers %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}

func TestBroadcastOrderAndBinary(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, _ := c.node("/")
		bn, eb := c.node("/")
		addSocket(eb, bn, "b1", nil, "room")
		ctx := context.Background()
		for i := range 50 {
			d, _ := json.Marshal([]any{"n", i})
			if err := a.Broadcast(ctx, event("/", string(d)), adapter.BroadcastOptions{Rooms: []string{"room"}}); err != nil {
				t.Fatal(err)
			}
		}
		bin := &adapter.Packet{
			Packet: parser.Packet{Type: parser.BinaryEvent, Namespace: "/", Attachments: 2,
				Data: []byte(`["file",{"name":"x","body":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},1.5,-7,null,true,"é<>"]`)},
			Attachments: [][]byte{{1, 2, 3}, {}},
		}
		if err := a.Broadcast(ctx, bin, adapter.BroadcastOptions{}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "51 packets", func() bool { return len(eb.Packets("b1")) == 51 })
		pkts := eb.Packets("b1")
		for i := range 50 {
			d, _ := json.Marshal([]any{"n", i})
			if string(pkts[i].Data) != string(d) {
				t.Fatalf("packet %d: %s, want %s", i, pkts[i].Data, d)
			}
		}
		got := pkts[50]
		if got.Type != parser.BinaryEvent || got.Packet.Attachments != 2 || got.Namespace != "/" {
			t.Fatalf("binary packet header %+v", got.Packet)
		}
		if string(got.Data) != string(bin.Data) {
			t.Fatalf("binary payload %s", got.Data)
		}
		if len(got.Attachments) != 2 || string(got.Attachments[0]) != "\x01\x02\x03" || len(got.Attachments[1]) != 0 {
			t.Fatalf("attachments %v", got.Attachments)
		}
	})
}

func TestNamespacesAreSeparate(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, _ := c.node("/a")
		bA, ebA := c.node("/a")
		bB, ebB := c.node("/b")
		addSocket(ebA, bA, "x", nil)
		addSocket(ebB, bB, "y", nil)
		if err := a.Broadcast(context.Background(), event("/a", `["only a"]`), adapter.BroadcastOptions{}); err != nil {
			t.Fatal(err)
		}
		syncNode(t, a, ebA, "x")
		aB, _ := c.node("/b")
		syncNode(t, aB, ebB, "y")
		if got := received(ebB, "y"); len(got) != 0 {
			t.Fatalf("namespace /b received %v", got)
		}
		if got := received(ebA, "x"); !slices.Equal(got, []string{`["only a"]`}) {
			t.Fatalf("namespace /a received %v", got)
		}
		if n, err := a.ServerCount(context.Background()); err != nil || n != 2 {
			t.Fatalf("ServerCount of /a: %d, %v", n, err)
		}
	})
}

func TestFetchSocketsAcrossNodes(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, ea := c.node("/")
		bn, eb := c.node("/")
		addSocket(ea, a, "a1", map[string]any{"user": "ann"}, "r1")
		addSocket(eb, bn, "b1", map[string]any{"user": "bob", "n": 3}, "r1")
		addSocket(eb, bn, "b2", "plain", "r2")
		ctx := context.Background()

		infos, err := a.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r1"}})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]adapter.SocketInfo{}
		for _, in := range infos {
			byID[in.ID] = in
		}
		if len(infos) != 2 || !byID["a1"].Local || byID["b1"].Local {
			t.Fatalf("FetchSockets r1: %+v", infos)
		}
		b1 := byID["b1"]
		if d, ok := b1.Data.(map[string]any); !ok || d["user"] != "bob" || d["n"] != 3.0 {
			t.Fatalf("remote data %#v", b1.Data)
		}
		if !slices.Equal(sorted(b1.Rooms), []string{"b1", "r1"}) {
			t.Fatalf("remote rooms %v", b1.Rooms)
		}
		h := b1.Handshake
		if h == nil || h.Headers["User-Agent"][0] != "test" || h.Query["EIO"][0] != "4" ||
			h.Address != "127.0.0.1" || h.Issued != 1700000000000 || string(h.Auth) != `{"token":"t"}` {
			t.Fatalf("remote handshake %+v", h)
		}

		// From the other side, with except.
		infos, err = bn.FetchSockets(ctx, adapter.BroadcastOptions{Except: []string{"r2"}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, in := range infos {
			ids = append(ids, in.ID)
		}
		if !slices.Equal(sorted(ids), []string{"a1", "b1"}) {
			t.Fatalf("FetchSockets except r2 from B: %v", ids)
		}

		for _, tc := range []struct {
			opts adapter.BroadcastOptions
			want []string
		}{
			{adapter.BroadcastOptions{}, []string{"a1", "b1", "b2"}},
			{adapter.BroadcastOptions{Rooms: []string{"r1"}}, []string{"a1", "b1"}},
			{adapter.BroadcastOptions{Except: []string{"b1"}}, []string{"a1", "b2"}},
			{adapter.BroadcastOptions{Flags: adapter.Flags{Local: true}}, []string{"a1"}},
		} {
			ids, err := a.Sockets(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sorted(ids), tc.want) {
				t.Fatalf("Sockets %+v: %v, want %v", tc.opts, ids, tc.want)
			}
		}

		rooms, err := a.AllRooms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sorted(rooms), []string{"a1", "b1", "b2", "r1", "r2"}) {
			t.Fatalf("AllRooms %v", rooms)
		}
	})
}

func TestSpecificResponseChannel(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{PublishOnSpecificResponseChannel: true})
		a, _ := c.node("/")
		bn, eb := c.node("/")
		addSocket(eb, bn, "b1", nil)
		ids, err := a.Sockets(context.Background(), adapter.BroadcastOptions{})
		if err != nil || !slices.Equal(ids, []string{"b1"}) {
			t.Fatalf("Sockets %v, %v", ids, err)
		}
	})
}

func TestRemoteJoinLeaveDisconnect(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, ea := c.node("/")
		bn, eb := c.node("/")
		addSocket(ea, a, "a1", nil, "r1")
		addSocket(eb, bn, "b1", nil, "r1")
		addSocket(eb, bn, "b2", nil, "r2")
		ctx := context.Background()

		if err := a.AddSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r1"}}, []string{"new", "other"}); err != nil {
			t.Fatal(err)
		}
		if a.RoomSize("new") != 1 {
			t.Fatal("local socket did not join at once")
		}
		testutil.Eventually(t, 10*time.Second, "remote join", func() bool { return bn.RoomSize("new") == 1 && bn.RoomSize("other") == 1 })
		if bn.RoomSize("r2") != 1 || slices.Contains(bn.SocketRooms("b2"), "new") {
			t.Fatal("join reached a socket outside the selection")
		}

		if err := bn.DelSockets(ctx, adapter.BroadcastOptions{}, []string{"other"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "remote leave", func() bool { return a.RoomSize("other") == 0 })
		if bn.RoomSize("other") != 0 || a.RoomSize("new") != 1 {
			t.Fatal("leave did not apply exactly")
		}

		if err := a.DisconnectSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r2"}}, true); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "remote disconnect", func() bool { return eb.Disconnected("b2") })
		syncNode(t, a, eb, "b1")
		if eb.Disconnected("b1") || ea.Disconnected("a1") {
			t.Fatal("disconnect reached a socket outside the selection")
		}

		// The local flag keeps the operation on this node.
		if err := a.AddSockets(ctx, adapter.BroadcastOptions{Flags: adapter.Flags{Local: true}}, []string{"loc"}); err != nil {
			t.Fatal(err)
		}
		syncNode(t, a, eb, "b1")
		if a.RoomSize("loc") != 1 || bn.RoomSize("loc") != 0 {
			t.Fatalf("local AddSockets: %d here, %d there", a.RoomSize("loc"), bn.RoomSize("loc"))
		}
	})
}

func TestServerCount(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, _ := c.node("/")
		ctx := context.Background()
		if n, err := a.ServerCount(ctx); err != nil || n != 1 {
			t.Fatalf("one node: %d, %v", n, err)
		}
		bn, _ := c.node("/")
		c.node("/")
		if n, err := a.ServerCount(ctx); err != nil || n != 3 {
			t.Fatalf("three nodes: %d, %v", n, err)
		}
		_ = bn.Close()
		testutil.Eventually(t, 10*time.Second, "count after close", func() bool {
			n, err := a.ServerCount(ctx)
			return err == nil && n == 2
		})
	})
}

func TestServerSideEmit(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		var mu sync.Mutex
		var got []string
		c := newCluster(t, b, Options{})
		a, ea := c.node("/")
		ea.OnServerSide(func([]json.RawMessage, func(any)) { t.Error("sender received its own event") })
		for _, name := range []string{"b", "c"} {
			_, e := c.node("/")
			e.OnServerSide(func(args []json.RawMessage, ack func(any)) {
				mu.Lock()
				got = append(got, name+":"+e.Name()+":"+string(args[0])+":"+string(args[1]))
				mu.Unlock()
				if ack != nil {
					ack(map[string]string{"from": name})
				}
			})
		}
		ctx := context.Background()
		if err := a.ServerSideEmit(ctx, "hello", 42); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "server-side events", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == 2
		})
		mu.Lock()
		if !slices.Equal(sorted(got), []string{`b:/:"hello":42`, `c:/:"hello":42`}) {
			t.Fatalf("received %v", got)
		}
		mu.Unlock()
		resps, err := a.ServerSideEmitWithAck(ctx, "ping", "x")
		if err != nil {
			t.Fatal(err)
		}
		var froms []string
		for _, r := range resps {
			var m map[string]string
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			froms = append(froms, m["from"])
		}
		if !slices.Equal(sorted(froms), []string{"b", "c"}) {
			t.Fatalf("answers %v", froms)
		}
		if err := a.ServerSideEmit(ctx, 1); err == nil {
			t.Fatal("an event name that is not a string was accepted")
		}
	})
}

func TestBroadcastWithAck(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{})
		a, ea := c.node("/")
		bn, eb := c.node("/")
		ack := func(sid string) adapter.Ack {
			return adapter.Ack{Args: []byte(`["ok-` + sid + `",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte(sid)}}
		}
		ea.AutoAck(ack)
		eb.AutoAck(ack)
		addSocket(ea, a, "a1", nil, "r")
		addSocket(eb, bn, "b1", nil, "r")
		addSocket(eb, bn, "b2", nil, "r")
		addSocket(eb, bn, "b3", nil)

		var mu sync.Mutex
		var counts []int
		var acks []string
		pkt := event("/", `["question"]`)
		err := a.BroadcastWithAck(context.Background(), pkt, adapter.BroadcastOptions{Rooms: []string{"r"}, Flags: adapter.Flags{Timeout: 5 * time.Second}},
			func(n int) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
			func(ack adapter.Ack) { mu.Lock(); acks = append(acks, string(ack.Args)); mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "counts and acks", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(counts) == 2 && len(acks) == 3
		})
		mu.Lock()
		defer mu.Unlock()
		if counts[0]+counts[1] != 3 || !slices.Contains(counts, 1) {
			t.Fatalf("client counts %v", counts)
		}
		// Local acks arrive whole; remote ones carry the first argument.
		want := []string{`["ok-a1",{"_placeholder":true,"num":0}]`, `["ok-b1"]`, `["ok-b2"]`}
		if !slices.Equal(sorted(acks), want) {
			t.Fatalf("acks %v", acks)
		}
		if got := eb.Delivered("b3"); len(got) != 0 {
			t.Fatalf("b3 outside the room received %v", got)
		}
	})
}

// silentNode subscribes to the request channel of namespace nsp and never
// answers, as a node that hangs.
func silentNode(t *testing.T, ps PubSub, key, nsp string) {
	sub := ps.Subscribe([]string{key + "-request#" + nsp + "#"}, nil, func(string, []byte) {})
	t.Cleanup(func() { _ = sub.Close() })
	select {
	case <-sub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("silent node not subscribed")
	}
}

func TestRequestTimeout(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		c := newCluster(t, b, Options{RequestsTimeout: 300 * time.Millisecond})
		a, ea := c.node("/")
		bn, eb := c.node("/")
		addSocket(ea, a, "a1", nil)
		addSocket(eb, bn, "b1", nil)
		silentNode(t, b.node(t), c.key, "/")
		ctx := context.Background()
		if n, _ := a.ServerCount(ctx); n != 3 {
			t.Fatalf("ServerCount %d", n)
		}

		start := time.Now()
		infos, err := a.FetchSockets(ctx, adapter.BroadcastOptions{})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("FetchSockets error %v", err)
		}
		if el := time.Since(start); el < 300*time.Millisecond || el > 5*time.Second {
			t.Fatalf("timed out after %v", el)
		}
		var ids []string
		for _, in := range infos {
			ids = append(ids, in.ID)
		}
		if !slices.Equal(sorted(ids), []string{"a1", "b1"}) {
			t.Fatalf("partial result %v", ids)
		}
		t.Log(err)

		ids, err = a.Sockets(ctx, adapter.BroadcastOptions{})
		if !errors.Is(err, ErrTimeout) || !slices.Equal(sorted(ids), []string{"a1", "b1"}) {
			t.Fatalf("Sockets %v, %v", ids, err)
		}
		if _, err := a.AllRooms(ctx); !errors.Is(err, ErrTimeout) {
			t.Fatalf("AllRooms error %v", err)
		}
		if _, err := a.ServerSideEmitWithAck(ctx, "ping"); !errors.Is(err, ErrTimeout) {
			t.Fatalf("ServerSideEmitWithAck error %v", err)
		}

		// A context ending first wins.
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := a.FetchSockets(cctx, adapter.BroadcastOptions{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("FetchSockets with a short context: %v", err)
		}

		// Close fails the requests still waiting.
		done := make(chan error, 1)
		go func() {
			_, err := a.FetchSockets(ctx, adapter.BroadcastOptions{})
			done <- err
		}()
		testutil.Eventually(t, 10*time.Second, "request pending", func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			return len(a.requests) == 1
		})
		_ = a.Close()
		if err := <-done; !errors.Is(err, adapter.ErrClosed) {
			t.Fatalf("request after Close: %v", err)
		}
		if _, err := a.ServerCount(ctx); !errors.Is(err, adapter.ErrClosed) {
			t.Fatalf("ServerCount after Close: %v", err)
		}
	})
}

// TestServerSideReceiver: the namespace (the Emitter) takes the events of
// the other nodes and answers them.
func TestServerSideReceiver(t *testing.T) {
	mb := NewMemoryBroker()
	key := testKey()
	e := adaptertest.NewEmitter("/")
	got := make(chan []json.RawMessage, 1)
	e.OnServerSide(func(args []json.RawMessage, ack func(any)) {
		got <- args
		if ack != nil {
			ack("from the namespace")
		}
	})
	b := NewAdapter(e, mb, Options{Key: key})
	defer b.Close()
	a := NewAdapter(adaptertest.NewEmitter("/"), mb, Options{Key: key})
	defer a.Close()
	resps, err := a.ServerSideEmitWithAck(context.Background(), "ev", 1)
	if err != nil || len(resps) != 1 || string(resps[0]) != `"from the namespace"` {
		t.Fatalf("answers %s, %v", resps, err)
	}
	if args := <-got; len(args) != 2 || string(args[0]) != `"ev"` || string(args[1]) != "1" {
		t.Fatalf("args %s", args)
	}
}
