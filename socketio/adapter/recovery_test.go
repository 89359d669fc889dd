package adapter_test

import (
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
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
