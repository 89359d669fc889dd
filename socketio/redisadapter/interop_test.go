package redisadapter

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// goNode is a socketio.Server on the Redis adapter, served over HTTP.
type goNode struct {
	srv *socketio.Server
	URL string
	ad  *Adapter

	mu         sync.Mutex
	serverSide []string
}

// startGoNode starts a Go node on Redis whose sockets join auth.rooms and
// keep auth.data as their data.
func startGoNode(t *testing.T, addr, key string) *goNode {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return startGoServer(t, NewRedisPubSub(rdb, nil), key)
}

// startGoServer is startGoNode on any PubSub.
func startGoServer(t *testing.T, ps PubSub, key string) *goNode {
	t.Helper()
	g := &goNode{}
	g.srv = socketio.NewServer(&socketio.Options{Adapter: New(ps, Options{
		Key:             key,
		RequestsTimeout: 3 * time.Second,
	})})
	g.srv.Sockets().OnServerSideEmit(func(event string, args []json.RawMessage, ack func(any)) {
		g.mu.Lock()
		g.serverSide = append(g.serverSide, strconv.Quote(event)+" "+string(args[0]))
		g.mu.Unlock()
		if ack != nil {
			ack("go-ack")
		}
	})
	g.srv.OnConnection(func(s *socketio.Socket) {
		var auth struct {
			Rooms []string `json:"rooms"`
			Data  any      `json:"data"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		s.Join(auth.Rooms...)
		if auth.Data != nil {
			s.SetData(auth.Data)
		}
	})
	hs := httptest.NewServer(g.srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.srv.Close(ctx)
		hs.Close()
	})
	g.URL = hs.URL + "/socket.io/"
	g.ad = g.srv.Sockets().Adapter().(*Adapter)
	waitReady(t, g.ad)
	return g
}

// TestNodeInterop runs a cluster of one Node.js Socket.IO server with the
// reference Redis adapter and one Go server with this one.
func TestNodeInterop(t *testing.T) {
	needRedis(t)
	needNode(t)
	key := testKey()
	node := startNode(t, redisAddr(), key)
	g := startGoNode(t, redisAddr(), key)
	ctx := context.Background()

	waitServerCount(t, g.ad, 2)
	if got := string(node.Call(map[string]any{"cmd": "serverCount"})["count"]); got != "2" {
		t.Fatalf("Node.js server count %s", got)
	}

	// Clients: n1, n2 on the Node.js server; g1, g2 on the Go one.
	n1 := str(t, node.Call(map[string]any{"cmd": "client", "name": "n1", "auth": map[string]any{"rooms": []string{"r1"}, "data": map[string]any{"user": "nina"}}})["sid"])
	n2 := str(t, node.Call(map[string]any{"cmd": "client", "name": "n2", "auth": map[string]any{"rooms": []string{"r2"}}})["sid"])
	g1c := socketiotest.Dial(t, g.URL, nil)
	g1 := g1c.Connect("/", map[string]any{"rooms": []string{"r1"}, "data": map[string]any{"user": "gus"}})
	g2c := socketiotest.Dial(t, g.URL, nil)
	g2 := g2c.Connect("/", map[string]any{"rooms": []string{"r2"}})
	// The connection handler that joins the rooms may run after the
	// client saw its CONNECT answer.
	testutil.Eventually(t, 10*time.Second, "Go sockets in their rooms", func() bool {
		return slices.Contains(g.ad.SocketRooms(g1), "r1") && slices.Contains(g.ad.SocketRooms(g2), "r2")
	})

	{
		t.Log("step: broadcast from Go")
		if err := g.srv.To("r1").Emit("fromGo", "hi", 1, map[string]any{"k": []any{true, nil}}); err != nil {
			t.Fatal(err)
		}
		ev, _ := g1c.ExpectEvent("/", "fromGo")
		if len(ev.Args) != 3 {
			t.Fatalf("g1 args %s", ev.Args)
		}
		var args json.RawMessage
		node.Poll("n1 fromGo", eventOf("n1", "fromGo", &args))
		if string(args) != `["hi",1,{"k":[true,null]}]` {
			t.Fatalf("n1 args %s", args)
		}
		// Binary, to the other room.
		if err := g.srv.To("r2").Emit("goBin", []byte{1, 2, 3}, "after"); err != nil {
			t.Fatal(err)
		}
		node.Poll("n2 goBin", eventOf("n2", "goBin", &args))
		if string(args) != `[{"$bin":"AQID"},"after"]` {
			t.Fatalf("n2 args %s", args)
		}
		g2c.ExpectMatch(`451-\["goBin",\{"_placeholder":true,"num":0\},"after"\]`)
		g2c.ExpectBinary([]byte{1, 2, 3})
		if node.Find(eventOf("n2", "fromGo", nil)) {
			t.Fatal("n2, outside r1, received fromGo")
		}
	}

	{
		t.Log("step: broadcast from Node.js")
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r1"}, "event": "fromNode", "args": []any{"yo", map[string]any{"n": 2.5}}})
		ev, _ := g1c.ExpectEvent("/", "fromNode")
		if len(ev.Args) != 2 || string(ev.Args[0]) != `"yo"` || string(ev.Args[1]) != `{"n":2.5}` {
			t.Fatalf("g1 args %s", ev.Args)
		}
		node.Poll("n1 fromNode", eventOf("n1", "fromNode", nil))

		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r2"}, "event": "nodeBin", "args": []any{map[string]any{"$bin": "BAUG"}}})
		g2c.ExpectMatch(`451-\["nodeBin",\{"_placeholder":true,"num":0\}\]`)
		g2c.ExpectBinary([]byte{4, 5, 6})

		// Everyone except r2.
		node.Call(map[string]any{"cmd": "broadcast", "except": []string{"r2"}, "event": "notR2"})
		g1c.ExpectEvent("/", "notR2")
		if err := g.srv.To("r2").Emit("marker"); err != nil {
			t.Fatal(err)
		}
		ev, skipped := g2c.ExpectEvent("/", "marker")
		_ = ev
		if len(skipped) != 0 {
			t.Fatalf("g2 received %+v", skipped)
		}
	}

	{
		t.Log("step: fetchSockets from Node.js")
		var sockets []struct {
			ID        string          `json:"id"`
			Rooms     []string        `json:"rooms"`
			Data      json.RawMessage `json:"data"`
			Handshake struct {
				Auth    json.RawMessage            `json:"auth"`
				Headers map[string]json.RawMessage `json:"headers"`
			} `json:"handshake"`
		}
		if err := json.Unmarshal(node.Call(map[string]any{"cmd": "fetch", "rooms": []string{"r1"}})["sockets"], &sockets); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range sockets {
			ids = append(ids, s.ID)
			if s.ID == g1 {
				if string(s.Data) != `{"user":"gus"}` || !slices.Contains(s.Rooms, "r1") || !slices.Contains(s.Rooms, g1) {
					t.Fatalf("Go socket seen from Node.js: %+v", s)
				}
				if _, ok := s.Handshake.Headers["user-agent"]; !ok {
					t.Fatalf("Go socket headers seen from Node.js: %v", s.Handshake.Headers)
				}
			}
		}
		if !slices.Equal(sorted(ids), sorted([]string{n1, g1})) {
			t.Fatalf("fetchSockets r1 from Node.js: %v, want %v", ids, []string{n1, g1})
		}
	}

	{
		t.Log("step: fetchSockets from Go")
		socks, err := g.srv.In("r1").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range socks {
			ids = append(ids, s.ID())
			if s.ID() == n1 {
				d, _ := s.Data().(map[string]any)
				if s.Local() || d["user"] != "nina" || !slices.Contains(s.Rooms(), "r1") {
					t.Fatalf("Node.js socket seen from Go: data %#v rooms %v", s.Data(), s.Rooms())
				}
				if h := s.Handshake(); h == nil || h.Headers["Host"] == nil || len(h.Auth) == 0 {
					t.Fatalf("Node.js socket handshake seen from Go: %+v", h)
				}
			}
		}
		if !slices.Equal(sorted(ids), sorted([]string{n1, g1})) {
			t.Fatalf("FetchSockets r1 from Go: %v", ids)
		}
		all, err := g.srv.Sockets().SocketIDs(ctx)
		if err != nil || !slices.Equal(sorted(all), sorted([]string{n1, n2, g1, g2})) {
			t.Fatalf("SocketIDs: %v, %v", all, err)
		}
	}

	{
		t.Log("step: socketsJoin across")
		node.Call(map[string]any{"cmd": "join", "rooms": []string{g2}, "join": []string{"joinedByNode"}})
		testutil.Eventually(t, 10*time.Second, "Go socket joined", func() bool { return g.ad.RoomSize("joinedByNode") == 1 })

		if err := g.srv.In(n2).SocketsJoin(ctx, "joinedByGo"); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "Node.js socket joined", func() bool {
			var sockets []struct{ ID string }
			_ = json.Unmarshal(node.Call(map[string]any{"cmd": "fetch", "rooms": []string{"joinedByGo"}})["sockets"], &sockets)
			return len(sockets) == 1 && sockets[0].ID == n2
		})
		if err := g.srv.To("joinedByGo").Emit("viaJoin"); err != nil {
			t.Fatal(err)
		}
		node.Poll("n2 viaJoin", eventOf("n2", "viaJoin", nil))
	}

	{
		t.Log("step: broadcast with acks from Node.js")
		answers := make(chan map[string]json.RawMessage, 1)
		go func() {
			answers <- node.Call(map[string]any{"cmd": "broadcastWithAck", "rooms": []string{"r1"}, "timeout": 3000, "event": "question"})
		}()
		// The Go node delivers the event with an ack id of its own; its
		// client's answer travels back to the Node.js side.
		ev, _ := g1c.ExpectEvent("/", "question")
		if ev.ID < 0 {
			t.Fatalf("question without an ack id: %+v", ev)
		}
		g1c.Send("43" + strconv.FormatInt(ev.ID, 10) + `["ack-from-g1"]`)
		ans := <-answers
		var responses []string
		_ = json.Unmarshal(ans["responses"], &responses)
		sort.Strings(responses)
		if string(ans["err"]) != "null" || !slices.Equal(responses, []string{"ack-from-g1", "ack-from-n1"}) {
			t.Fatalf("answer %v", map[string]string{"err": string(ans["err"]), "responses": string(ans["responses"])})
		}
	}

	{
		t.Log("step: server-side emit")
		resps, err := g.ad.ServerSideEmitWithAck(ctx, "hello", "from-go")
		if err != nil || len(resps) != 1 || string(resps[0]) != `"node-ack"` {
			t.Fatalf("answers %s, %v", resps, err)
		}
		node.Poll("server-side event", func(m map[string]json.RawMessage) bool {
			return string(m["type"]) == `"serverSide"` && string(m["args"]) == `["from-go"]`
		})
		ans := node.Call(map[string]any{"cmd": "serverSideEmit", "event": "hello", "args": []any{"from-node"}, "ack": true})
		if string(ans["err"]) != "null" || string(ans["responses"]) != `["go-ack"]` {
			t.Fatalf("Node.js answer err=%s responses=%s", ans["err"], ans["responses"])
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if !slices.Equal(g.serverSide, []string{`"hello" "from-node"`}) {
			t.Fatalf("Go received %v", g.serverSide)
		}
	}

	{
		t.Log("step: acknowledgements through a node that collects them")
		// An adapter-level Go node whose namespace collects acks, with one
		// socket x1 in r1.
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr()})
		ex := adaptertest.NewEmitter("/")
		ex.AutoAck(func(sid string) adapter.Ack { return adapter.Ack{Args: []byte(`["ok-` + sid + `",2]`)} })
		x := NewAdapter(ex, NewRedisPubSub(rdb, nil), Options{Key: key})
		defer func() {
			_ = x.Close()
			ex.WaitAcks()
			_ = rdb.Close()
		}()
		addSocket(ex, x, "x1", nil, "r1")
		waitReady(t, x)
		waitServerCount(t, x, 3)
		testutil.Eventually(t, 10*time.Second, "Node.js sees three servers", func() bool {
			return string(node.Call(map[string]any{"cmd": "serverCount"})["count"]) == "3"
		})

		// From Node.js: the Go node relays x1's acknowledgement.
		answers := make(chan map[string]json.RawMessage, 1)
		go func() {
			answers <- node.Call(map[string]any{"cmd": "broadcastWithAck", "rooms": []string{"r1"}, "timeout": 3000, "event": "question2"})
		}()
		ev, _ := g1c.ExpectEvent("/", "question2")
		g1c.Send("43" + strconv.FormatInt(ev.ID, 10) + `["ack-from-g1"]`)
		ans := <-answers
		var responses []string
		_ = json.Unmarshal(ans["responses"], &responses)
		if string(ans["err"]) != "null" || !slices.Equal(sorted(responses), []string{"ack-from-g1", "ack-from-n1", "ok-x1"}) {
			t.Fatalf("Node.js answer err=%s responses=%s", ans["err"], ans["responses"])
		}

		// From Go: Node.js relays n1's acknowledgement.
		var mu sync.Mutex
		var counts []int
		var acks []string
		err := x.BroadcastWithAck(ctx, event("/", `["question3"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Flags: adapter.Flags{Timeout: 3 * time.Second}},
			func(n int) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
			func(a adapter.Ack) { mu.Lock(); acks = append(acks, string(a.Args)); mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		ev, _ = g1c.ExpectEvent("/", "question3")
		g1c.Send("43" + strconv.FormatInt(ev.ID, 10) + `["ack-from-g1"]`)
		testutil.Eventually(t, 10*time.Second, "counts from three servers and three acks", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(counts) == 3 && len(acks) == 3
		})
		mu.Lock()
		if !slices.Equal(sorted(acks), []string{`["ack-from-g1"]`, `["ack-from-n1"]`, `["ok-x1",2]`}) || counts[0]+counts[1]+counts[2] != 3 {
			t.Fatalf("counts %v acks %v", counts, acks)
		}
		mu.Unlock()
	}
	{
		t.Log("step: disconnect from Node.js")
		node.Call(map[string]any{"cmd": "disconnect", "rooms": []string{g2}})
		testutil.Eventually(t, 10*time.Second, "Go socket disconnected", func() bool { return g.srv.Sockets().Socket(g2) == nil })
		if g.srv.Sockets().Socket(g1) == nil {
			t.Fatal("g1 was disconnected too")
		}
	}
}
