package pgadapter

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// TestNodeInterop runs a cluster of one Node.js Socket.IO server with the
// reference PostgreSQL adapter and one Go server with this one, on one
// database: server counts, broadcasts (with binary, and above the payload
// threshold), fetchSockets, socketsJoin, serverSideEmit and acknowledged
// broadcasts both ways.
func TestNodeInterop(t *testing.T) {
	needNode(t)
	pool := needPool(t)
	opts := testOptions(t, pool)
	node := startNode(t, opts.TableName)
	g := startGoNode(t, pool, opts)
	g.srv.Sockets().OnServerSideEmit(func(event string, args []json.RawMessage, ack func(any)) {
		if ack != nil {
			ack("go-ack")
		}
	})
	ctx := context.Background()

	waitServerCount(t, g.ad, 2)
	testutil.Eventually(t, 10*time.Second, "Node.js server count", func() bool {
		return string(node.Call(map[string]any{"cmd": "serverCount"})["count"]) == "2"
	})
	n1 := str(t, node.Call(map[string]any{"cmd": "client", "name": "n1", "auth": map[string]any{"rooms": []string{"r1"}, "data": map[string]any{"user": "nina"}}})["sid"])
	g1c, g1 := connect(t, g.URL, map[string]any{"rooms": []string{"r1"}, "data": map[string]any{"user": "gus"}})
	g.inRoom(t, g1, "r1")

	{
		t.Log("step: broadcasts from Go")
		must(t, g.srv.To("r1").Emit("fromGo", "hi", map[string]any{"k": []any{true, nil}}))
		g1c.ExpectMatch(`^42\["fromGo","hi",\{"k":\[true,null\]\}\]$`)
		var args json.RawMessage
		node.Poll("n1 fromGo", eventOf("n1", "fromGo", &args))
		if string(args) != `["hi",{"k":[true,null]}]` {
			t.Fatalf("n1 args %s", args)
		}
		must(t, g.srv.To("r1").Emit("goBin", []byte{1, 2, 3}))
		g1c.ExpectMatch(`^451-\["goBin",\{"_placeholder":true,"num":0\}\]$`)
		g1c.ExpectBinary([]byte{1, 2, 3})
		node.Poll("n1 goBin", eventOf("n1", "goBin", &args))
		if string(args) != `[{"$bin":"AQID"}]` {
			t.Fatalf("n1 binary args %s", args)
		}
		big := strings.Repeat("y", 10000)
		must(t, g.srv.To("r1").Emit("goBig", big))
		g1c.ExpectMatch(`^42\["goBig","y+"\]$`)
		node.Poll("n1 goBig", eventOf("n1", "goBig", &args))
		if string(args) != `["`+big+`"]` {
			t.Fatalf("n1 large args: %d bytes", len(args))
		}
	}

	{
		t.Log("step: broadcasts from Node.js")
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r1"}, "event": "fromNode", "args": []any{"yo"}})
		g1c.ExpectMatch(`^42\["fromNode","yo"\]$`)
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r1"}, "event": "nodeBin", "args": []any{map[string]any{"$bin": "BAUG"}}})
		g1c.ExpectMatch(`^451-\["nodeBin",\{"_placeholder":true,"num":0\}\]$`)
		g1c.ExpectBinary([]byte{4, 5, 6})
		big := strings.Repeat("z", 10000)
		node.Call(map[string]any{"cmd": "broadcast", "rooms": []string{"r1"}, "event": "nodeBig", "args": []any{big}})
		g1c.ExpectMatch(`^42\["nodeBig","z+"\]$`)
		node.Call(map[string]any{"cmd": "broadcast", "except": []string{"r1"}, "event": "notR1"})
		must(t, g.srv.To("r1").Emit("marker", "m"))
		g1c.ExpectMatch(`^42\["marker","m"\]$`)
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

}

// goNode is a socketio.Server on this adapter, served over HTTP.
type goNode struct {
	srv *socketio.Server
	URL string
	ad  *Adapter
}

// startGoNode starts a server on pool. Its sockets join the rooms of
// auth.rooms and take auth.data as their data.
func startGoNode(t *testing.T, pool *pgxpool.Pool, opts Options) *goNode {
	t.Helper()
	g := &goNode{srv: socketio.NewServer(&socketio.Options{Adapter: New(pool, opts)})}
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

// inRoom waits until socket sid is in room on node g.
func (g *goNode) inRoom(t *testing.T, sid, room string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, sid+" in "+room, func() bool { return slices.Contains(g.ad.SocketRooms(sid), room) })
}

var connectRe = regexp.MustCompile(`^40\{.*\}$`)

// connect opens a socket of the root namespace with auth and returns the
// connection and the socket id.
func connect(t *testing.T, url string, auth any) (*socketiotest.Conn, string) {
	t.Helper()
	c := socketiotest.Dial(t, url, nil)
	b, _ := json.Marshal(auth)
	c.Send("40" + string(b))
	got := c.ReadText()
	if !connectRe.MatchString(got) {
		t.Fatalf("CONNECT answer %q", got)
	}
	var body struct{ SID string }
	_ = json.Unmarshal([]byte(got[2:]), &body)
	return c, body.SID
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
