package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
)

// Authenticator finds the signed-in user of a session token (the value of
// the session cookie). *chat.Accounts implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (chat.User, error)
}

// Options are the dependencies and settings of a Server.
type Options struct {
	Auth       Authenticator
	Namespaces chat.NamespaceStore
	Messages   *chat.Messages
	// Reads keeps the read markers (unread, markRead, the marking of a
	// joined room). Nil sends no unread and refuses markRead.
	Reads *chat.ReadMarkers
	// Presence knows who is in which room; nil means a MemoryPresence
	// (one node). A cluster shares one (chat/redispresence) and sets
	// Cluster.
	Presence chat.Presence
	// Cluster tells that other nodes serve the same rooms: a member count
	// is then sent after every change, since this node does not know what
	// the other nodes sent.
	Cluster bool
	// ForgetUser, in a cluster, is called when another node reports that
	// a user logged out or changed role (UserChanged there): it drops
	// what this node cached of the user's sessions
	// (chat.Accounts.ForgetUser). Nil does nothing.
	ForgetUser func(userID int64)
	// MemberInterval is the shortest time between two updateMembers of
	// one room. Defaults to one second (docs/protocol.md).
	MemberInterval time.Duration
	// RoomsTTL is how long the rooms of a namespace read from the store
	// are used before they are read again (a room added to the store is
	// listed and joinable after at most this long). Defaults to one
	// second.
	RoomsTTL time.Duration
	// TypingInterval is the shortest time between two userTyping "true"
	// of one user in one room. Defaults to two seconds.
	TypingInterval time.Duration
	// MaxTypists is how many users' typing one room forwards at a time
	// on this node: a user who starts typing while that many others in
	// the room are is not forwarded until one of them stops (or has not
	// repeated for 6 seconds). Defaults to 5; negative: no limit.
	MaxTypists int
	// ActivityInterval is the shortest time between two roomActivity of
	// one room. Defaults to one second.
	ActivityInterval time.Duration
	// Timeout bounds each store and presence operation of a handler.
	// Defaults to 10 seconds.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server speaks the chat protocol of docs/protocol.md over a
// socketio.Server: it registers the namespace middlewares (authentication,
// roles) and the event handlers, and keeps the presence of every socket.
type Server struct {
	opts     Options
	members  *memberNotifier
	rooms    *roomCache
	typing   *typingState
	activity *activityNotifier
	marks    *joinMarks // nil without Options.Reads

	mu    sync.Mutex
	root  *socketio.Namespace            // "/", set by Register
	nsp   map[string]*socketio.Namespace // chat namespaces by endpoint
	socks map[*chatSocket]struct{}       // connected chat sockets
}

// Member is the data each chat socket carries (socketio.Socket.Data): who
// is connected.
type Member struct {
	UserID   int64     `json:"userId"`
	Username string    `json:"username"`
	Role     chat.Role `json:"role"`

	chat *chatSocket // the socket's chat state, set once on connection
}

func (m *Member) user() chat.User { return chat.User{ID: m.UserID, Name: m.Username, Role: m.Role} }

// NewServer returns a chat server. Call Register to attach it to a
// socketio.Server and Close when shutting down.
func NewServer(opts Options) *Server {
	if opts.MemberInterval <= 0 {
		opts.MemberInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Presence == nil {
		opts.Presence = chat.NewMemoryPresence()
	}
	if opts.RoomsTTL <= 0 {
		opts.RoomsTTL = time.Second
	}
	if opts.TypingInterval <= 0 {
		opts.TypingInterval = 2 * time.Second
	}
	if opts.ActivityInterval <= 0 {
		opts.ActivityInterval = time.Second
	}
	if opts.MaxTypists == 0 {
		opts.MaxTypists = 5
	}
	s := &Server{opts: opts, nsp: make(map[string]*socketio.Namespace), socks: make(map[*chatSocket]struct{}), rooms: newRoomCache(opts.Namespaces, opts.RoomsTTL)}
	s.members = &memberNotifier{
		interval: opts.MemberInterval,
		cluster:  opts.Cluster,
		count:    s.roomCount,
		send:     s.sendMembers,
		presence: s.sendPresence,
		logger:   opts.Logger,
		rooms:    make(map[chat.RoomID]*roomState),
	}
	s.typing = newTypingState(opts.TypingInterval, opts.MaxTypists)
	s.activity = newActivityNotifier(opts.ActivityInterval, s.sendActivity)
	if opts.Reads != nil {
		s.marks = newJoinMarks(opts.Reads.Store(), opts.Timeout, opts.Logger)
	}
	return s
}

// Close stops the member-count updates, sending those still waiting for
// their interval at once, stops the roomActivity sends, and stores the
// read markers of joins still queued.
func (s *Server) Close() {
	s.members.close()
	s.activity.close()
	if s.marks != nil {
		s.marks.close()
	}
}

// Shutdown takes every chat socket of this node out of its room (in the
// presence too) and sends the rooms their new counts at once, while the
// adapter still reaches the other nodes; then it stops the updates as
// Close does. Call it before socketio.Server.Close when the node stops:
// the members on other nodes then see this node's users leave. Sockets
// stay connected (their connections end with the server's Close) but
// join nothing any more. They stay in their Socket.IO rooms, so that they
// get the room's messages until their connections end and the sessions
// the server stores for connection state recovery keep the room: a client
// that resumes its session on another node (or on this one restarted) is
// back in its room with the messages it missed.
func (s *Server) Shutdown() {
	s.mu.Lock()
	socks := make([]*chatSocket, 0, len(s.socks))
	for c := range s.socks {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	for _, c := range socks {
		c.mu.Lock()
		c.leaveRoom(false)
		c.done = true
		c.mu.Unlock()
	}
	s.Close()
}

// Register attaches the chat to io: the discovery namespace "/" and every
// chat namespace found in the store. Namespaces are read once here; rooms
// are read again at most once per Options.RoomsTTL, so a room added to the
// store is listed to clients connecting after that.
func (s *Server) Register(ctx context.Context, io *socketio.Server) error {
	all, err := s.opts.Namespaces.ListNamespaces(ctx, chat.RoleAdmin)
	if err != nil {
		return err
	}
	io.Use(s.authenticate(nil))
	io.OnConnection(s.onDiscovery)
	root := io.Of("/")
	s.mu.Lock()
	s.root = root
	s.mu.Unlock()
	if s.opts.Cluster {
		root.OnServerSideEmit(s.onNodeEvent)
	}
	for _, ns := range all {
		nsp := io.Of(ns.Endpoint)
		s.mu.Lock()
		s.nsp[ns.Endpoint] = nsp
		s.mu.Unlock()
		nsp.Use(s.authenticate(&ns)).OnConnection(func(so *socketio.Socket) { s.onChat(ns, so) })
		handleEvents(nsp)
		if s.opts.Cluster {
			nsp.OnServerSideEmit(s.onNodeEvent)
		}
	}
	return nil
}

// postedEvent is the server-side event a node sends the others after it
// stored a message, so that their cached histories (chat.Messages.Observe)
// hold it too. Only the message goes: no session or other secret.
const postedEvent = "chatd:posted"

// postedMessage is a chat.Message with its author's id, which the JSON
// form sent to clients leaves out.
type postedMessage struct {
	chat.Message
	UserID int64 `json:"userId"`
}

// userChangedEvent is the server-side event a node sends the others
// after a user logged out or changed role through it: the user's id only.
const userChangedEvent = "chatd:user-changed"

// userChangedWait bounds how long UserChanged waits for the other nodes
// (a node that died without a word never answers).
const userChangedWait = 2 * time.Second

// UserChanged tells the other nodes of the cluster that a user logged out
// or changed role here (chat.AccountsOptions.OnUserChanged), so that they
// forget their cached sessions of the user, and waits until they said they
// did (at most userChangedWait): once a log-out has been answered, no node
// accepts the session any more. It does nothing on one node.
func (s *Server) UserChanged(userID int64) {
	s.mu.Lock()
	root := s.root
	s.mu.Unlock()
	if !s.opts.Cluster || root == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(s.opts.Timeout, userChangedWait))
	defer cancel()
	if _, err := root.ServerSideEmitWithAck(ctx, userChangedEvent, userID); err != nil {
		s.opts.Logger.Warn("chat: telling the other nodes of a changed user", "user", userID, "error", err)
	}
}

// onNodeEvent handles the server-side events of the other nodes.
func (s *Server) onNodeEvent(event string, args []json.RawMessage, ack func(any)) {
	if s.onHistoryEvent(event, args) {
		return
	}
	if event == readEvent {
		s.onRead(args)
		return
	}
	if event == userChangedEvent && len(args) == 1 {
		var id int64
		if json.Unmarshal(args[0], &id) == nil && id > 0 && s.opts.ForgetUser != nil {
			s.opts.ForgetUser(id)
		}
		if ack != nil {
			ack(true) // UserChanged waits for it
		}
		return
	}
	if event != postedEvent || len(args) != 1 {
		return
	}
	var p postedMessage
	if err := json.Unmarshal(args[0], &p); err != nil || p.ID == 0 {
		s.opts.Logger.Warn("chat: a malformed message notification from another node", "error", err)
		return
	}
	p.Message.UserID = p.UserID
	s.opts.Messages.Observe(p.Message)
	s.activity.posted(chat.RoomID{Namespace: p.Namespace, Room: p.Room}, p.ID)
}

func (s *Server) namespace(endpoint string) *socketio.Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nsp[endpoint]
}

// authenticate is the namespace middleware: a handshake without a valid
// session is refused with "unauthorized" (whatever else is wrong), a user
// whose role may not enter ns with "forbidden".
func (s *Server) authenticate(ns *chat.Namespace) socketio.Middleware {
	return func(so *socketio.Socket) error {
		u, err := s.userOf(so)
		if err != nil {
			if chat.ErrorCode(err) == chat.EINTERNAL {
				s.opts.Logger.Error("chat: authenticating a socket", "error", err)
			}
			return socketio.NewConnectError(chat.EUNAUTHORIZED, nil)
		}
		if ns != nil && !u.Role.MayEnter(*ns) {
			return socketio.NewConnectError(chat.EFORBIDDEN, nil)
		}
		so.SetData(&Member{UserID: u.ID, Username: u.Name, Role: u.Role})
		return nil
	}
}

func (s *Server) userOf(so *socketio.Socket) (chat.User, error) {
	r := so.Request()
	if r == nil {
		return chat.User{}, chat.Errorf(chat.EUNAUTHORIZED, "unauthorized")
	}
	c, err := (&http.Request{Header: r.Header}).Cookie(chat.SessionCookieName)
	if err != nil {
		return chat.User{}, chat.Errorf(chat.EUNAUTHORIZED, "unauthorized")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	return s.opts.Auth.Authenticate(ctx, c.Value)
}

func memberOf(so *socketio.Socket) *Member {
	m, _ := so.Data().(*Member)
	return m
}

// onDiscovery sends "data": the chat namespaces this user may enter.
func (s *Server) onDiscovery(so *socketio.Socket) {
	m := memberOf(so)
	ctx, cancel := context.WithTimeout(so.Context(), s.opts.Timeout)
	defer cancel()
	list, err := s.opts.Namespaces.ListNamespaces(ctx, m.Role)
	if err != nil {
		s.opts.Logger.Error("chat: listing namespaces", "error", err)
		list = nil
	}
	if list == nil {
		list = []chat.Namespace{}
	}
	_ = so.Transient().Emit("data", list) // sent anew on every connection: not kept for recovery
}

// chatSocket is the state of one socket in a chat namespace. Its handlers
// run one at a time and hold mu, which Shutdown takes too.
type chatSocket struct {
	s  *Server
	ns chat.Namespace
	so *socketio.Socket
	m  *Member

	mu     sync.Mutex
	room   string // current room title, "" when in none
	typing bool   // said typing true in room and did not stop (typing.go)
	done   bool   // the server is shutting down: no more joins or posts
}

func (s *Server) onChat(ns chat.Namespace, so *socketio.Socket) {
	c := &chatSocket{s: s, ns: ns, so: so, m: memberOf(so)}
	ctx, cancel := context.WithTimeout(so.Context(), s.opts.Timeout)
	rooms, err := s.rooms.list(ctx, ns.Endpoint)
	cancel()
	if err != nil {
		s.opts.Logger.Error("chat: listing rooms", "namespace", ns.Endpoint, "error", err)
		rooms = json.RawMessage("[]")
	}
	_ = so.Transient().Emit("nsRoomLoad", rooms) // as "unread": sent anew on every connection, recovered or not
	c.sendUnread(so.Context())
	so.Join(userRoom(c.m.UserID))
	if so.Recovered() {
		c.mu.Lock()
		c.resume()
		c.mu.Unlock()
	}
	// The events are served by the namespace's handlers (handleEvents),
	// which find this state through the socket's Member.
	c.m.chat = c
	s.mu.Lock()
	s.socks[c] = struct{}{}
	s.mu.Unlock()
	so.OnDisconnect(func(socketio.Reason) {
		s.mu.Lock()
		delete(s.socks, c)
		s.mu.Unlock()
		c.mu.Lock()
		c.leave()
		c.mu.Unlock()
	})
}

// chatHandler is the handler of a chat event for one socket.
type chatHandler func(c *chatSocket, args socketio.Args, ack socketio.Ack)

// handleEvents registers the handlers of the chat events on a chat
// namespace, once for all of its sockets (a handler per socket would cost
// each connection its closures).
func handleEvents(nsp *socketio.Namespace) {
	for event, h := range map[string]socketio.EventHandler{
		"joinRoom":       locked((*chatSocket).joinRoom),
		"newMsg2Server":  locked((*chatSocket).newMessage),
		"loadHistory":    locked((*chatSocket).loadHistory),
		"editMessage":    locked((*chatSocket).editMessage),
		"deleteMessage":  locked((*chatSocket).deleteMessage),
		"searchMessages": locked((*chatSocket).searchMessages),
		"createRoom":     locked((*chatSocket).createRoom),
		"deleteRoom":     unlocked((*chatSocket).deleteRoom),
		"roomUsers":      locked((*chatSocket).roomUsers),
		"typing":         locked((*chatSocket).onTyping),
		"markRead":       locked((*chatSocket).markRead),
	} {
		nsp.Handle(event, h)
	}
}

// chatOf is the chat state of a socket of a chat namespace (nil before
// onChat made it).
func chatOf(so *socketio.Socket) *chatSocket {
	if m := memberOf(so); m != nil {
		return m.chat
	}
	return nil
}

// locked runs handler h under the socket's lock, refusing it once the
// server is shutting down.
func locked(h chatHandler) socketio.EventHandler { return serve(h, true) }

// unlocked runs handler h without the socket's lock (for a handler that
// takes the locks of other sockets, one at a time, and may take this
// one's), refusing it once the server is shutting down.
func unlocked(h chatHandler) socketio.EventHandler { return serve(h, false) }

// serve makes the namespace handler of h: it finds the socket's chat
// state, refuses the event once the server is shutting down, and runs h,
// holding the socket's lock throughout when hold is set.
func serve(h chatHandler, hold bool) socketio.EventHandler {
	return func(so *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		c := chatOf(so)
		if c == nil {
			return
		}
		c.mu.Lock()
		done := c.done
		if !hold || done {
			c.mu.Unlock()
		} else {
			defer c.mu.Unlock()
		}
		if done {
			c.fail(ack, chat.Errorf(chat.EUNAVAILABLE, "the server is shutting down; try again"))
			return
		}
		h(c, args, ack)
	}
}

func (c *chatSocket) roomID(title string) chat.RoomID {
	return chat.RoomID{Namespace: c.ns.Endpoint, Room: title}
}

// resume restores the state of a socket whose session the Socket.IO
// server recovered after a short drop (connection state recovery): the
// adapter put it back in its rooms, so it is in the room it was in
// (unless that room was deleted meanwhile), which the presence hears
// again; the events it missed were replayed to it, so it gets no
// historyUpdate. c.mu is held.
func (c *chatSocket) resume() {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	for _, title := range c.so.Rooms() {
		if title == c.so.ID() || title == userRoom(c.m.UserID) {
			continue
		}
		if _, err := c.s.rooms.find(ctx, c.ns.Endpoint, title); err != nil || c.room != "" {
			c.so.Leave(title) // deleted meanwhile (or a second room, which a chat socket is never in)
			continue
		}
		id := c.roomID(title)
		c.room = title
		joined, _, err := c.s.opts.Presence.Add(ctx, id, c.so.ID(), chat.UserRef{Name: c.m.Username, Role: c.m.Role})
		if err != nil {
			c.s.opts.Logger.Warn("chat: presence of a resumed socket", "namespace", id.Namespace, "room", id.Room, "error", err)
		} else if joined {
			c.s.members.userMoved(id, c.m.Username, true)
		}
		c.s.members.changed(id)
	}
}

// leave takes the socket out of its current room, in the adapter and in
// the presence. c.mu is held.
func (c *chatSocket) leave() { c.leaveRoom(true) }

// leaveRoom takes the socket out of its current room in the presence, and
// in the adapter when adapterToo is set. c.mu is held.
func (c *chatSocket) leaveRoom(adapterToo bool) {
	if c.room == "" {
		return
	}
	c.stopTyping()
	id := c.roomID(c.room)
	if adapterToo {
		c.so.Leave(c.room)
	}
	c.room = ""
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	if _, left, err := c.s.opts.Presence.Remove(ctx, id, c.so.ID()); err != nil {
		c.s.opts.Logger.Warn("chat: presence of a leaving socket", "namespace", id.Namespace, "room", id.Room, "error", err)
		c.s.members.changed(id)
	} else if left {
		c.s.members.userMoved(id, c.m.Username, false)
	}
}

type errorReply struct {
	Error string `json:"error"`
}

func (c *chatSocket) fail(ack socketio.Ack, err error) {
	if chat.ErrorCode(err) == chat.EINTERNAL {
		c.s.opts.Logger.Error("chat: handler failed", "namespace", c.ns.Endpoint, "user", c.m.Username, "error", err)
	}
	_ = ack(errorReply{Error: chat.ErrorMessage(err)})
}

// joinRoom: leave the current room, join the new one, ack with its member
// count, then send its history. Its cost does not grow with the room: the
// count comes from the presence, kept as sockets come and go.
func (c *chatSocket) joinRoom(args socketio.Args, ack socketio.Ack) {
	var title string
	if args.Len() < 1 || args.Decode(0, &title) != nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "joinRoom needs a room title (a string)"))
		return
	}
	ctx, cancel := context.WithTimeout(c.so.Context(), c.s.opts.Timeout)
	defer cancel()
	room, err := c.s.rooms.find(ctx, c.ns.Endpoint, title)
	if err != nil {
		if chat.ErrorCode(err) == chat.ENOTFOUND {
			err = chat.Errorf(chat.EINVALID, "unknown room %q", title)
		}
		c.fail(ack, err)
		return
	}
	id := c.roomID(room.Title)
	history, err := c.s.opts.Messages.HistoryJSON(ctx, id)
	if err != nil {
		c.fail(ack, err)
		return
	}
	newUser := false
	members := -1
	if c.room != room.Title {
		c.leave()
		c.so.Join(room.Title)
		c.room = room.Title
		joined, st, err := c.s.opts.Presence.Add(ctx, id, c.so.ID(), chat.UserRef{Name: c.m.Username, Role: c.m.Role})
		if err != nil {
			// The presence is unreachable (Redis is down): the chat
			// goes on, and the room hears the count once it is back.
			c.s.opts.Logger.Warn("chat: presence of a joining socket", "namespace", id.Namespace, "room", id.Room, "error", err)
			joined = true
		} else {
			members = st.Users
		}
		newUser = joined
	}
	if members < 0 {
		members = 1 // the joiner, when the presence cannot say more
		if st, err := c.s.opts.Presence.Stats(ctx, id); err != nil {
			c.s.opts.Logger.Warn("chat: counting the members of a room", "namespace", id.Namespace, "room", id.Room, "error", err)
		} else {
			members = st.Users
		}
	}
	// The ack and the history leave in one write: on a cluster the
	// history comes back through the adapter's stream, after the ack.
	conn := c.so.Conn()
	conn.Hold()
	_ = ack(struct {
		Members int `json:"members"`
	}{members})
	_ = c.so.Emit("historyUpdate", json.RawMessage(history))
	conn.Release()
	// After the history, so that historyUpdate follows the ack directly
	// on this socket. The count this ack told must match what the room
	// hears next.
	if newUser {
		c.s.members.userMoved(id, c.m.Username, true)
	}
	c.s.members.told(id, members)
	c.markJoined(id, history)
}

