package redisstreams

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio/internal/adaptertest/nodepeer"
)

// TestNodeInterop runs a cluster of one Node.js Socket.IO server with the
// reference Redis Streams adapter and one Go server with this one, on one
// stream: broadcasts, fetchSockets, socketsJoin, serverSideEmit and
// acknowledged broadcasts both ways, then connection state recovery of the
// official client from one to the other, both ways.
func TestNodeInterop(t *testing.T) {
	needNode(t)
	rdb := needRedis(t)
	opts := testOptions(t, rdb)
	node := startNode(t, redistest.Addr(), opts.StreamName, time.Minute)
	g := startGoNode(t, rdb, opts, time.Minute)
	g.srv.Sockets().OnServerSideEmit(func(event string, args []json.RawMessage, ack func(any)) {
		if ack != nil {
			ack("go-ack")
		}
	})
	ctx := context.Background()

	waitServerCount(t, g.ad, 2)
	if got := string(node.Call(map[string]any{"cmd": "serverCount"})["count"]); got != "2" {
		t.Fatalf("Node.js server count %s", got)
	}
	n1 := str(t, node.Call(map[string]any{"cmd": "client", "name": "n1", "auth": map[string]any{"rooms": []string{"r1"}, "data": map[string]any{"user": "nina"}}})["sid"])
	g1c, g1, _ := connect(t, g.URL, map[string]any{"rooms": []string{"r1"}, "data": map[string]any{"user": "gus"}})
	g.inRoom(t, g1, "r1")

	{
		t.Log("step: broadcasts from Go")
		must(t, g.srv.To("r1").Emit("fromGo", "hi", map[string]any{"k": []any{true, nil}}))
		expectEvents(t, g1c, "fromGo:hi") // checks the offset too
		var args json.RawMessage
		node.Poll("n1 fromGo", eventOf("n1", "fromGo", &args))
		var got []json.RawMessage
		_ = json.Unmarshal(args, &got)
		if len(got) != 3 || string(got[0]) != `"hi"` || string(got[1]) != `{"k":[true,null]}` {
			t.Fatalf("n1 args %s", args)
		}
		if _, ok := parseID(str(t, got[2])); !ok {
			t.Fatalf("n1 offset %s", got[2])
		}
		must(t, g.srv.To("r1").Emit("goBin", []byte{1, 2, 3}))
		node.Poll("n1 goBin", eventOf("n1", "goBin", &args))
		if _ = json.Unmarshal(args, &got); len(got) != 2 || string(got[0]) != `{"$bin":"AQID"}` {
			t.Fatalf("n1 binary args %s", args)
		}
		g1c.ExpectMatch(`451-\["goBin",\{"_placeholder":true,"num":0\},"[0-9]+-[0-9]+"\]`)
		g1c.ExpectBinary([]byte{1, 2, 3})
	}

	{
		t.Log("step: broadcasts from Node.js")
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r1"}, "event": "fromNode", "args": []any{"yo"}})
		expectEvents(t, g1c, "fromNode:yo")
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r1"}, "event": "nodeBin", "args": []any{map[string]any{"$bin": "BAUG"}}})
		g1c.ExpectMatch(`451-\["nodeBin",\{"_placeholder":true,"num":0\},"[0-9]+-[0-9]+"\]`)
		g1c.ExpectBinary([]byte{4, 5, 6})
		node.Call(map[string]any{"cmd": "broadcast", "except": []string{"r1"}, "event": "notR1"})
		must(t, g.srv.To("r1").Emit("marker", "m"))
		expectEvents(t, g1c, "marker:m")
	}

	{
		t.Log("step: fetchSockets both ways")
		var sockets []struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(node.Call(map[string]any{"cmd": "fetch", "rooms": []string{"r1"}})["sockets"], &sockets); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range sockets {
			ids = append(ids, s.ID)
			if s.ID == g1 && string(s.Data) != `{"user":"gus"}` {
				t.Fatalf("Go socket seen from Node.js: %s", s.Data)
			}
		}
		if !slices.Equal(sorted(ids), sorted([]string{n1, g1})) {
			t.Fatalf("fetchSockets from Node.js: %v", ids)
		}
		socks, err := g.srv.In("r1").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = nil
		for _, s := range socks {
			ids = append(ids, s.ID())
			if s.ID() == n1 {
				if d, _ := s.Data().(map[string]any); d["user"] != "nina" || s.Handshake() == nil || len(s.Handshake().Auth) == 0 {
					t.Fatalf("Node.js socket seen from Go: %#v %+v", s.Data(), s.Handshake())
				}
			}
		}
		if !slices.Equal(sorted(ids), sorted([]string{n1, g1})) {
			t.Fatalf("FetchSockets from Go: %v", ids)
		}
	}

	{
		t.Log("step: socketsJoin both ways")
		node.Call(map[string]any{"cmd": "join", "rooms": []string{g1}, "join": []string{"byNode"}})
		g.inRoom(t, g1, "byNode")
		must(t, g.srv.In(n1).SocketsJoin(ctx, "byGo"))
		testutil.Eventually(t, 10*time.Second, "Node.js socket joined", func() bool {
			var sockets []struct{ ID string }
			_ = json.Unmarshal(node.Call(map[string]any{"cmd": "fetch", "rooms": []string{"byGo"}})["sockets"], &sockets)
			return len(sockets) == 1 && sockets[0].ID == n1
		})
	}

	{
		t.Log("step: serverSideEmit both ways")
		resps, err := g.ad.ServerSideEmitWithAck(ctx, "hello", "from-go")
		if err != nil || len(resps) != 1 || string(resps[0]) != `"node-ack"` {
			t.Fatalf("answers %s, %v", resps, err)
		}
		ans := node.Call(map[string]any{"cmd": "serverSideEmit", "event": "hello", "args": []any{"from-node"}, "ack": true})
		if string(ans["err"]) != "null" || string(ans["responses"]) != `["go-ack"]` {
			t.Fatalf("Node.js answer err=%s responses=%s", ans["err"], ans["responses"])
		}
	}

	{
		t.Log("step: broadcast with acknowledgements from Node.js")
		answers := make(chan map[string]json.RawMessage, 1)
		go func() {
			answers <- node.Call(map[string]any{"cmd": "broadcastWithAck", "rooms": []string{"r1"}, "timeout": 3000, "event": "question"})
		}()
		ev, _ := g1c.ExpectEvent("/", "question")
		g1c.Send("43" + strconv.FormatInt(ev.ID, 10) + `["ack-from-g1"]`)
		ans := <-answers
		var responses []string
		_ = json.Unmarshal(ans["responses"], &responses)
		if string(ans["err"]) != "null" || !slices.Equal(sorted(responses), []string{"ack-from-g1", "ack-from-n1"}) {
			t.Fatalf("answer err=%s responses=%s", ans["err"], ans["responses"])
		}
	}

	nodeAddr := hostOf(t, node.URL)
	goAddr := hostOf(t, g.URL)
	p := testutil.NewProxy(t, nodeAddr)

	{
		t.Log("step: recovery from the Node.js server to the Go one")
		sid := str(t, node.Call(map[string]any{"cmd": "recoveryClient", "name": "rc", "url": "http://" + p.Addr(), "auth": map[string]any{"rooms": []string{"rr"}}})["sid"])
		must(t, g.srv.To("rr").Emit("k", "1"))
		node.Poll("rc k1", nodepeer.EventArg("rc", "k", "1"))
		p.SwitchTo("") // the client is cut off, and cannot reconnect
		waitSessionOf(t, rdb, opts, 1)
		must(t, g.srv.To("rr").Emit("k", "2"))
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"rr"}, "event": "k", "args": []any{"3"}})
		must(t, g.srv.To("elsewhere").Emit("k", "not-for-rr"))
		p.SwitchTo(goAddr)
		node.Poll("rc back, recovered, on the Go server", func(m map[string]json.RawMessage) bool {
			return string(m["type"]) == `"connect"` && string(m["sid"]) == strconv.Quote(sid) && string(m["recovered"]) == "true"
		})
		if s := g.srv.Sockets().Socket(sid); s == nil || !s.Recovered() || !slices.Contains(s.Rooms(), "rr") {
			t.Fatalf("socket on the Go server: %v", s)
		}
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"rr"}, "event": "k", "args": []any{"4"}})
		node.Poll("rc k4", nodepeer.EventArg("rc", "k", "4"))
		if got := node.ArgsOf("rc", "k"); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
			t.Fatalf("rc received %v, want 1 2 3 4", got)
		}

		t.Log("step: recovery from the Go server to the Node.js one")
		p.SwitchTo("")
		waitSessionOf(t, rdb, opts, 1)
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"rr"}, "event": "k", "args": []any{"5"}})
		must(t, g.srv.To("rr").Emit("k", "6"))
		p.SwitchTo(nodeAddr)
		node.Poll("rc k6", nodepeer.EventArg("rc", "k", "6"))
		testutil.Eventually(t, 10*time.Second, "socket gone from the Go server", func() bool { return g.srv.Sockets().Socket(sid) == nil })
		must(t, g.srv.To("rr").Emit("k", "7"))
		node.Poll("rc k7", nodepeer.EventArg("rc", "k", "7"))
		if got := node.ArgsOf("rc", "k"); !slices.Equal(got, []string{"1", "2", "3", "4", "5", "6", "7"}) {
			t.Fatalf("rc received %v, want 1 to 7", got)
		}
		n := 0
		node.Find(func(m map[string]json.RawMessage) bool {
			if string(m["type"]) == `"connect"` && string(m["sid"]) == strconv.Quote(sid) && string(m["recovered"]) == "true" {
				n++
			}
			return false
		})
		if n != 2 {
			t.Fatalf("%d recovered connections, want 2", n)
		}
	}
}

// waitSessionOf waits until n sessions are stored.
func waitSessionOf(t *testing.T, rdb *redis.Client, opts Options, n int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "sessions stored", func() bool {
		keys, err := rdb.Keys(context.Background(), opts.SessionKeyPrefix+"*").Result()
		return err == nil && len(keys) == n
	})
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
