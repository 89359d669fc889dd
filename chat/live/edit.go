package live

import (
	"context"
	"encoding/json"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// The server-side events a node sends the others after an edit or a
// deletion, so that their cached histories (chat.Messages) follow. The
// clients of every node hear messageEdited / messageDeleted through the
// adapter's broadcast.
const (
	editedEvent  = "chatd:edited"  // a postedMessage, as edited
	deletedEvent = "chatd:deleted" // a deletedMessage
)

// deletedMessage is the payload of deletedEvent and of messageDeleted.
type deletedMessage struct {
	ID   int64  `json:"id"`
	Room string `json:"room"`
}

// deletedNotice is deletedEvent's payload: which room lost a message.
type deletedNotice struct {
	deletedMessage
	Namespace string `json:"namespace"`
}

type okReply struct {
	OK bool `json:"ok"`
}

// editMessage: the author replaces the text of a message of this
// namespace; the room hears messageEdited, then the ack.
func (c *chatSocket) editMessage(args socketio.Args, ack socketio.Ack) {
	var body struct {
		ID   *int64  `json:"id"`
		Text *string `json:"text"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.ID == nil || body.Text == nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "editMessage needs an object with an integer id and a text string"))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	msg, err := c.s.opts.Messages.Edit(ctx, c.m.user(), c.ns.Endpoint, *body.ID, *body.Text)
	if err != nil {
		c.fail(ack, err)
		return
	}
	nsp := c.so.Namespace()
	if err := nsp.To(msg.Room).EmitContext(ctx, "messageEdited", struct {
		ID     int64  `json:"id"`
		Room   string `json:"room"`
		Text   string `json:"text"`
		Edited int64  `json:"edited"`
	}{msg.ID, msg.Room, msg.Text, msg.Edited}); err != nil {
		c.s.opts.Logger.Error("chat: broadcasting an edit", "id", msg.ID, "error", err)
	}
	c.s.tellNodes(ctx, nsp, editedEvent, postedMessage{Message: msg, UserID: msg.UserID})
	_ = ack(okReply{true})
}

// deleteMessage: the author, or an admin, deletes a message of this
// namespace; the room hears messageDeleted, then the ack.
func (c *chatSocket) deleteMessage(args socketio.Args, ack socketio.Ack) {
	var body struct {
		ID *int64 `json:"id"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.ID == nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "deleteMessage needs an object with an integer id"))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	msg, err := c.s.opts.Messages.Delete(ctx, c.m.user(), c.ns.Endpoint, *body.ID)
	if err != nil {
		c.fail(ack, err)
		return
	}
	gone := deletedMessage{ID: msg.ID, Room: msg.Room}
	nsp := c.so.Namespace()
	if err := nsp.To(msg.Room).EmitContext(ctx, "messageDeleted", gone); err != nil {
		c.s.opts.Logger.Error("chat: broadcasting a deletion", "id", msg.ID, "error", err)
	}
	c.s.tellNodes(ctx, nsp, deletedEvent, deletedNotice{deletedMessage: gone, Namespace: msg.Namespace})
	_ = ack(okReply{true})
}

// tellNodes sends the other nodes of a cluster a server-side event; it
// does nothing on one node.
func (s *Server) tellNodes(ctx context.Context, nsp *socketio.Namespace, event string, payload any) {
	if !s.opts.Cluster {
		return
	}
	if err := nsp.ServerSideEmit(ctx, event, payload); err != nil {
		s.opts.Logger.Warn("chat: telling the other nodes", "event", event, "error", err)
	}
}

// onHistoryEvent handles the server-side events of this part of the
// protocol (edits, deletions, rooms); it reports whether event was one.
func (s *Server) onHistoryEvent(event string, args []json.RawMessage) bool {
	switch event {
	case editedEvent, deletedEvent, roomsChangedEvent:
	default:
		return false
	}
	if len(args) != 1 {
		return true
	}
	var err error
	switch event {
	case editedEvent:
		var p postedMessage
		if err = json.Unmarshal(args[0], &p); err == nil && p.ID != 0 {
			p.Message.UserID = p.UserID
			s.opts.Messages.ObserveEdit(p.Message)
		}
	case deletedEvent:
		var d deletedNotice
		if err = json.Unmarshal(args[0], &d); err == nil {
			s.opts.Messages.ObserveDelete(chat.RoomID{Namespace: d.Namespace, Room: d.Room})
		}
	case roomsChangedEvent:
		var r roomsChange
		if err = json.Unmarshal(args[0], &r); err == nil && s.namespace(r.Namespace) != nil {
			s.roomsChanged(r)
		}
	}
	if err != nil {
		s.opts.Logger.Warn("chat: a malformed notification from another node", "event", event, "error", err)
	}
	return true
}
