package live

import (
	"context"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// messagesReply is the ack of loadHistory and searchMessages.
type messagesReply struct {
	Messages []chat.Message `json:"messages"`
}

// loadHistory: the page of the current room before beforeId, oldest
// first, read from the store through the (room_id, id) index.
func (c *chatSocket) loadHistory(args socketio.Args, ack socketio.Ack) {
	var body struct {
		BeforeID *int64 `json:"beforeId"`
		Limit    *int   `json:"limit"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.BeforeID == nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "loadHistory needs an object with an integer beforeId (and an optional integer limit)"))
		return
	}
	if c.room == "" {
		c.fail(ack, chat.Errorf(chat.EINVALID, "join a room before loading its history"))
		return
	}
	limit := chat.DefaultPageSize
	if body.Limit != nil {
		limit = *body.Limit
	}
	ctx, cancel := context.WithTimeout(c.so.Context(), c.s.opts.Timeout)
	defer cancel()
	msgs, err := c.s.opts.Messages.Page(ctx, c.roomID(c.room), *body.BeforeID, limit)
	if err != nil {
		c.fail(ack, err)
		return
	}
	_ = ack(messagesReply{msgs})
}

// searchMessages: the newest matches of every word of the query in the
// rooms of this namespace, or in the one named.
func (c *chatSocket) searchMessages(args socketio.Args, ack socketio.Ack) {
	var body struct {
		Query *string `json:"query"`
		Room  *string `json:"room"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.Query == nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "searchMessages needs an object with a query string (and an optional room title)"))
		return
	}
	room := ""
	if body.Room != nil {
		if room = *body.Room; room == "" {
			c.fail(ack, chat.Errorf(chat.EINVALID, "unknown room %q", room))
			return
		}
	}
	ctx, cancel := context.WithTimeout(c.so.Context(), c.s.opts.Timeout)
	defer cancel()
	msgs, err := c.s.opts.Messages.Search(ctx, c.ns.Endpoint, room, *body.Query)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		err = chat.Errorf(chat.EINVALID, "unknown room %q", room)
	}
	if err != nil {
		c.fail(ack, err)
		return
	}
	_ = ack(messagesReply{msgs})
}
