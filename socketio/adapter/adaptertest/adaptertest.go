// Package adaptertest is a conformance suite for implementations of
// adapter.Adapter. Run it from the implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter {
//			return mypkg.New(e, ...)
//		})
//	}
//
// The suite drives the adapter through a recording Emitter standing for
// the namespace's local sockets.
package adaptertest

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/parser"
)

// NewFunc creates the adapter under test for the namespace e.
type NewFunc func(t *testing.T, e adapter.Emitter) adapter.Adapter

// Emitter is an adapter.Emitter that records what it is asked to do: it
// stands for a namespace's local sockets, those added with AddSocket or
// AddSocketInfo. It is the recording emitter of every adapter test in this
// module (the suite's and redisadapter's own).
//
// Packets delivered expecting an acknowledgement wait for Acknowledge, or
// are answered at once when AutoAck is set. Server-side events are
// recorded, and passed to the handler set with OnServerSide.
type Emitter struct {
	name string

	mu           sync.Mutex
	sockets      map[string]adapter.SocketInfo
	delivered    map[string][]*adapter.Packet // socket id -> packets delivered
	disconnected map[string]bool
	awaiting     map[string][]func(string, adapter.Ack) // socket id -> acks awaited
	serverSide   [][]json.RawMessage
	onServerSide func(args []json.RawMessage, ack func(any))
	autoAck      func(sid string) adapter.Ack
	acks         sync.WaitGroup // answers of autoAck in flight
}

// NewEmitter returns a recording emitter for namespace name.
func NewEmitter(name string) *Emitter {
	return &Emitter{
		name:         name,
		sockets:      map[string]adapter.SocketInfo{},
		delivered:    map[string][]*adapter.Packet{},
		disconnected: map[string]bool{},
		awaiting:     map[string][]func(string, adapter.Ack){},
	}
}

// AddSocket declares a local socket.
func (e *Emitter) AddSocket(id string, data any) {
	e.AddSocketInfo(adapter.SocketInfo{ID: id, Data: data, Local: true, Handshake: &adapter.Handshake{}})
}

// AddSocketInfo declares a local socket described by info.
func (e *Emitter) AddSocketInfo(info adapter.SocketInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sockets[info.ID] = info
}

// AutoAck makes every socket answer a packet expecting an acknowledgement
// at once, on a goroutine of its own, with ack(socket id); WaitAcks waits
// for these answers.
func (e *Emitter) AutoAck(ack func(sid string) adapter.Ack) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.autoAck = ack
}

// WaitAcks waits until the answers started by AutoAck have been given.
func (e *Emitter) WaitAcks() { e.acks.Wait() }

// OnServerSide sets a handler that ReceiveServerSideEmit calls with each
// event (after recording it), with the event's acknowledgement function.
func (e *Emitter) OnServerSide(h func(args []json.RawMessage, ack func(any))) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onServerSide = h
}

// Name implements adapter.Emitter.
func (e *Emitter) Name() string { return e.name }

// Deliver implements adapter.Emitter.
func (e *Emitter) Deliver(pkt *adapter.Packet, ids []string, _ adapter.Flags) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := e.sockets[id]; ok {
			e.delivered[id] = append(e.delivered[id], clonePacket(pkt))
			n++
		}
	}
	return n
}

// clonePacket copies pkt and its data, which the adapter may reuse once
// Deliver has returned.
func clonePacket(pkt *adapter.Packet) *adapter.Packet {
	cp := *pkt
	cp.Data = slices.Clone(pkt.Data)
	if pkt.Attachments != nil {
		cp.Attachments = make([][]byte, len(pkt.Attachments))
		for i, a := range pkt.Attachments {
			cp.Attachments[i] = slices.Clone(a)
		}
	}
	return &cp
}

// DeliverWithAck implements adapter.Emitter: it delivers as Deliver and
// keeps onAck for each socket reached, for Acknowledge (or, with AutoAck,
// calls it on a goroutine per socket).
func (e *Emitter) DeliverWithAck(pkt *adapter.Packet, ids []string, flags adapter.Flags, onAck func(string, adapter.Ack)) int {
	n := e.Deliver(pkt, ids, flags)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ids {
		if _, ok := e.sockets[id]; !ok {
			continue
		}
		if ack := e.autoAck; ack != nil {
			e.acks.Add(1)
			go func() {
				defer e.acks.Done()
				onAck(id, ack(id))
			}()
			continue
		}
		e.awaiting[id] = append(e.awaiting[id], onAck)
	}
	return n
}

