package adapter_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

func TestMemoryConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter { return adapter.NewMemory(e) })
}

func TestMemoryOwnRoom(t *testing.T) {
	e := adaptertest.NewEmitter("/")
	for _, id := range []string{"a", "b"} {
		e.AddSocket(id, nil)
	}
	m := adapter.NewMemory(e)
	m.AddAll("a", "a")
	m.AddAll("b", "b", "r")
	// Another socket may join a room named after a socket id.
	m.AddAll("b", "a")
	if n := m.RoomSize("a"); n != 2 {
		t.Fatalf("size of room a: %d, want 2", n)
	}
	ids := selected(t, m, adapter.BroadcastOptions{Rooms: []string{"a"}})
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("room a: %v", ids)
	}
	ids = selected(t, m, adapter.BroadcastOptions{Rooms: []string{"a", "b"}})
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("rooms a, b: %v", ids)
	}
	ids = selected(t, m, adapter.BroadcastOptions{Except: []string{"b"}})
	if !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("except b: %v", ids)
	}
	if got := m.SocketRooms("b"); !slices.Equal(got, []string{"b", "r", "a"}) {
		t.Fatalf("rooms of b: %v", got)
	}
	// Leaving its own room keeps the socket, and the others in that room.
	m.Del("a", "a")
	if n := m.RoomSize("a"); n != 1 {
		t.Fatalf("size of room a after a left it: %d", n)
	}
	if got := m.SocketRooms("a"); got == nil || len(got) != 0 {
		t.Fatalf("rooms of a: %#v, want empty", got)
	}
	ids = selected(t, m, adapter.BroadcastOptions{})
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("everyone: %v", ids)
	}
	m.DelAll("b")
	if n := m.RoomSize("a") + m.RoomSize("b") + m.RoomSize("r"); n != 0 {
		t.Fatalf("rooms not empty after DelAll: %d", n)
	}
}

func TestMemoryManyRooms(t *testing.T) {
	e := adaptertest.NewEmitter("/")
	e.AddSocket("s", nil)
	m := adapter.NewMemory(e)
	var rooms []string
	for i := range 100 {
		rooms = append(rooms, fmt.Sprintf("r%d", i))
	}
	m.AddAll("s", "s")
	m.AddAll("s", rooms...)
	m.AddAll("s", rooms[:50]...) // already in them
	if got := m.SocketRooms("s"); !slices.Equal(got, append([]string{"s"}, rooms...)) {
		t.Fatalf("rooms: %v", got)
	}
	for _, r := range rooms[:95] {
		m.Del("s", r)
		m.Del("s", r)
	}
	if got := m.SocketRooms("s"); !slices.Equal(got, append([]string{"s"}, rooms[95:]...)) {
		t.Fatalf("rooms after leaving most: %v", got)
	}
	m.AddAll("s", rooms[:20]...)
	if n := len(m.SocketRooms("s")); n != 26 {
		t.Fatalf("%d rooms, want 26", n)
	}
	for _, r := range rooms {
		want := 0
		if slices.Contains(rooms[95:], r) || slices.Contains(rooms[:20], r) {
			want = 1
		}
		if n := m.RoomSize(r); n != want {
			t.Fatalf("size of %s: %d, want %d", r, n, want)
		}
	}
}

// selected returns the sorted ids that opts selects.
func selected(t *testing.T, m *adapter.Memory, opts adapter.BroadcastOptions) []string {
	t.Helper()
	ids, err := m.Sockets(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// BenchmarkMemoryJoin reports the heap kept per socket for 10,000 sockets,
// each in its own room and one shared room (heap-B/socket).
func BenchmarkMemoryJoin(b *testing.B) {
	const n = 10000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("socket-%015d", i)
	}
	var perSocket float64
	for range b.N {
		m := adapter.NewMemory(adaptertest.NewEmitter("/"))
		before := heapInUse()
		for _, id := range ids {
			m.AddAll(id, id)
			m.AddAll(id, "room")
		}
		perSocket = float64(heapInUse()-before) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perSocket, "heap-B/socket")
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestMemoryOnRoomChange(t *testing.T) {
	e := adaptertest.NewEmitter("/")
	for _, id := range []string{"a", "b"} {
		e.AddSocket(id, nil)
	}
	m := adapter.NewMemory(e)
	m.AddAll("a", "a") // before any listener: not reported
	var got []string
	remove := m.OnRoomChange(func(c adapter.RoomChange) {
		op := "-"
		if c.Joined {
			op = "+"
		}
		got = append(got, op+c.ID+":"+c.Room)
	})
	m.Add("a", "r1")
	m.Add("a", "r1") // already in it
	m.AddAll("a", "a", "r2", "r3")
	m.AddAll("b", "b", "r1")
	m.Del("a", "r2")
	m.Del("a", "r2") // not in it
	m.Del("a", "a")  // its own room: not reported
	ctx := context.Background()
	if err := m.AddSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"r3"}}, []string{"r4"}); err != nil {
		t.Fatal(err)
	}
	if err := m.DelSockets(ctx, adapter.BroadcastOptions{Rooms: []string{"b"}}, []string{"r1", "r4"}); err != nil {
		t.Fatal(err)
	}
	m.DelAll("a")
	want := []string{"+a:r1", "+a:r2", "+a:r3", "+b:r1", "-a:r2", "+a:r4", "-b:r1", "-a:r1", "-a:r3", "-a:r4"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes:\n got %v\nwant %v", got, want)
	}
	remove()
	got = nil
	m.Add("b", "r5")
	if len(got) != 0 {
		t.Fatalf("after remove: %v", got)
	}
}

// Selects tells whether a broadcast reaches any local socket, as the
// selection itself does, for rooms, own rooms and exceptions.
func TestMemorySelects(t *testing.T) {
	e := adaptertest.NewEmitter("/")
	for _, id := range []string{"a", "b", "c"} {
		e.AddSocket(id, nil)
	}
	m := adapter.NewMemory(e)
	m.AddAll("a", "a", "r1")
	m.AddAll("b", "b", "r1", "r2")
	m.AddAll("c", "c")
	names := []string{"a", "b", "c", "r1", "r2", "none"}
	var lists [][]string
	lists = append(lists, nil)
	for _, x := range names {
		lists = append(lists, []string{x})
		for _, y := range names {
			if x < y {
				lists = append(lists, []string{x, y})
			}
		}
	}
	lists = append(lists, []string{"a", "b", "c"})
	for _, rooms := range lists {
		for _, except := range lists {
			opts := adapter.BroadcastOptions{Rooms: rooms, Except: except}
			want := len(selected(t, m, opts)) > 0
			if got := m.Selects(opts); got != want {
				t.Errorf("Selects(rooms %v, except %v) = %v, the selection says %v", rooms, except, got, want)
			}
		}
	}
	m.DelAll("a")
	m.DelAll("b")
	m.DelAll("c")
	if m.Selects(adapter.BroadcastOptions{}) {
		t.Error("Selects with no sockets")
	}
}
