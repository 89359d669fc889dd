package benchevents_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/benchevents"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// "join" acks the socket's number of rooms; "to-room" reaches the room's
// other members as "room-msg" with the arguments after the room, never
// the sender.
func TestJoinAndToRoom(t *testing.T) {
	leakcheck.Check(t)
	io := socketio.NewServer(nil)
	io.OnConnection(benchevents.Register)
	hs := httptest.NewServer(io)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		hs.Close()
	}()
	a := socketiotest.Dial(t, hs.URL+"/socket.io/", nil)
	b := socketiotest.Dial(t, hs.URL+"/socket.io/", nil)
	a.Connect("/", nil)
	b.Connect("/", nil)
	a.Emit("/", 1, "join", "r")
	a.Expect(`431[2]`) // its own room and r
	b.Emit("/", 2, "join", "r")
	b.Expect(`432[2]`)
	b.Emit("/", -1, "to-room", "r", "hello", 42)
	a.Expect(`42["room-msg","hello",42]`)
	a.Emit("/", -1, "to-room", "r", "back")
	b.Expect(`42["room-msg","back"]`)
	// The sender got nothing of its own: the next packet a sees is the
	// answer to a new join.
	a.Emit("/", 3, "join", "s")
	a.Expect(`433[3]`)
	a.Emit("/", -1, "to-room", 7) // not a room name: ignored
	a.Emit("/", 4, "join", "s")
	a.Expect(`434[3]`)
}
