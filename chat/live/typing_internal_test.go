package live

import (
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// The throttle of one user in one room across their sockets, and the
// forgetting of users nobody types for any more.
func TestTypingState(t *testing.T) {
	ts := newTypingState(2*time.Second, -1)
	k := typingKey{chat.RoomID{Namespace: "/user", Room: "chat"}, 1}
	now := time.Unix(1000, 0)
	if ts.stop(k, now) {
		t.Fatal("a stop without a start is forwarded")
	}
	if !ts.start(k, true, now) {
		t.Fatal("the first true is not forwarded")
	}
	if ts.start(k, false, now.Add(time.Second)) || ts.start(k, true, now.Add(time.Second)) {
		t.Fatal("a true within 2 s is forwarded")
	}
	if ts.stop(k, now.Add(time.Second)) {
		t.Fatal("one of two typing sockets stopping is forwarded")
	}
	if !ts.stop(k, now.Add(time.Second)) {
		t.Fatal("the last typing socket stopping is not forwarded")
	}
	if ts.start(k, true, now.Add(1500*time.Millisecond)) {
		t.Fatal("a true within 2 s of the last forwarded one, after a stop, is forwarded")
	}
	if ts.stop(k, now.Add(1600*time.Millisecond)) {
		t.Fatal("a stop after an unforwarded true is forwarded")
	}
	if !ts.start(k, true, now.Add(2*time.Second)) {
		t.Fatal("a true 2 s later is not forwarded")
	}
	if !ts.stop(k, now.Add(5*time.Second)) || len(ts.users) != 0 {
		t.Fatalf("after the last stop past the interval: %d entries", len(ts.users))
	}

	// Users who stopped within their interval are swept once the map
	// has grown.
	for i := range 200 {
		k := typingKey{k.room, int64(100 + i)}
		ts.start(k, true, now)
		ts.stop(k, now)
	}
	later := now.Add(time.Minute)
	for i := range 200 {
		ts.start(typingKey{k.room, int64(1000 + i)}, true, later)
	}
	if len(ts.users) > 200+128 {
		t.Fatalf("%d entries: the stopped users were not swept", len(ts.users))
	}
}

// A room forwards at most limit typists at a time: a further one waits
// for a place, which a stop frees at once and a typist who stopped
// repeating frees after typingForget.
func TestTypingStatePlaces(t *testing.T) {
	ts := newTypingState(2*time.Second, 2)
	room := chat.RoomID{Namespace: "/user", Room: "chat"}
	other := chat.RoomID{Namespace: "/user", Room: "random"}
	key := func(u int64) typingKey { return typingKey{room, u} }
	now := time.Unix(1000, 0)
	if !ts.start(key(1), true, now) || !ts.start(key(2), true, now) {
		t.Fatal("the first two typists are not forwarded")
	}
	if ts.start(key(3), true, now) {
		t.Fatal("a third typist is forwarded while two hold the places")
	}
	if !ts.start(typingKey{other, 3}, true, now) {
		t.Fatal("the places of one room are taken by another's typists")
	}
	if ts.stop(key(3), now.Add(time.Second)) {
		t.Fatal("the stop of a typist who was not forwarded is forwarded")
	}
	if ts.start(key(3), true, now.Add(time.Second)) {
		t.Fatal("a third typist is forwarded while two hold the places")
	}
	if !ts.stop(key(1), now.Add(time.Second)) {
		t.Fatal("the stop of a forwarded typist is not forwarded")
	}
	if !ts.start(key(3), false, now.Add(2*time.Second)) {
		t.Fatal("the waiting typist's repeat is not forwarded once a place is free")
	}
	// 2 keeps its place by repeating; 3 stops repeating and loses its
	// place after typingForget, to 4.
	if !ts.start(key(2), false, now.Add(3*time.Second)) {
		t.Fatal("a repeat after the interval is not forwarded")
	}
	if ts.start(key(4), true, now.Add(7*time.Second)) {
		t.Fatal("a place was freed before typingForget")
	}
	if !ts.start(key(2), false, now.Add(8*time.Second)) {
		t.Fatal("a repeat after the interval is not forwarded")
	}
	if !ts.start(key(4), false, now.Add(2*time.Second+typingForget+time.Second)) {
		t.Fatal("the place of a typist silent for typingForget was not freed")
	}
	if ts.stop(key(3), now.Add(20*time.Second)) {
		t.Fatal("the stop of a typist whose place was freed (clients forgot them) is forwarded")
	}
	if got := len(ts.places[room]); got != 2 {
		t.Fatalf("%d places held, want 2 (users 2 and 4)", got)
	}
	ts.stop(key(2), now.Add(30*time.Second))
	ts.stop(key(4), now.Add(30*time.Second))
	ts.stop(typingKey{other, 3}, now.Add(30*time.Second))
	if len(ts.places) != 0 {
		t.Fatalf("places left after every stop: %v", ts.places)
	}
}
