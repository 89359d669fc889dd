package pgadapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

// pair is two nodes of one cluster, each with the namespace "/" and its
// sockets: a1 (rooms r1, r2) and a2 (r1) on A, b1 (r1) and b2 (r3) on B.
type pair struct {
	ea, eb *adaptertest.Emitter
	a, b   *Adapter
}

func newPair(t *testing.T) (*pair, *pgxpool.Pool, Options) {
	t.Helper()
	pool := needPool(t)
	opts := testOptions(t, pool)
	p := &pair{ea: adaptertest.NewEmitter("/"), eb: adaptertest.NewEmitter("/")}
	p.a = newTestAdapter(t, p.ea, pool, opts)
	p.b = newTestAdapter(t, p.eb, pool, opts)
	addSocket(p.ea, p.a, "a1", map[string]any{"n": 1}, "r1", "r2")
	addSocket(p.ea, p.a, "a2", nil, "r1")
	addSocket(p.eb, p.b, "b1", "b-data", "r1")
	addSocket(p.eb, p.b, "b2", nil, "r3")
	waitServerCount(t, p.a, 2)
	waitServerCount(t, p.b, 2)
	return p, pool, opts
}

// TestCluster checks every cross-node operation between two nodes.
func TestCluster(t *testing.T) {
	checkGoroutines(t)
	p, pool, opts := newPair(t)
	ctx := context.Background()

	t.Run("Broadcast", func(t *testing.T) {
		if err := p.a.Broadcast(ctx, event("/", `["to-r1",1]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"r2"}}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "b1 receives", func() bool { return len(p.eb.Delivered("b1")) == 1 })
		if got := p.eb.Delivered("b1"); got[0] != `["to-r1",1]` {
			t.Fatalf("b1 got %v", got)
		}
		if len(p.ea.Delivered("a1")) != 0 || len(p.ea.Delivered("a2")) != 1 || len(p.eb.Delivered("b2")) != 0 {
			t.Fatalf("a1 %v a2 %v b2 %v", p.ea.Delivered("a1"), p.ea.Delivered("a2"), p.eb.Delivered("b2"))
		}
		// Binary, from B to everyone.
		bin := event("/", `["bin",{"_placeholder":true,"num":0}]`)
		bin.Attachments = [][]byte{{1, 2, 3}}
		bin.Type, bin.Packet.Attachments = 5, 1
		if err := p.b.Broadcast(ctx, bin, adapter.BroadcastOptions{}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "a1 receives the binary event", func() bool { return len(p.ea.Packets("a1")) == 1 })
		got := p.ea.Packets("a1")[0]
		if string(got.Data) != `["bin",{"_placeholder":true,"num":0}]` || len(got.Attachments) != 1 || string(got.Attachments[0]) != "\x01\x02\x03" {
			t.Fatalf("a1 got %s %v", got.Data, got.Attachments)
		}
		// Local: not across.
		_ = p.a.Broadcast(ctx, event("/", `["local"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Flags: adapter.Flags{Local: true}})
		_ = p.a.Broadcast(ctx, event("/", `["marker"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}})
		testutil.Eventually(t, 10*time.Second, "b1 receives the marker", func() bool { return len(p.eb.Delivered("b1")) == 3 })
		if got := p.eb.Delivered("b1"); got[2] != `["marker"]` {
			t.Fatalf("b1 got %v", got)
		}
	})

	t.Run("FetchSockets", func(t *testing.T) {
		infos, err := p.a.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r1"}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, in := range infos {
			ids = append(ids, in.ID)
			if in.ID == "b1" {
				if in.Local || in.Data != "b-data" || !slices.Equal(sorted(in.Rooms), []string{"b1", "r1"}) ||
					in.Handshake == nil || in.Handshake.Headers.Get("User-Agent") != "test" || string(in.Handshake.Auth) != `{"token":"t"}` {
					t.Fatalf("b1 seen from A: %+v %+v", in, in.Handshake)
				}
			}
		}
		if !slices.Equal(sorted(ids), []string{"a1", "a2", "b1"}) {
			t.Fatalf("ids %v", ids)
		}
		all, err := p.b.Sockets(ctx, adapter.BroadcastOptions{Except: []string{"r2"}})
		if err != nil || !slices.Equal(sorted(all), []string{"a2", "b1", "b2"}) {
			t.Fatalf("Sockets %v %v", all, err)
		}
	})

	t.Run("AddDelDisconnect", func(t *testing.T) {
		if err := p.a.AddSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r3"}}, []string{"joined"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "b2 joins", func() bool { return slices.Contains(p.b.SocketRooms("b2"), "joined") })
		if err := p.b.DelSockets(ctx, adapter.BroadcastOptions{}, []string{"joined"}); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(p.b.SocketRooms("b2"), "joined") {
			t.Fatal("b2 still in the room on its own node")
		}
		if err := p.b.DisconnectSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r2"}}, true); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "a1 disconnected", func() bool { return p.ea.Disconnected("a1") })
		if p.ea.Disconnected("a2") {
			t.Fatal("a2 disconnected too")
		}
	})

	t.Run("ServerSideEmit", func(t *testing.T) {
		p.eb.OnServerSide(func(args []json.RawMessage, ack func(any)) {
			if ack != nil {
				ack(map[string]any{"from": "b", "got": args[1]})
			}
		})
		if err := p.a.ServerSideEmit(ctx, "plain", 1); err != nil {
			t.Fatal(err)
		}
		resps, err := p.a.ServerSideEmitWithAck(ctx, "ask", "x")
		if err != nil || len(resps) != 1 || string(resps[0]) != `{"from":"b","got":"x"}` {
			t.Fatalf("answers %s, %v", resps, err)
		}
		evs := p.eb.ServerSideEvents()
		if len(evs) != 2 || string(evs[0][0]) != `"plain"` || string(evs[0][1]) != "1" {
			t.Fatalf("events on B %s", evs)
		}
		if len(p.ea.ServerSideEvents()) != 0 {
			t.Fatal("A received its own events")
		}
	})

	t.Run("BroadcastWithAck", func(t *testing.T) {
		p.eb.AutoAck(func(sid string) adapter.Ack { return adapter.Ack{Args: []byte(`["ok-` + sid + `",2]`)} })
		defer p.eb.WaitAcks()
		var (
			mu     sync.Mutex
			counts []int
			acks   []string
		)
		err := p.a.BroadcastWithAck(ctx, event("/", `["q"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Flags: adapter.Flags{Timeout: 3 * time.Second}},
			func(n int) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
			func(a adapter.Ack) { mu.Lock(); acks = append(acks, string(a.Args)); mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		p.ea.Acknowledge("a2", adapter.Ack{Args: []byte(`["ok-a2"]`)})
		testutil.Eventually(t, 10*time.Second, "two counts and two acks", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(counts) == 2 && len(acks) == 2
		})
		mu.Lock()
		defer mu.Unlock()
		// B relays the first argument only, as the reference.
		if !slices.Equal(sorted(acks), []string{`["ok-a2"]`, `["ok-b1"]`}) || counts[0]+counts[1] != 3 { // a1, a2 and b1
			t.Fatalf("counts %v acks %v", counts, acks)
		}
	})

	t.Run("LargePayload", func(t *testing.T) {
		big := `["big","` + strings.Repeat("x", 9000) + `"]`
		before := p.eb.Delivered("b2")
		if err := p.a.Broadcast(ctx, event("/", big), adapter.BroadcastOptions{Rooms: []string{"r3"}}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "b2 receives the large event", func() bool { return len(p.eb.Delivered("b2")) == len(before)+1 })
		if got := p.eb.Delivered("b2"); got[len(got)-1] != big {
			t.Fatalf("b2 got %d bytes", len(got[len(got)-1]))
		}
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+opts.TableName).Scan(&n); err != nil || n == 0 {
			t.Fatalf("attachments: %d, %v", n, err)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		// A third node that never answers: its heartbeat only.
		ghost := &message{uid: "ghost", nsp: "/", typ: 2}
		if err := p.a.c.publish(ctx, ghost); err != nil {
			t.Fatal(err)
		}
		waitServerCount(t, p.a, 3)
		short := adapter.BroadcastOptions{Flags: adapter.Flags{Timeout: 300 * time.Millisecond}}
		infos, err := p.a.FetchSockets(ctx, short)
		if !errors.Is(err, ErrTimeout) || len(infos) != 4 {
			t.Fatalf("FetchSockets: %d sockets, %v", len(infos), err)
		}
		// It goes silent and is forgotten after HeartbeatTimeout.
		waitServerCount(t, p.a, 2)
	})

	t.Run("AdapterClose", func(t *testing.T) {
		ec := adaptertest.NewEmitter("/")
		c := NewAdapter(ec, pool, opts)
		waitReady(t, c)
		waitServerCount(t, p.a, 3)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		waitServerCount(t, p.a, 2)
	})
}

// TestCleanup checks that old attachments are removed.
func TestCleanup(t *testing.T) {
	checkGoroutines(t)
	pool := needPool(t)
	opts := testOptions(t, pool)
	opts.CleanupInterval = 200 * time.Millisecond
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO "+opts.TableName+" (payload, created_at) VALUES ('\\x80', now() - interval '1 hour')"); err != nil {
		t.Fatal(err)
	}
	newTestAdapter(t, adaptertest.NewEmitter("/"), pool, opts)
	testutil.Eventually(t, 10*time.Second, "old row removed", func() bool {
		var n int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM "+opts.TableName).Scan(&n)
		return err == nil && n == 0
	})
}

// TestReconnect checks that a node whose listening connection is
// terminated LISTENs again and receives the broadcasts of the others.
func TestReconnect(t *testing.T) {
	checkGoroutines(t)
	p, pool, _ := newPair(t)
	ctx := context.Background()
	// The listeners of this test only (the last query of their backend).
	tag, err := pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query = $1", `LISTEN "`+p.b.Channel()+`"`)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("terminating the listeners: %v, %v", tag, err)
	}
	// Broadcast until b1 receives again (the broadcasts sent while B
	// reconnects are lost, as with the reference).
	testutil.Eventually(t, 20*time.Second, "b1 receives after the reconnection", func() bool {
		_ = p.a.Broadcast(ctx, event("/", `["again"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}})
		time.Sleep(100 * time.Millisecond)
		return slices.Contains(p.eb.Delivered("b1"), `["again"]`)
	})
	infos, err := p.b.FetchSockets(ctx, adapter.BroadcastOptions{})
	if err != nil || len(infos) != 4 {
		t.Fatalf("FetchSockets after the reconnection: %d, %v", len(infos), err)
	}
}
