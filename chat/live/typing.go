package live

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// userRoom is the adapter room every chat socket of a user joins, on
// every node: a broadcast that excepts it skips all of the user's sockets
// in the cluster (userTyping is not echoed to the typist). No client can
// join it: joinRoom only joins rooms found in the store.
func userRoom(userID int64) string { return "@user:" + strconv.FormatInt(userID, 10) }

// typingKey is one user in one room.
type typingKey struct {
	room chat.RoomID
	user int64
}

// typist is what this node forwarded of a user's typing in a room.
type typist struct {
	last    time.Time // when a "true" was last forwarded
	active  bool      // a "true" was forwarded and no "false" since: the user holds one of the room's places
	sockets int       // the user's sockets here that said "true" and did not stop
}

// typingForget is how long a client shows a "true" without a repeat
// (docs/protocol.md): a typist who did not repeat for this long no longer
// holds a place of the room.
const typingForget = 6 * time.Second

// typingState throttles userTyping per user and room on this node: a
// "true" goes out at most once per interval; a "false" goes out only
// after a forwarded "true", once no socket of the user (on this node) is
// typing there any more. A room forwards the typing of at most limit
// users at a time (its places): nobody reads "12 people are typing", and
// in a room of a thousand members every forwarded typist costs a
// delivery to each of them every interval. A user who finds the places
// taken is not forwarded (nor their "false") until one frees.
type typingState struct {
	interval time.Duration
	limit    int // places per room; <= 0: no limit

	mu     sync.Mutex
	users  map[typingKey]*typist
	places map[chat.RoomID][]int64 // per room, the users holding a place (active)
	swept  int                     // len(users) after the last sweep
}

func newTypingState(interval time.Duration, limit int) *typingState {
	return &typingState{interval: interval, limit: limit, users: make(map[typingKey]*typist), places: make(map[chat.RoomID][]int64)}
}

// start records that a socket of the user types (again); it reports
// whether the "true" is to be forwarded. first tells that this socket was
// not typing before.
func (t *typingState) start(k typingKey, first bool, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ty := t.users[k]
	if ty == nil {
		ty = &typist{}
		t.users[k] = ty
		t.sweepLocked(now)
	}
	if first {
		ty.sockets++
	}
	if !ty.last.IsZero() && now.Sub(ty.last) < t.interval {
		return false
	}
	if !ty.active && !t.takePlaceLocked(k, now) {
		return false
	}
	ty.last, ty.active = now, true
	return true
}

// takePlaceLocked gives the user a place in the room when one is free,
// after freeing those of typists who did not repeat within typingForget
// (the clients have forgotten them; their "false" is not forwarded).
func (t *typingState) takePlaceLocked(k typingKey, now time.Time) bool {
	if t.limit <= 0 {
		return true
	}
	held := t.places[k.room]
	if len(held) >= t.limit {
		kept := held[:0]
		for _, u := range held {
			if h := t.users[typingKey{k.room, u}]; h != nil && h.active {
				if now.Sub(h.last) < typingForget {
					kept = append(kept, u)
					continue
				}
				h.active = false
			}
		}
		clear(held[len(kept):])
		held = kept
	}
	if len(held) >= t.limit {
		t.places[k.room] = held
		return false
	}
	t.places[k.room] = append(held, k.user)
	return true
}

// stop records that a typing socket of the user stopped (said "false",
// sent its message, left the room or disconnected); it reports whether a
// "false" is to be forwarded.
func (t *typingState) stop(k typingKey, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ty := t.users[k]
	if ty == nil {
		return false
	}
	if ty.sockets--; ty.sockets > 0 {
		return false
	}
	send := ty.active
	if send {
		ty.active = false
		t.freePlaceLocked(k)
	}
	if now.Sub(ty.last) >= t.interval {
		delete(t.users, k) // nothing left to throttle
	}
	return send
}

// freePlaceLocked removes the user from the room's places.
func (t *typingState) freePlaceLocked(k typingKey) {
	if t.limit <= 0 {
		return
	}
	held := t.places[k.room]
	if i := slices.Index(held, k.user); i >= 0 {
		held = slices.Delete(held, i, i+1)
	}
	if len(held) == 0 {
		delete(t.places, k.room)
	} else {
		t.places[k.room] = held
	}
}

// sweepLocked drops the entries nobody types in whose throttle is over,
// once the map has doubled since the last sweep (amortised O(1)).
func (t *typingState) sweepLocked(now time.Time) {
	if len(t.users) < 2*max(t.swept, 64) {
		return
	}
	for k, ty := range t.users {
		if ty.sockets <= 0 && now.Sub(ty.last) >= t.interval {
			delete(t.users, k)
		}
	}
	t.swept = len(t.users)
}

type typingEvent struct {
	Room     string `json:"room"`
	Username string `json:"username"`
	Typing   bool   `json:"typing"`
}

// onTyping: {typing: bool}, ack optional {ok: true}.
func (c *chatSocket) onTyping(args socketio.Args, ack socketio.Ack) {
	var body struct {
		Typing *bool `json:"typing"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.Typing == nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "typing needs an object with a typing boolean"))
		return
	}
	if c.room == "" {
		c.fail(ack, chat.Errorf(chat.EINVALID, "join a room before typing"))
		return
	}
	if *body.Typing {
		first := !c.typing
		c.typing = true
		if c.s.typing.start(typingKey{c.roomID(c.room), c.m.UserID}, first, time.Now()) {
			c.emitTyping(true)
		}
	} else {
		c.stopTyping()
	}
	_ = ack(okReply{OK: true})
}

// stopTyping ends this socket's typing in its current room, sending
// "false" when the room heard "true" for the user. c.mu is held; it is
// called before the socket leaves its room and before a message's
// comPeRoom.
func (c *chatSocket) stopTyping() {
	if !c.typing {
		return
	}
	c.typing = false
	if c.s.typing.stop(typingKey{c.roomID(c.room), c.m.UserID}, time.Now()) {
		c.emitTyping(false)
	}
}

// emitTyping sends userTyping to the current room except the user's own
// sockets; "true" is volatile, "false" is not.
func (c *chatSocket) emitTyping(on bool) {
	op := c.so.Namespace().To(c.room).Except(userRoom(c.m.UserID))
	if on {
		op = op.Volatile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	if err := op.EmitContext(ctx, "userTyping", typingEvent{c.room, c.m.Username, on}); err != nil {
		c.s.opts.Logger.Warn("chat: sending userTyping", "namespace", c.ns.Endpoint, "room", c.room, "error", err)
	}
}
