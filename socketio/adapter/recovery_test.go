package adapter_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/parser"
)

func TestMemoryRecovery(t *testing.T) {
	m := adapter.NewMemory(adaptertest.NewEmitter("/"))
	if err := m.EnableRecovery(time.Minute); err != nil {
		t.Fatal(err)
	}
	store := func(offset string, opts adapter.BroadcastOptions) {
		m.StorePacket(adapter.StoredPacket{Offset: offset, Data: []byte(`["e","` + offset + `"]`), Opts: opts})
	}
	store("o1", adapter.BroadcastOptions{})
	m.PersistSession(adapter.RecoverySession{SID: "s1", PID: "p1", Rooms: []string{"s1", "r1"}, Data: "d"})
	store("o2", adapter.BroadcastOptions{Rooms: []string{"r1"}})
	store("o3", adapter.BroadcastOptions{Rooms: []string{"r2"}})
	store("o4", adapter.BroadcastOptions{Except: []string{"r1"}})
	store("o5", adapter.BroadcastOptions{Rooms: []string{"s1"}})
	store("o6", adapter.BroadcastOptions{})

	if s := m.RestoreSession("p1", "unknown-offset"); s != nil {
		t.Fatalf("unknown offset restored %+v", s)
	}
	// The failed attempt consumed the session, as the reference does.
	m.PersistSession(adapter.RecoverySession{SID: "s1", PID: "p1", Rooms: []string{"s1", "r1"}, Data: "d"})
	s := m.RestoreSession("p1", "o1")
	if s == nil || s.SID != "s1" || s.Data != "d" {
		t.Fatalf("restore: %+v", s)
	}
	var got []string
	for _, p := range s.MissedPackets {
		got = append(got, p.Offset)
	}
	if want := []string{"o2", "o5", "o6"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("missed %v, want %v", got, want)
	}
	if m.RestoreSession("p1", "o1") != nil {
		t.Fatal("a session is restored once")
	}

	// Expiry.
	if err := m.EnableRecovery(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	m.PersistSession(adapter.RecoverySession{SID: "s2", PID: "p2"})
	time.Sleep(5 * time.Millisecond)
	if m.RestoreSession("p2", "o6") != nil {
		t.Fatal("expired session restored")
	}
}

// Between RestoreSession and ResumeSession a restored socket gets no
// broadcast; ResumeSession then delivers those stored since, once, and a
// packet stored before it but broadcast after it is not delivered again.
// ResumeSession(sid, false) forgets the socket.
func TestMemoryResumeSession(t *testing.T) {
	e := adaptertest.NewEmitter("/")
	m := adapter.NewMemory(e)
	if err := m.EnableRecovery(time.Minute); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	emit := func(offset string, opts adapter.BroadcastOptions) func() {
		data := `["e","` + offset + `"]`
		m.StorePacket(adapter.StoredPacket{Offset: offset, Data: []byte(data), Opts: opts})
		return func() {
			_ = m.Broadcast(ctx, &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Data: []byte(data)}}, opts)
		}
	}
	room := adapter.BroadcastOptions{Rooms: []string{"r"}}
	emit("o1", room)()
	m.PersistSession(adapter.RecoverySession{SID: "s1", PID: "p1", Rooms: []string{"s1", "r"}})
	lateMissed := emit("o2", room) // stored, broadcast only after the resume
	s := m.RestoreSession("p1", "o1")
	if s == nil || len(s.MissedPackets) != 1 {
		t.Fatalf("restore: %+v", s)
	}
	// The socket is in its rooms but not resumed yet.
	e.AddSocket("s1", nil)
	m.AddAll("s1", "s1", "r")
	emit("o3", room)()
	emit("o4", adapter.BroadcastOptions{Rooms: []string{"other"}})()
	lateGap := emit("o5", room)
	if got := e.Delivered("s1"); len(got) != 0 {
		t.Fatalf("delivered before ResumeSession: %v", got)
	}
	m.ResumeSession("s1", true)
	m.ResumeSession("s1", true) // a second call does nothing
	lateMissed()
	lateGap()
	emit("o6", room)()
	want := []string{`["e","o3"]`, `["e","o5"]`, `["e","o6"]`}
	if got := e.Delivered("s1"); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}

	m.PersistSession(adapter.RecoverySession{SID: "s2", PID: "p2", Rooms: []string{"s2", "r"}})
	if m.RestoreSession("p2", "o6") == nil {
		t.Fatal("restore of s2")
	}
	m.ResumeSession("s2", false)
	e.AddSocket("s2", nil)
	m.AddAll("s2", "s2", "r")
	emit("o7", room)()
	if got := e.Delivered("s2"); !slices.Equal(got, []string{`["e","o7"]`}) {
		t.Fatalf("after ResumeSession(false): %v", got)
	}
}
