package live

import (
	"context"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// roomsChangedEvent is the server-side event a node sends the others
// after a room of a namespace was created or deleted through it: each node
// then forgets the namespace's cached rooms, takes its sockets out of a
// deleted room (roomDeleted) and sends its sockets of the namespace the
// new nsRoomLoad.
const roomsChangedEvent = "chatd:rooms-changed"

// roomsChange is the payload of roomsChangedEvent.
type roomsChange struct {
	Namespace string `json:"namespace"`
	Deleted   string `json:"deleted,omitempty"` // the title of a deleted room
}

// forget drops the cached rooms of a namespace: the next read asks the
// store.
func (c *roomCache) forget(endpoint string) {
	c.mu.Lock()
	delete(c.ns, endpoint)
	c.mu.Unlock()
}

// titleArg decodes the { title } payload of a room event and applies the
// title rule.
func titleArg(args socketio.Args, event string) (string, error) {
	var body struct {
		Title *string `json:"title"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.Title == nil {
		return "", chat.Errorf(chat.EINVALID, "%s needs an object with a title string", event)
	}
	return *body.Title, chat.ValidateRoomTitle(*body.Title)
}

// createRoom: a creator or admin adds a room to this namespace (an admin
// only in a namespace for admins); every socket of the namespace, on
// every node, hears the new nsRoomLoad, then the creator gets the ack.
func (c *chatSocket) createRoom(args socketio.Args, ack socketio.Ack) {
	title, err := titleArg(args, "createRoom")
	if err == nil && !c.m.Role.MayCreateRoom(c.ns) {
		err = chat.Errorf(chat.EFORBIDDEN, "your role may not create rooms here")
	}
	if err != nil {
		c.fail(ack, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	room, err := c.s.opts.Namespaces.CreateRoom(ctx, c.ns.Endpoint, title)
	if err != nil {
		c.fail(ack, err)
		return
	}
	change := roomsChange{Namespace: c.ns.Endpoint}
	c.s.roomsChanged(change)
	c.s.tellNodes(ctx, c.so.Namespace(), roomsChangedEvent, change)
	_ = ack(struct {
		Room chat.Room `json:"room"`
	}{room})
}

// deleteRoom: an admin deletes a room of this namespace (its title
// matched without regard to case) with its messages; its sockets on every
// node hear roomDeleted and are in no room, then every socket of the
// namespace hears the new nsRoomLoad; the ack comes once this node's
// sockets have heard them. It runs unlocked: it takes the lock of each
// socket of the room in turn, this one's too.
func (c *chatSocket) deleteRoom(args socketio.Args, ack socketio.Ack) {
	title, err := titleArg(args, "deleteRoom")
	if err == nil && !c.m.Role.MayDeleteRoom() {
		err = chat.Errorf(chat.EFORBIDDEN, "only an admin may delete rooms")
	}
	if err != nil {
		c.fail(ack, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	room, err := c.s.opts.Namespaces.DeleteRoom(ctx, c.ns.Endpoint, title)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		err = chat.Errorf(chat.EINVALID, "unknown room %q", title)
	}
	if err != nil {
		c.fail(ack, err)
		return
	}
	change := roomsChange{Namespace: c.ns.Endpoint, Deleted: room.Title}
	c.s.roomsChanged(change)
	c.s.tellNodes(ctx, c.so.Namespace(), roomsChangedEvent, change)
	_ = ack(okReply{true})
}

// roomsChanged applies a change of the rooms of a namespace to this
// node: the cached rooms are dropped, the sockets of a deleted room leave
// it (in the presence too, so counts follow) and hear roomDeleted, its
// cached history is dropped, and every socket of the namespace on this
// node hears the new nsRoomLoad.
func (s *Server) roomsChanged(r roomsChange) {
	s.rooms.forget(r.Namespace)
	if r.Deleted != "" {
		id := chat.RoomID{Namespace: r.Namespace, Room: r.Deleted}
		s.opts.Messages.ObserveDelete(id)
		s.evict(id)
	}
	nsp := s.namespace(r.Namespace)
	if nsp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	list, err := s.rooms.list(ctx, r.Namespace)
	if err != nil {
		s.opts.Logger.Error("chat: listing rooms", "namespace", r.Namespace, "error", err)
		return
	}
	if err := nsp.Local().EmitContext(ctx, "nsRoomLoad", list); err != nil {
		s.opts.Logger.Warn("chat: sending the rooms of a namespace", "namespace", r.Namespace, "error", err)
	}
}

// evict takes this node's sockets out of a deleted room, one socket lock
// at a time, and tells each with roomDeleted.
func (s *Server) evict(room chat.RoomID) {
	s.mu.Lock()
	var socks []*chatSocket
	for c := range s.socks {
		if c.ns.Endpoint == room.Namespace {
			socks = append(socks, c)
		}
	}
	s.mu.Unlock()
	for _, c := range socks {
		c.mu.Lock()
		if c.room == room.Room {
			c.leave()
			_ = c.so.Emit("roomDeleted", struct {
				Room string `json:"room"`
			}{room.Room})
		}
		c.mu.Unlock()
	}
}
