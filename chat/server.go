package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio"
)

// Authenticator finds the signed-in user of a request by its session
// cookie. *Accounts implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (User, error)
}

// ServerOptions are the dependencies and settings of a Server.
type ServerOptions struct {
	Auth       Authenticator
	Namespaces NamespaceStore
	Messages   MessageStore
	// Limiter limits messages per user; nil means no limit.
	Limiter *RateLimiter
	// MemberInterval is the shortest time between two updateMembers of
	// one room. Defaults to one second (docs/protocol.md).
	MemberInterval time.Duration
	// Timeout bounds each store and cluster operation of a handler.
	// Defaults to 10 seconds.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server speaks the chat protocol of docs/protocol.md over a socketio.Server:
// it registers the namespace middlewares (authentication, roles) and the
// event handlers.
type Server struct {
	opts    ServerOptions
	members *memberNotifier
}

// Member is the data each chat socket carries (socketio.Socket.Data): who
// is connected. Member counts count distinct UserIDs.
type Member struct {
	UserID   int64  `json:"userId"`
	Username string `json:"username"`
	Role     Role   `json:"role"`
}

// NewServer returns a chat server. Call Register to attach it to a
// socketio.Server and Close when shutting down.
func NewServer(opts ServerOptions) *Server {
	if opts.MemberInterval <= 0 {
		opts.MemberInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts}
	s.members = &memberNotifier{
		interval: opts.MemberInterval,
		count:    s.roomCount,
		send:     s.sendMembers,
		logger:   opts.Logger,
		rooms:    make(map[roomKey]*roomState),
	}
	return s
}

// Close stops pending member-count updates.
func (s *Server) Close() { s.members.close() }

// Register attaches the chat to io: the discovery namespace "/" and every
// chat namespace found in the store. Namespaces are read once here; rooms
// are read on every connection, so a room added to the store is listed to
// clients on their next connect.
func (s *Server) Register(ctx context.Context, io *socketio.Server) error {
	all, err := s.opts.Namespaces.ListNamespaces(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	io.Use(s.authenticate(nil))
	io.OnConnection(s.onDiscovery)
	for _, ns := range all {
		ns := ns
		io.Of(ns.Endpoint).Use(s.authenticate(&ns)).OnConnection(func(so *socketio.Socket) { s.onChat(ns, so) })
	}
	return nil
}

// authenticate is the namespace middleware: a handshake without a valid
// session is refused with "unauthorized" (whatever else is wrong), a user
// whose role may not enter ns with "forbidden".
func (s *Server) authenticate(ns *Namespace) socketio.Middleware {
	return func(so *socketio.Socket) error {
		u, err := s.userOf(so)
		if err != nil {
			if ErrorCode(err) == EINTERNAL {
				s.opts.Logger.Error("chat: authenticating a socket", "error", err)
			}
			return socketio.NewConnectError(EUNAUTHORIZED, nil)
		}
		if ns != nil && !u.Role.MayEnter(*ns) {
			return socketio.NewConnectError(EFORBIDDEN, nil)
		}
		so.SetData(&Member{UserID: u.ID, Username: u.Name, Role: u.Role})
		return nil
	}
}

func (s *Server) userOf(so *socketio.Socket) (User, error) {
	r := so.Request()
	if r == nil {
		return User{}, Errorf(EUNAUTHORIZED, "unauthorized")
	}
	c, err := (&http.Request{Header: r.Header}).Cookie(SessionCookieName)
	if err != nil {
		return User{}, Errorf(EUNAUTHORIZED, "unauthorized")
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
		list = []Namespace{}
	}
	_ = so.Emit("data", list)
}

// chatSocket is the state of one socket in a chat namespace. It is used
// only from that socket's handlers, which run one at a time.
type chatSocket struct {
	s    *Server
	ns   Namespace
	so   *socketio.Socket
	m    *Member
	room string // current room title, "" when in none
}

func (s *Server) onChat(ns Namespace, so *socketio.Socket) {
	c := &chatSocket{s: s, ns: ns, so: so, m: memberOf(so)}
	ctx, cancel := context.WithTimeout(so.Context(), s.opts.Timeout)
	rooms, err := s.opts.Namespaces.ListRooms(ctx, ns.Endpoint)
	cancel()
	if err != nil {
		s.opts.Logger.Error("chat: listing rooms", "namespace", ns.Endpoint, "error", err)
	}
	if rooms == nil {
		rooms = []Room{}
	}
	_ = so.Emit("nsRoomLoad", rooms)
	so.On("joinRoom", c.joinRoom)
	so.On("newMsg2Server", c.newMessage)
	so.OnDisconnect(func(socketio.Reason) {
		if c.room != "" {
			s.members.changed(so.Namespace(), c.room, -1)
		}
	})
}

type errorReply struct {
	Error string `json:"error"`
}

func (c *chatSocket) fail(ack socketio.Ack, err error) {
	if ErrorCode(err) == EINTERNAL {
		c.s.opts.Logger.Error("chat: handler failed", "namespace", c.ns.Endpoint, "user", c.m.Username, "error", err)
	}
	_ = ack(errorReply{Error: ErrorMessage(err)})
}

// joinRoom: leave the current room, join the new one, ack with its member
// count, then send its history.
func (c *chatSocket) joinRoom(args socketio.Args, ack socketio.Ack) {
	var title string
	if args.Len() < 1 || args.Decode(0, &title) != nil {
		c.fail(ack, Errorf(EINVALID, "joinRoom needs a room title (a string)"))
		return
	}
	ctx, cancel := context.WithTimeout(c.so.Context(), c.s.opts.Timeout)
	defer cancel()
	room, err := c.s.opts.Namespaces.FindRoom(ctx, c.ns.Endpoint, title)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			err = Errorf(EINVALID, "unknown room %q", title)
		}
		c.fail(ack, err)
		return
	}
	history, err := c.s.opts.Messages.LastMessages(ctx, c.ns.Endpoint, room.Title, HistorySize)
	if err != nil {
		c.fail(ack, err)
		return
	}
	nsp := c.so.Namespace()
	moved := c.room != room.Title
	if moved {
		if c.room != "" {
			c.so.Leave(c.room)
			c.s.members.changed(nsp, c.room, -1)
		}
		c.so.Join(room.Title)
		c.room = room.Title
	}
	count, err := c.s.countMembers(ctx, nsp, room.Title)
	if err != nil {
		c.fail(ack, err)
		return
	}
	_ = ack(struct {
		Members int `json:"members"`
	}{count})
	if history == nil {
		history = []Message{}
	}
	_ = c.so.Emit("historyUpdate", history)
	// After the history, so that historyUpdate follows the ack directly
	// on this socket. A rejoin changes nothing, but the count its ack told
	// must match what the room hears next.
	c.s.members.changed(nsp, room.Title, count)
}

