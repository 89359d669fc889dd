package live

import (
	"context"
	"math"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// sendUnread sends unread: the unread count of every room of the
// namespace for this user. Sent on connect, right after nsRoomLoad.
func (c *chatSocket) sendUnread(ctx context.Context) {
	if c.s.opts.Reads == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.opts.Timeout)
	defer cancel()
	counts, err := c.s.opts.Reads.UnreadCounts(ctx, c.m.UserID, c.ns.Endpoint, chat.UnreadCap)
	if err != nil {
		c.s.opts.Logger.Error("chat: counting unread messages", "namespace", c.ns.Endpoint, "error", err)
		return
	}
	_ = c.so.Emit("unread", struct {
		Counts map[string]int `json:"counts"`
	}{counts})
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
	if err := c.s.opts.Reads.MarkRead(ctx, c.m.UserID, c.ns.Endpoint, room.Title, *body.ID); err != nil {
		c.fail(ack, err)
		return
	}
	_ = ack(okReply{OK: true})
}

// markJoined marks the room just joined read up to its newest message.
// A failure is logged: the join itself succeeded.
func (c *chatSocket) markJoined(ctx context.Context, room chat.RoomID) {
	if c.s.opts.Reads == nil {
		return
	}
	if err := c.s.opts.Reads.MarkRead(ctx, c.m.UserID, room.Namespace, room.Room, math.MaxInt64); err != nil {
		c.s.opts.Logger.Warn("chat: marking a joined room read", "namespace", room.Namespace, "room", room.Room, "error", err)
	}
}
