package live

import (
	"context"
	"encoding/json"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// sendUnread sends unread: the unread count of every room of the
// namespace for this user, and the newest message id each count reflects
// when known. Sent on connect, right after nsRoomLoad.
func (c *chatSocket) sendUnread(ctx context.Context) {
	if c.s.opts.Reads == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.opts.Timeout)
	defer cancel()
	titles, err := c.s.rooms.titles(ctx, c.ns.Endpoint)
	var (
		counts map[string]int
		last   map[string]int64
	)
	if err == nil {
		counts, last, err = c.s.opts.Reads.UnreadUpTo(ctx, c.m.UserID, c.ns.Endpoint, titles)
	}
	if err != nil {
		c.s.opts.Logger.Error("chat: counting unread messages", "namespace", c.ns.Endpoint, "error", err)
		return
	}
	// lastIds lets the client ignore a roomActivity, sent within a
	// second of its message, about messages these counts hold already.
	_ = c.so.Transient().Emit("unread", struct {
		Counts  map[string]int   `json:"counts"`
		LastIDs map[string]int64 `json:"lastIds,omitempty"`
	}{counts, last})
}

// markRead: {room, id}, ack {ok: true}. The marker only moves forward;
// any room of the namespace, joined or not.
func (c *chatSocket) markRead(args socketio.Args, ack socketio.Ack) {
	var body struct {
		Room *string `json:"room"`
		ID   *int64  `json:"id"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.Room == nil || body.ID == nil || *body.ID < 0 {
		c.fail(ack, chat.Errorf(chat.EINVALID, "markRead needs an object with a room title and a message id (an integer, 0 or more)"))
		return
	}
	if c.s.opts.Reads == nil {
		c.fail(ack, chat.Errorf(chat.EUNAVAILABLE, "read markers are not kept here"))
		return
	}
	ctx, cancel := context.WithTimeout(c.so.Context(), c.s.opts.Timeout)
	defer cancel()
	room, err := c.s.rooms.find(ctx, c.ns.Endpoint, *body.Room)
	if err != nil {
		if chat.ErrorCode(err) == chat.ENOTFOUND {
			err = chat.Errorf(chat.EINVALID, "unknown room %q", *body.Room)
		}
		c.fail(ack, err)
		return
	}
	if err := c.s.opts.Reads.MarkRead(ctx, c.m.UserID, chat.RoomID{Namespace: c.ns.Endpoint, Room: room.Title}, *body.ID); err != nil {
		c.fail(ack, err)
		return
	}
	// The other nodes drop what they cached of the user's markers.
	c.s.tellNodes(ctx, c.so.Namespace(), readEvent, readNotice{UserID: c.m.UserID, Namespace: c.ns.Endpoint})
	_ = ack(okReply{OK: true})
}

// readEvent is the server-side event a node sends the others after a
// markRead through it: they forget the user's cached markers in that
// namespace (chat.ReadMarkers.Forget).
const readEvent = "chatd:read"

// readNotice is the payload of readEvent.
type readNotice struct {
	UserID    int64  `json:"userId"`
	Namespace string `json:"namespace"`
}

// onRead applies a readEvent of another node.
func (s *Server) onRead(args []json.RawMessage) {
	var n readNotice
	if len(args) != 1 || json.Unmarshal(args[0], &n) != nil || n.UserID <= 0 {
		s.opts.Logger.Warn("chat: a malformed read notification from another node")
		return
	}
	if s.opts.Reads != nil {
		s.opts.Reads.Forget(n.UserID, n.Namespace)
	}
}

// markJoined marks the room just joined read up to the newest message of
// the history it was sent, in the background (marks.go).
func (c *chatSocket) markJoined(room chat.RoomID, history []byte) {
	if c.s.marks != nil {
		id := newestID(history)
		c.s.opts.Reads.Joined(c.m.UserID, room, id)
		c.s.marks.add(c.m.UserID, room, id)
	}
}