// newMessage: validate, store, send comPeRoom to the room, then ack.
func (c *chatSocket) newMessage(args socketio.Args, ack socketio.Ack) {
	var body struct {
		Text *string `json:"text"`
	}
	if args.Len() < 1 || args.Decode(0, &body) != nil || body.Text == nil {
		c.fail(ack, Errorf(EINVALID, "newMsg2Server needs an object with a text string"))
		return
	}
	text, err := ValidateText(*body.Text)
	if err != nil {
		c.fail(ack, err)
		return
	}
	if c.room == "" {
		c.fail(ack, Errorf(EINVALID, "join a room before sending messages"))
		return
	}
	if !c.s.opts.Limiter.Allow(c.m.UserID) {
		c.fail(ack, Errorf(ERATELIMITED, "too many messages; slow down"))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.opts.Timeout)
	defer cancel()
	msg, err := c.s.opts.Messages.AppendMessage(ctx, Message{
		Namespace: c.ns.Endpoint, Room: c.room, UserID: c.m.UserID, Username: c.m.Username, Text: text,
	})
	if err != nil {
		c.fail(ack, err)
		return
	}
	if err := c.so.Namespace().To(c.room).EmitContext(ctx, "comPeRoom", msg); err != nil {
		c.s.opts.Logger.Error("chat: broadcasting a message", "id", msg.ID, "error", err)
	}
	_ = ack(struct {
		ID int64 `json:"id"`
	}{msg.ID})
}

