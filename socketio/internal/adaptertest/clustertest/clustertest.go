// Package clustertest holds, for the tests of the cluster adapters, the
// cross-node checks they share and their helpers: two nodes of one
// cluster with known sockets, and what each operation of adapter.Adapter
// does between them.
//
// The package is for tests only.
package clustertest

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/parser"
)

// Pair is two nodes of one cluster, each with the namespace "/" and the
// sockets that AddPairSockets declares.
type Pair struct {
	EA, EB *adaptertest.Emitter
	A, B   adapter.Adapter
}

// AddPairSockets declares the sockets of a pair: a1 (rooms r1, r2, data
// {"n":1}) and a2 (r1) on A, b1 (r1, data "b-data") and b2 (r3) on B.
func AddPairSockets(p Pair) {
	AddSocket(p.EA, p.A, "a1", map[string]any{"n": 1}, "r1", "r2")
	AddSocket(p.EA, p.A, "a2", nil, "r1")
	AddSocket(p.EB, p.B, "b1", "b-data", "r1")
	AddSocket(p.EB, p.B, "b2", nil, "r3")
}

// RunPair runs, as subtests, the checks of every cross-node operation
// between the nodes of p (with the sockets of AddPairSockets, both nodes
// counting two servers): Broadcast, FetchSockets, AddDelDisconnect,
// ServerSideEmit and BroadcastWithAck. They leave a1 disconnected, and
// deliveries recorded by the emitters.
func RunPair(t *testing.T, p Pair) {
	ctx := context.Background()

	t.Run("Broadcast", func(t *testing.T) {
		if err := p.A.Broadcast(ctx, Event("/", `["to-r1",1]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"r2"}}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "b1 receives", func() bool { return len(p.EB.Delivered("b1")) == 1 })
		if got := p.EB.Delivered("b1"); got[0] != `["to-r1",1]` {
			t.Fatalf("b1 got %v", got)
		}
		if len(p.EA.Delivered("a1")) != 0 || len(p.EA.Delivered("a2")) != 1 || len(p.EB.Delivered("b2")) != 0 {
			t.Fatalf("a1 %v a2 %v b2 %v", p.EA.Delivered("a1"), p.EA.Delivered("a2"), p.EB.Delivered("b2"))
		}
		// Binary, from B to everyone.
		bin := Event("/", `["bin",{"_placeholder":true,"num":0}]`)
		bin.Attachments = [][]byte{{1, 2, 3}}
		bin.Type, bin.Packet.Attachments = 5, 1
		if err := p.B.Broadcast(ctx, bin, adapter.BroadcastOptions{}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "a1 receives the binary event", func() bool { return len(p.EA.Packets("a1")) == 1 })
		got := p.EA.Packets("a1")[0]
		if string(got.Data) != `["bin",{"_placeholder":true,"num":0}]` || len(got.Attachments) != 1 || string(got.Attachments[0]) != "\x01\x02\x03" {
			t.Fatalf("a1 got %s %v", got.Data, got.Attachments)
		}
		// Local: not across.
		_ = p.A.Broadcast(ctx, Event("/", `["local"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Flags: adapter.Flags{Local: true}})
		_ = p.A.Broadcast(ctx, Event("/", `["marker"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}})
		testutil.Eventually(t, 10*time.Second, "b1 receives the marker", func() bool { return len(p.EB.Delivered("b1")) == 3 })
		if got := p.EB.Delivered("b1"); got[2] != `["marker"]` {
			t.Fatalf("b1 got %v", got)
		}
	})

	t.Run("FetchSockets", func(t *testing.T) {
		infos, err := p.A.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r1"}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, in := range infos {
			ids = append(ids, in.ID)
			if in.ID == "b1" {
				if in.Local || in.Data != "b-data" || !slices.Equal(Sorted(in.Rooms), []string{"b1", "r1"}) ||
					in.Handshake == nil || in.Handshake.Headers.Get("User-Agent") != "test" || string(in.Handshake.Auth) != `{"token":"t"}` {
					t.Fatalf("b1 seen from A: %+v %+v", in, in.Handshake)
				}
			}
		}
		if !slices.Equal(Sorted(ids), []string{"a1", "a2", "b1"}) {
			t.Fatalf("ids %v", ids)
		}
		all, err := p.B.Sockets(ctx, adapter.BroadcastOptions{Except: []string{"r2"}})
		if err != nil || !slices.Equal(Sorted(all), []string{"a2", "b1", "b2"}) {
			t.Fatalf("Sockets %v %v", all, err)
		}
	})

	t.Run("AddDelDisconnect", func(t *testing.T) {
		if err := p.A.AddSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r3"}}, []string{"joined"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "b2 joins", func() bool { return slices.Contains(p.B.SocketRooms("b2"), "joined") })
		if err := p.B.DelSockets(ctx, adapter.BroadcastOptions{}, []string{"joined"}); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(p.B.SocketRooms("b2"), "joined") {
			t.Fatal("b2 still in the room on its own node")
		}
		if err := p.B.DisconnectSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r2"}}, true); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "a1 disconnected", func() bool { return p.EA.Disconnected("a1") })
		if p.EA.Disconnected("a2") {
			t.Fatal("a2 disconnected too")
		}
	})

	t.Run("ServerSideEmit", func(t *testing.T) {
		p.EB.OnServerSide(func(args []json.RawMessage, ack func(any)) {
			if ack != nil {
				ack(map[string]any{"from": "b", "got": args[1]})
			}
		})
		if err := p.A.ServerSideEmit(ctx, "plain", 1); err != nil {
			t.Fatal(err)
		}
		resps, err := p.A.ServerSideEmitWithAck(ctx, "ask", "x")
		if err != nil || len(resps) != 1 || string(resps[0]) != `{"from":"b","got":"x"}` {
			t.Fatalf("answers %s, %v", resps, err)
		}
		evs := p.EB.ServerSideEvents()
		if len(evs) != 2 || string(evs[0][0]) != `"plain"` || string(evs[0][1]) != "1" {
			t.Fatalf("events on B %s", evs)
		}
		if len(p.EA.ServerSideEvents()) != 0 {
			t.Fatal("A received its own events")
		}
	})

	t.Run("BroadcastWithAck", func(t *testing.T) {
		p.EB.AutoAck(func(sid string) adapter.Ack { return adapter.Ack{Args: []byte(`["ok-` + sid + `",2]`)} })
		defer p.EB.WaitAcks()
		var (
			mu     sync.Mutex
			counts []int
			acks   []string
		)
		err := p.A.BroadcastWithAck(ctx, Event("/", `["q"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}, Flags: adapter.Flags{Timeout: 3 * time.Second}},
			func(n int) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
			func(a adapter.Ack) { mu.Lock(); acks = append(acks, string(a.Args)); mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		p.EA.Acknowledge("a2", adapter.Ack{Args: []byte(`["ok-a2"]`)})
		testutil.Eventually(t, 10*time.Second, "two counts and two acks", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(counts) == 2 && len(acks) == 2
		})
		mu.Lock()
		defer mu.Unlock()
		// B relays the first argument only, as the reference.
		if !slices.Equal(Sorted(acks), []string{`["ok-a2"]`, `["ok-b1"]`}) || counts[0]+counts[1] != 3 { // a1, a2 and b1
			t.Fatalf("counts %v acks %v", counts, acks)
		}
	})
}

// WaitServerCount waits until the adapter counts n servers.
func WaitServerCount(t *testing.T, a adapter.Adapter, n int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "server count", func() bool {
		got, err := a.ServerCount(context.Background())
		return err == nil && got == n
	})
}

// AddSocket declares a local socket of e, with a handshake, and makes it
// join its own room and rooms on a.
func AddSocket(e *adaptertest.Emitter, a adapter.Adapter, id string, data any, rooms ...string) {
	e.AddSocketInfo(adapter.SocketInfo{
		ID:   id,
		Data: data,
		Handshake: &adapter.Handshake{
			Headers: map[string][]string{"User-Agent": {"test"}},
			Query:   map[string][]string{"EIO": {"4"}},
			Address: "127.0.0.1",
			Auth:    []byte(`{"token":"t"}`),
			Issued:  1700000000000,
		},
		Local: true,
	})
	a.AddAll(id, append([]string{id}, rooms...)...)
}

// Event returns an event packet of namespace nsp.
func Event(nsp, data string) *adapter.Packet {
	return &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: nsp, Data: []byte(data)}}
}

// Sorted returns a sorted copy.
func Sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