// newMessage: validate, store, send comPeRoom to the room, then ack.
func (c *chatSocket) newMessage(args socketio.Args, ack socketio.Ack) {
	var body struct {
		Text *string `json:"text"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.Text == nil {
		c.fail(ack, chat.Errorf(chat.EINVALID, "newMsg2Server needs an object with a text string"))
		return
	}
	if c.room == "" {
		c.fail(ack, chat.Errorf(chat.EINVALID, "join a room before sending messages"))
		return
	}
	// Post applies the text rule (then the rate limit) itself.
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	msg, err := c.s.opts.Messages.Post(ctx, c.m.user(), c.roomID(c.room), *body.Text)
	if err != nil {
		c.fail(ack, err)
		return
	}
	c.stopTyping()
	nsp := c.so.Namespace()
	if err := nsp.To(c.room).EmitContext(ctx, "comPeRoom", msg); err != nil {
		c.s.opts.Logger.Error("chat: broadcasting a message", "id", msg.ID, "error", err)
	}
	c.s.activity.posted(c.roomID(c.room), msg.ID)
	if c.s.opts.Cluster {
		if err := nsp.ServerSideEmit(ctx, postedEvent, postedMessage{Message: msg, UserID: msg.UserID}); err != nil {
			c.s.opts.Logger.Warn("chat: telling the other nodes of a message", "id", msg.ID, "error", err)
		}
	}
	_ = ack(struct {
		ID int64 `json:"id"`
	}{msg.ID})
}

// roomCount is the number of distinct users in a room.
func (s *Server) roomCount(room chat.RoomID) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	st, err := s.opts.Presence.Stats(ctx, room)
	return st.Users, err
}

// sendMembers sends updateMembers with count n to a room.
func (s *Server) sendMembers(room chat.RoomID, n int) {
	s.broadcast(room.Namespace, func(nsp *socketio.Namespace) socketio.BroadcastOperator { return nsp.To(room.Room) },
		"updateMembers", struct {
			Room    string `json:"room"`
			Members int    `json:"members"`
		}{room.Room, n})
}

// broadcast emits event to the sockets of a chat namespace that to
// selects, within the handler timeout.
func (s *Server) broadcast(namespace string, to func(*socketio.Namespace) socketio.BroadcastOperator, event string, v any) {
	nsp := s.namespace(namespace)
	if nsp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	_ = to(nsp).EmitContext(ctx, event, v) // a failure is the adapter's to log
}