// countMembers counts the distinct users in a room, on every node.
func (s *Server) countMembers(ctx context.Context, nsp *socketio.Namespace, room string) (int, error) {
	socks, err := nsp.In(room).FetchSockets(ctx)
	if err != nil {
		return 0, err
	}
	users := make(map[int64]struct{}, len(socks))
	for _, so := range socks {
		if id, ok := memberID(so.Data()); ok {
			users[id] = struct{}{}
		}
	}
	return len(users), nil
}

// memberID reads the user id from a socket's data: a *Member for local
// sockets, or its JSON form for sockets described by other nodes.
func memberID(data any) (int64, bool) {
	switch d := data.(type) {
	case *Member:
		return d.UserID, d != nil
	case nil:
		return 0, false
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return 0, false
		}
		var m Member
		if json.Unmarshal(b, &m) != nil || m.UserID == 0 {
			return 0, false
		}
		return m.UserID, true
	}
}

// roomCount counts a room's members; single reports whether this node is
// the only one (then it knows every count the room was sent).
func (s *Server) roomCount(nsp *socketio.Namespace, room string) (n int, single bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	n, err = s.countMembers(ctx, nsp, room)
	if err != nil {
		return 0, false, err
	}
	servers, err := nsp.Adapter().ServerCount(ctx)
	return n, err == nil && servers == 1, nil
}

// sendMembers sends updateMembers with count n to a room.
func (s *Server) sendMembers(nsp *socketio.Namespace, room string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	_ = nsp.To(room).EmitContext(ctx, "updateMembers", struct {
		Room    string `json:"room"`
		Members int    `json:"members"`
	}{room, n})
}

// memberNotifier coalesces updateMembers per room: at most one per interval,
// always counted when sent, the last one at most one interval after the
// last change. On a single node it sends nothing when the count is the one
// every member already knows (from the last update, or from their join
// ack); in a cluster, where other nodes send updates too, it always sends
// after a change.
type memberNotifier struct {
	interval time.Duration
	count    func(ns *socketio.Namespace, room string) (n int, single bool, err error)
	send     func(ns *socketio.Namespace, room string, n int)
	logger   *slog.Logger

	mu     sync.Mutex
	rooms  map[roomKey]*roomState
	closed bool
	wg     sync.WaitGroup
}

type roomKey struct {
	ns   *socketio.Namespace
	room string
}

type roomState struct {
	last    time.Time
	pending *time.Timer
	sent    int   // the count last sent to the room; -1 before the first
	seen    []int // counts told to joiners (their acks) since then
}

// changed records that the membership of a room changed; told is the
// count a joining socket was told in its ack, or -1.
func (n *memberNotifier) changed(ns *socketio.Namespace, room string, told int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	k := roomKey{ns, room}
	st := n.rooms[k]
	if st == nil {
		st = &roomState{sent: -1}
		n.rooms[k] = st
	}
	if told >= 0 {
		st.seen = append(st.seen, told)
	}
	if st.pending != nil {
		return // a send is scheduled; it will carry the count of its time
	}
	wait := time.Until(st.last.Add(n.interval))
	if wait < 0 {
		wait = 0
	}
	n.wg.Add(1)
	st.pending = time.AfterFunc(wait, func() {
		defer n.wg.Done()
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return
		}
		st.pending = nil
		st.last = time.Now()
		n.mu.Unlock()
		count, single, err := n.count(ns, room)
		if err != nil {
			n.logger.Warn("chat: counting members", "namespace", ns.Name(), "room", room, "error", err)
			return
		}
		n.mu.Lock()
		need := !single || count != st.sent
		for _, c := range st.seen {
			need = need || c != count
		}
		st.seen = st.seen[:0]
		if need {
			st.sent = count
		}
		n.mu.Unlock()
		if need {
			n.send(ns, room, count)
		}
	})
}

func (n *memberNotifier) close() {
	n.mu.Lock()
	n.closed = true
	for _, st := range n.rooms {
		if st.pending != nil && st.pending.Stop() {
			n.wg.Done()
		}
	}
	n.mu.Unlock()
	n.wg.Wait()
}
