package live

import (
	"context"
	"slices"
	"strings"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// roomUsersLimit is the most users a roomUsers ack lists.
const roomUsersLimit = 200

// presenceDiff is what changed in a room's users since its last presence
// event: user name -> true when the user joined, false when they left. A
// user who joined and left again within one interval (or left and came
// back) is in neither list: members' lists are right without them.
type presenceDiff map[string]bool

func (d *presenceDiff) record(name string, joined bool) {
	if prev, ok := (*d)[name]; ok && prev != joined {
		delete(*d, name)
		return
	}
	if *d == nil {
		*d = make(presenceDiff)
	}
	(*d)[name] = joined
}

// take returns the users who joined and who left, sorted, and empties d.
func (d *presenceDiff) take() (joined, left []string) {
	joined, left = []string{}, []string{}
	for name, j := range *d {
		if j {
			joined = append(joined, name)
		} else {
			left = append(left, name)
		}
	}
	*d = nil
	slices.SortFunc(joined, strings.Compare)
	slices.SortFunc(left, strings.Compare)
	return joined, left
}

// userMoved records that a user joined (or left) a room: the room hears
// presence with it, and the new count, within one interval.
func (n *memberNotifier) userMoved(room chat.RoomID, name string, joined bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	st := n.state(room)
	st.diff.record(name, joined)
	if st.pending == nil {
		n.scheduleLocked(room, st)
	}
}

// sendDiff sends the presence event of a room, unless nothing changed.
func (n *memberNotifier) sendDiff(room chat.RoomID, joined, left []string) {
	if len(joined) > 0 || len(left) > 0 {
		n.presence(room, joined, left)
	}
}

// PresenceChanged tells the server that users joined or left a room
// without a socket of this node joining or leaving: the presence dropped
// the entries of a dead node (chat/redispresence's OnExpire: left), or
// restored this node's entries after Redis lost them (OnRestore: joined).
// The room hears the new count and presence with those users.
func (s *Server) PresenceChanged(room chat.RoomID, joined, left []string) {
	for _, name := range joined {
		s.members.userMoved(room, name, true)
	}
	for _, name := range left {
		s.members.userMoved(room, name, false)
	}
	if len(joined) == 0 && len(left) == 0 {
		s.members.changed(room)
	}
}

// PresenceListLimit is the most names a presence event carries in each of
// its lists. When more users joined (or left) a room within one interval
// (a reconnect wave, a big room filling up), the lists hold the first
// ones in byte order and the event says "truncated": members then ask
// roomUsers for the list. Without the limit every member of a room of N
// would receive up to N names each interval: O(N²) bytes per wave.
const PresenceListLimit = 100

// sendPresence sends presence to a room.
func (s *Server) sendPresence(room chat.RoomID, joined, left []string) {
	truncated := len(joined) > PresenceListLimit || len(left) > PresenceListLimit
	if len(joined) > PresenceListLimit {
		joined = joined[:PresenceListLimit]
	}
	if len(left) > PresenceListLimit {
		left = left[:PresenceListLimit]
	}
	s.broadcast(room.Namespace, func(nsp *socketio.Namespace) socketio.BroadcastOperator { return nsp.To(room.Room) },
		"presence", struct {
			Room      string   `json:"room"`
			Joined    []string `json:"joined"`
			Left      []string `json:"left"`
			Truncated bool     `json:"truncated,omitempty"`
		}{room.Room, joined, left, truncated})
}

// roomUsers acks the first users of the current room, in byte order of
// their names, and how many there are, on every node.
func (c *chatSocket) roomUsers(args socketio.Args, ack socketio.Ack) {
	var body struct{}
	if args.Len() < 1 || args.Decode(0, &body) != nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "roomUsers needs an object"))
		return
	}
	if c.room == "" {
		c.fail(ack, chat.Errorf(chat.EINVALID, "join a room before listing its users"))
		return
	}
	ctx, cancel := context.WithTimeout(c.so.Context(), c.s.opts.Timeout)
	defer cancel()
	users, total, err := c.s.opts.Presence.Users(ctx, c.roomID(c.room), roomUsersLimit)
	if err != nil {
		c.fail(ack, err)
		return
	}
	_ = ack(struct {
		Users []chat.UserRef `json:"users"`
		Total int            `json:"total"`
	}{users, total})
}
