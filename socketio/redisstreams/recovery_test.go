package redisstreams

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// goNode is a socketio.Server on the streams adapter, served over HTTP.
type goNode struct {
	srv *socketio.Server
	URL string
	ad  *Adapter
}

// startGoNode starts a server on rdb, with connection state recovery for
// window when it is not 0. Its sockets join the rooms of auth.rooms.
func startGoNode(t *testing.T, rdb redis.UniversalClient, opts Options, window time.Duration) *goNode {
	t.Helper()
	var rec *socketio.RecoveryOptions
	if window > 0 {
		rec = &socketio.RecoveryOptions{MaxDisconnectionDuration: window}
	}
	return startGoNodeWith(t, rdb, opts, rec, nil)
}

// startGoNodeWith is startGoNode with recovery options rec (nil: none) and
// a middleware mw (when not nil).
func startGoNodeWith(t *testing.T, rdb redis.UniversalClient, opts Options, rec *socketio.RecoveryOptions, mw socketio.Middleware) *goNode {
	t.Helper()
	so := &socketio.Options{Adapter: New(rdb, opts), ConnectionStateRecovery: rec}
	g := &goNode{srv: socketio.NewServer(so)}
	if mw != nil {
		g.srv.Use(mw)
	}
	g.srv.OnConnection(func(s *socketio.Socket) {
		var auth struct {
			Rooms []string `json:"rooms"`
			Data  any      `json:"data"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if !s.Recovered() {
			s.Join(auth.Rooms...)
			if auth.Data != nil {
				s.SetData(auth.Data)
			}
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
// connection, the socket id and the private session id.
func connect(t *testing.T, url string, auth any) (*socketiotest.Conn, string, string) {
	t.Helper()
	c := socketiotest.Dial(t, url, nil)
	b, _ := json.Marshal(auth)
	c.Send("40" + string(b))
	got := c.ReadText()
	if !connectRe.MatchString(got) {
		t.Fatalf("CONNECT answer %q", got)
	}
	var body struct{ SID, PID string }
	_ = json.Unmarshal([]byte(got[2:]), &body)
	return c, body.SID, body.PID
}

// expectEvents reads events and checks their names and first arguments
// ("name:arg") and that they end with an offset; it returns the offset of
// the last one.
func expectEvents(t *testing.T, c *socketiotest.Conn, want ...string) string {
	t.Helper()
	var offset string
	for _, w := range want {
		ev := c.ReadEvent()
		var arg string
		if len(ev.Args) < 2 || json.Unmarshal(ev.Args[0], &arg) != nil || ev.Name+":"+arg != w {
			t.Fatalf("got %s %s, want %s with an offset", ev.Name, ev.Args, w)
		}
		if err := json.Unmarshal(ev.Args[len(ev.Args)-1], &offset); err != nil {
			t.Fatalf("offset %s: %v", ev.Args[len(ev.Args)-1], err)
		}
		if _, ok := parseID(offset); !ok {
			t.Fatalf("offset %q is not a stream entry id", offset)
		}
	}
	return offset
}

// away connects a client of room r to node g, broadcasts m:1 to it and
// drops its connection once it got it; it returns the socket id, the
// private id and the offset the client would resume with, once the
// session is stored.
func away(t *testing.T, g *goNode, rdb *redis.Client, opts Options) (sid, pid, offset string) {
	t.Helper()
	c, sid, pid := connect(t, g.URL, map[string]any{"rooms": []string{"r"}})
	g.inRoom(t, sid, "r")
	must(t, g.srv.To("r").Emit("m", "1"))
	offset = expectEvents(t, c, "m:1")
	_ = c.WS.Close()
	waitSession(t, rdb, opts, pid)
	return sid, pid, offset
}

// waitSession waits until the session of pid is stored in Redis.
func waitSession(t *testing.T, rdb *redis.Client, opts Options, pid string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "session stored", func() bool {
		n, err := rdb.Exists(context.Background(), opts.SessionKeyPrefix+pid).Result()
		return err == nil && n == 1
	})
}

// TestRecoveryAcrossNodes drops a client of node A while both nodes
// broadcast, and brings it back on node B: it gets its id, rooms and data
// back and every packet it missed, from both nodes, once, in order.
func TestRecoveryAcrossNodes(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	opts := testOptions(t, rdb)
	a := startGoNode(t, rdb, opts, time.Minute)
	b := startGoNode(t, rdb, opts, time.Minute)
	waitServerCount(t, a.ad, 2)

	c, sid, pid := connect(t, a.URL, map[string]any{"rooms": []string{"r"}, "data": map[string]any{"user": "ann"}})
	if pid == "" {
		t.Fatal("no pid in the CONNECT answer")
	}
	a.inRoom(t, sid, "r")
	must(t, a.srv.To("r").Emit("m", "1"))
	must(t, b.srv.To("r").Emit("m", "2"))
	must(t, a.srv.To("r").Emit("m", "3"))
	offset := expectEvents(t, c, "m:1", "m:2", "m:3")

	_ = c.WS.Close()
	waitSession(t, rdb, opts, pid)
	testutil.Eventually(t, 10*time.Second, "socket gone from A", func() bool { return a.srv.Sockets().Socket(sid) == nil })
	must(t, a.srv.To("r").Emit("m", "4"))
	must(t, b.srv.To("r").Emit("m", "5"))
	must(t, b.srv.To("elsewhere").Emit("m", "not-for-r"))
	must(t, b.srv.Sockets().Volatile().Emit("m", "volatile"))
	must(t, b.srv.Sockets().Except("r").Emit("m", "except-r"))
	must(t, a.srv.Sockets().Emit("m", "6"))

	c2, sid2, pid2 := connect(t, b.URL, map[string]any{"pid": pid, "offset": offset})
	if sid2 != sid || pid2 != pid {
		t.Fatalf("not recovered: sid %s (was %s), pid %s", sid2, sid, pid2)
	}
	expectEvents(t, c2, "m:4", "m:5", "m:6")
	s := b.srv.Sockets().Socket(sid)
	if s == nil || !s.Recovered() || !slices.Contains(s.Rooms(), "r") {
		t.Fatalf("socket on B: %v", s)
	}
	if d, _ := s.Data().(map[string]any); d["user"] != "ann" {
		t.Fatalf("data on B: %#v", s.Data())
	}
	// Live again: the next packets come once, from either node.
	must(t, a.srv.To("r").Emit("m", "7"))
	must(t, b.srv.To("r").Emit("m", "8"))
	expectEvents(t, c2, "m:7", "m:8")

	// The session was taken: the same pid and offset do not work twice.
	_, sid3, _ := connect(t, a.URL, map[string]any{"pid": pid, "offset": offset})
	if sid3 == sid {
		t.Fatal("a session was restored twice")
	}
}

// TestRecoveryRefused checks that a client gets a new session when its
// offset was trimmed away or it stayed away longer than the window.
func TestRecoveryRefused(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	ctx := context.Background()

	t.Run("trimmed", func(t *testing.T) {
		opts := testOptions(t, rdb)
		a := startGoNode(t, rdb, opts, time.Minute)
		b := startGoNode(t, rdb, opts, time.Minute)
		sid, pid, offset := away(t, a, rdb, opts)
		must(t, b.srv.To("r").Emit("m", "2"))
		// What MaxLen does to a long stream: the entry of the offset
		// is gone.
		if err := rdb.XTrimMaxLen(ctx, a.ad.Stream(), 1).Err(); err != nil {
			t.Fatal(err)
		}
		_, sid2, _ := connect(t, b.URL, map[string]any{"pid": pid, "offset": offset})
		if sid2 == sid {
			t.Fatal("recovered from a trimmed offset")
		}
	})

	t.Run("expired", func(t *testing.T) {
		opts := testOptions(t, rdb)
		a := startGoNode(t, rdb, opts, 300*time.Millisecond)
		b := startGoNode(t, rdb, opts, 300*time.Millisecond)
		c, sid, pid := connect(t, a.URL, map[string]any{"rooms": []string{"r"}})
		a.inRoom(t, sid, "r")
		must(t, a.srv.To("r").Emit("m", "1"))
		offset := expectEvents(t, c, "m:1")
		_ = c.WS.Close()
		waitSession(t, rdb, opts, pid)
		testutil.Eventually(t, 10*time.Second, "session expired", func() bool {
			n, err := rdb.Exists(ctx, opts.SessionKeyPrefix+pid).Result()
			return err == nil && n == 0
		})
		_, sid2, _ := connect(t, b.URL, map[string]any{"pid": pid, "offset": offset})
		if sid2 == sid {
			t.Fatal("recovered after the window")
		}
	})

	t.Run("bad offset", func(t *testing.T) {
		opts := testOptions(t, rdb)
		a := startGoNode(t, rdb, opts, time.Minute)
		c, sid, pid := connect(t, a.URL, map[string]any{})
		_ = c.WS.Close()
		waitSession(t, rdb, opts, pid)
		_, sid2, _ := connect(t, a.URL, map[string]any{"pid": pid, "offset": "not-an-id"})
		if sid2 == sid {
			t.Fatal("recovered with an offset that is no entry id")
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestoreFence checks the reader's side of a restored socket: it gets
// nothing while its fence is up (before ResumeSession), then not the
// entries it got with its missed packets, then the later ones.
func TestRestoreFence(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	e := adaptertest.NewEmitter("/")
	a := newTestAdapter(t, e, rdb, testOptions(t, rdb))
	_ = a.EnableRecovery(time.Minute)
	addSocket(e, a, "s", nil, "r")
	d, err := clusterwire.BroadcastData(event("/", `["m"]`), adapter.BroadcastOptions{Rooms: []string{"r"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	msg := &message{uid: "other-node", nsp: "/", typ: typeBroadcast, data: d}
	a.mu.Lock()
	a.fences["s"] = &fence{after: streamID{ms: 10, seq: 1}}
	a.mu.Unlock()
	a.onEntry(streamID{ms: 9, seq: 0}, msg)
	if got := e.Delivered("s"); len(got) != 0 {
		t.Fatalf("delivered before ResumeSession: %v", got)
	}
	a.mu.Lock()
	a.fences["s"].live = true
	a.mu.Unlock()
	a.onEntry(streamID{ms: 10, seq: 0}, msg)
	a.onEntry(streamID{ms: 10, seq: 1}, msg)
	if got := e.Delivered("s"); len(got) != 0 {
		t.Fatalf("replayed packets delivered again: %v", got)
	}
	a.onEntry(streamID{ms: 10, seq: 2}, msg)
	if got := e.Delivered("s"); !slices.Equal(got, []string{`["m","10-2"]`}) {
		t.Fatalf("after the fence: %v", got)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.fences) != 0 {
		t.Fatalf("fence kept: %v", a.fences)
	}
}

// TestRecoveryBroadcastDuringMiddlewares restores a client on node B while
// its middlewares hold it: what both nodes broadcast meanwhile reaches it
// once, after its missed packets and before the later ones.
func TestRecoveryBroadcastDuringMiddlewares(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	opts := testOptions(t, rdb)
	a := startGoNode(t, rdb, opts, time.Minute)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	b := startGoNodeWith(t, rdb, opts, &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute, RunMiddlewares: true}, func(s *socketio.Socket) error {
		if s.Recovered() {
			entered <- struct{}{}
			<-release
		}
		return nil
	})
	waitServerCount(t, a.ad, 2)

	sid, pid, offset := away(t, a, rdb, opts)
	testutil.Eventually(t, 10*time.Second, "socket gone from A", func() bool { return a.srv.Sockets().Socket(sid) == nil })
	must(t, a.srv.To("r").Emit("m", "2"))

	c2 := socketiotest.Dial(t, b.URL, nil)
	auth, _ := json.Marshal(map[string]any{"pid": pid, "offset": offset})
	c2.Send("40" + string(auth))
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the middleware did not run")
	}
	// Each Emit returns once its node's reader delivered it.
	must(t, a.srv.To("r").Emit("m", "3"))
	must(t, b.srv.To("r").Emit("m", "4"))
	must(t, b.srv.To("elsewhere").Emit("m", "not-for-r"))
	must(t, a.srv.Emit("m", "5"))
	close(release)
	c2.Expect(`40{"sid":"` + sid + `","pid":"` + pid + `"}`)
	must(t, a.srv.To("r").Emit("m", "6"))
	must(t, b.srv.To("r").Emit("m", "7"))
	expectEvents(t, c2, "m:2", "m:3", "m:4", "m:5", "m:6", "m:7")
	if s := b.srv.Sockets().Socket(sid); s == nil || !s.Recovered() {
		t.Fatalf("socket on B: %v", s)
	}
	b.ad.mu.Lock()
	n := len(b.ad.fences)
	b.ad.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d fences left on B", n)
	}
}

// A node's own broadcasts reach its sockets from memory (the reader does
// not decode their entries), each once, with its own entry id as offset,
// identical packets sent together included; nothing stays held after.
func TestOwnBroadcastsFromMemory(t *testing.T) {
	checkGoroutines(t)
	rdb := needRedis(t)
	opts := testOptions(t, rdb)
	a := startGoNode(t, rdb, opts, time.Minute)
	c, sid, _ := connect(t, a.URL, map[string]any{"rooms": []string{"r"}})
	a.inRoom(t, sid, "r")

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); must(t, a.srv.To("r").Emit("m", "same")) }()
	}
	wg.Wait()
	must(t, a.srv.To("r").Emit("m", "last"))
	first := expectEvents(t, c, "m:same")
	second := expectEvents(t, c, "m:same")
	last := expectEvents(t, c, "m:last")
	ids, err := rdb.XRange(context.Background(), opts.StreamName, "-", "+").Result()
	if err != nil || len(ids) != 3 {
		t.Fatalf("stream: %v, %v", ids, err)
	}
	if first != ids[0].ID || second != ids[1].ID || last != ids[2].ID {
		t.Errorf("offsets %s %s %s, want the entry ids %s %s %s", first, second, last, ids[0].ID, ids[1].ID, ids[2].ID)
	}
	a.ad.ownMu.Lock()
	held := len(a.ad.own)
	a.ad.ownMu.Unlock()
	if held != 0 {
		t.Errorf("%d broadcasts still held after they were delivered", held)
	}
}
