package live

import (
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// The throttle of one user in one room across their sockets, and the
// forgetting of users nobody types for any more.
func TestTypingState(t *testing.T) {
	ts := newTypingState(2 * time.Second)
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