// Acknowledge answers, as socket id, every packet it received expecting an
// acknowledgement and not yet answered. It returns how many it answered.
func (e *Emitter) Acknowledge(id string, ack adapter.Ack) int {
	e.mu.Lock()
	fns := e.awaiting[id]
	delete(e.awaiting, id)
	e.mu.Unlock()
	for _, fn := range fns {
		fn(id, ack)
	}
	return len(fns)
}

// ReceiveServerSideEmit implements adapter.Emitter: it records the event
// and passes it to the OnServerSide handler, if any.
func (e *Emitter) ReceiveServerSideEmit(args []json.RawMessage, ack func(any)) {
	e.mu.Lock()
	e.serverSide = append(e.serverSide, args)
	h := e.onServerSide
	e.mu.Unlock()
	if h != nil {
		h(args, ack)
	}
}

// ServerSideEvents returns the server-side events received, in order.
func (e *Emitter) ServerSideEvents() [][]json.RawMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.serverSide)
}

// Socket implements adapter.Emitter.
func (e *Emitter) Socket(id string) (adapter.SocketInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.sockets[id]
	return info, ok
}

// DisconnectSocket implements adapter.Emitter.
func (e *Emitter) DisconnectSocket(id string, _ bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.disconnected[id] = true
}

// Delivered returns the payloads delivered to a socket, in order.
func (e *Emitter) Delivered(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, p := range e.delivered[id] {
		out = append(out, string(p.Data))
	}
	return out
}

// Packets returns the packets delivered to a socket, in order.
func (e *Emitter) Packets(id string) []*adapter.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.delivered[id])
}

// Disconnected reports whether the socket was asked to disconnect.
func (e *Emitter) Disconnected(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.disconnected[id]
}

// Run runs the conformance suite.
func Run(t *testing.T, newAdapter NewFunc) {
	setup := func(t *testing.T) (*Emitter, adapter.Adapter) {
		e := NewEmitter("/test")
		a := newAdapter(t, e)
		t.Cleanup(func() { _ = a.Close() })
		for _, id := range []string{"a", "b", "c"} {
			e.AddSocket(id, id+"-data")
			a.AddAll(id, id)
		}
		a.AddAll("a", "r1", "r2")
		a.AddAll("b", "r1")
		a.AddAll("c", "r3")
		return e, a
	}
	ctx := context.Background()
	packet := func(data string) *adapter.Packet {
		return &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: "/test", Data: []byte(data)}}
	}
	receivers := func(e *Emitter) []string {
		var out []string
		for _, id := range []string{"a", "b", "c"} {
			if len(e.Delivered(id)) > 0 {
				out = append(out, id)
			}
		}
		return out
	}
	cases := []struct {
		name string
		opts adapter.BroadcastOptions
		want []string
	}{
		{"everyone", adapter.BroadcastOptions{}, []string{"a", "b", "c"}},
		{"one room", adapter.BroadcastOptions{Rooms: []string{"r1"}}, []string{"a", "b"}},
		{"rooms union once", adapter.BroadcastOptions{Rooms: []string{"r1", "r2", "r3"}}, []string{"a", "b", "c"}},
		{"except room", adapter.BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"r2"}}, []string{"b"}},
		{"except socket id", adapter.BroadcastOptions{Except: []string{"a"}}, []string{"b", "c"}},
		{"socket id as room", adapter.BroadcastOptions{Rooms: []string{"c"}}, []string{"c"}},
		{"unknown room", adapter.BroadcastOptions{Rooms: []string{"nope"}}, nil},
		{"local flag", adapter.BroadcastOptions{Rooms: []string{"r1"}, Flags: adapter.Flags{Local: true}}, []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run("Broadcast/"+tc.name, func(t *testing.T) {
			e, a := setup(t)
			if err := a.Broadcast(ctx, packet(`["x"]`), tc.opts); err != nil {
				t.Fatal(err)
			}
			if got := receivers(e); !slices.Equal(got, tc.want) {
				t.Fatalf("receivers %v, want %v", got, tc.want)
			}
			for _, id := range tc.want {
				if n := len(e.Delivered(id)); n != 1 {
					t.Fatalf("%s received %d times", id, n)
				}
			}
			ids, err := a.Sockets(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(ids)
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("Sockets %v, want %v", ids, tc.want)
			}
		})
	}
	t.Run("Order", func(t *testing.T) {
		e, a := setup(t)
		for _, d := range []string{`["1"]`, `["2"]`, `["3"]`} {
			_ = a.Broadcast(ctx, packet(d), adapter.BroadcastOptions{Rooms: []string{"r1"}})
		}
		if got := e.Delivered("a"); !slices.Equal(got, []string{`["1"]`, `["2"]`, `["3"]`}) {
			t.Fatalf("order %v", got)
		}
	})
	t.Run("RoomsAndDel", func(t *testing.T) {
		_, a := setup(t)
		got := a.SocketRooms("a")
		sort.Strings(got)
		if !slices.Equal(got, []string{"a", "r1", "r2"}) {
			t.Fatalf("rooms of a: %v", got)
		}
		if n := a.RoomSize("r1"); n != 2 {
			t.Fatalf("r1 size %d", n)
		}
		a.Del("a", "r1")
		if n := a.RoomSize("r1"); n != 1 {
			t.Fatalf("r1 size after Del %d", n)
		}
		a.DelAll("b")
		if n := a.RoomSize("r1"); n != 0 {
			t.Fatalf("r1 size after DelAll %d", n)
		}
		if rooms := a.SocketRooms("b"); rooms != nil {
			t.Fatalf("rooms of b after DelAll: %v", rooms)
		}
	})
	t.Run("FetchSockets", func(t *testing.T) {
		_, a := setup(t)
		infos, err := a.FetchSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r1"}})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
		if len(infos) != 2 || infos[0].ID != "a" || infos[0].Data != "a-data" || infos[1].ID != "b" {
			t.Fatalf("FetchSockets: %+v", infos)
		}
	})
	t.Run("AddDelSockets", func(t *testing.T) {
		_, a := setup(t)
		if err := a.AddSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r1"}}, []string{"new"}); err != nil {
			t.Fatal(err)
		}
		if n := a.RoomSize("new"); n != 2 {
			t.Fatalf("new room size %d", n)
		}
		if err := a.DelSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r2"}}, []string{"new"}); err != nil {
			t.Fatal(err)
		}
		if n := a.RoomSize("new"); n != 1 {
			t.Fatalf("new room size after DelSockets %d", n)
		}
	})
	t.Run("DisconnectSockets", func(t *testing.T) {
		e, a := setup(t)
		if err := a.DisconnectSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r3"}}, false); err != nil {
			t.Fatal(err)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.disconnected["c"] || e.disconnected["a"] || e.disconnected["b"] {
			t.Fatalf("disconnected %v", e.disconnected)
		}
	})
	t.Run("BroadcastWithAck", func(t *testing.T) {
		e, a := setup(t)
		var (
			mu      sync.Mutex
			counts  []int
			answers []string
		)
		err := a.BroadcastWithAck(ctx, packet(`["q"]`), adapter.BroadcastOptions{Rooms: []string{"r1"}},
			func(n int) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
			func(ack adapter.Ack) { mu.Lock(); answers = append(answers, string(ack.Args)); mu.Unlock() })
		if err != nil {
			t.Fatal(err)
		}
		if got := receivers(e); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("receivers %v, want [a b]", got)
		}
		mu.Lock()
		// This node's count is reported before BroadcastWithAck returns;
		// other nodes of a cluster adapter (with no receivers here) may
		// report their 0 before or after it.
		if sum, local := countsOf(counts); !local || sum != 2 {
			t.Fatalf("client counts %v, want this node's 2 (and other nodes' 0)", counts)
		}
		mu.Unlock()
		if e.Acknowledge("a", adapter.Ack{Args: []byte(`["from a"]`)}) != 1 || e.Acknowledge("c", adapter.Ack{}) != 0 {
			t.Fatal("the packet did not await acknowledgements from exactly its receivers")
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(answers, []string{`["from a"]`}) {
			t.Fatalf("acknowledgements %v", answers)
		}
	})
	t.Run("ServerSideEmit", func(t *testing.T) {
		_, a := setup(t)
		// Whether other nodes answer ServerSideEmitWithAck depends on
		// their namespaces: only sending is checked.
		if err := a.ServerSideEmit(ctx, "ev", 1); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ServerCount", func(t *testing.T) {
		_, a := setup(t)
		if n, err := a.ServerCount(ctx); err != nil || n < 1 {
			t.Fatalf("ServerCount %d, %v", n, err)
		}
	})
}

// countsOf sums the client counts of a BroadcastWithAck and reports
// whether the local one (non-zero here) was among them.
func countsOf(counts []int) (sum int, local bool) {
	for _, n := range counts {
		sum += n
		local = local || n > 0
	}
	return sum, local
}
