package engine

// Per-session listeners: the reference's socket.on("packet" | ... ) on one
// Engine.IO socket (socket.conn in Socket.IO), beside the server-wide
// Observer. A session holds one pointer to them, nil until a listener is
// added, so that the events of a session without listeners cost one
// atomic load. They are called like the Observer's methods: synchronously,
// on the goroutine handling the request or connection, with no lock of
// the engine held, after the Observer; they must return quickly.

// sessionListeners is an immutable set of listeners, replaced as a whole
// when one is added or removed.
type sessionListeners struct {
	packet       []*listener[func(Packet)]
	packetCreate []*listener[func(*Frame)]
	flush        []*listener[func(int)]
	drain        []*listener[func()]
	heartbeat    []*listener[func()]
	upgrading    []*listener[func(string)]
	upgrade      []*listener[func(string)]
	close        []*listener[func(Reason)]
}

// listener wraps a function so that it can be found again for removal.
type listener[F any] struct{ fn F }

// addListener adds fn to the list field selects in s's listeners and
// returns the function that removes it.
func addListener[F any](s *Session, field func(*sessionListeners) *[]*listener[F], fn F) (remove func()) {
	l := &listener[F]{fn: fn}
	s.updateListeners(func(ls *sessionListeners) {
		p := field(ls)
		*p = append((*p)[:len(*p):len(*p)], l)
	})
	return func() {
		s.updateListeners(func(ls *sessionListeners) {
			p := field(ls)
			out := make([]*listener[F], 0, len(*p))
			for _, x := range *p {
				if x != l {
					out = append(out, x)
				}
			}
			*p = out
		})
	}
}

// updateListeners replaces s's listeners by a copy changed by edit.
func (s *Session) updateListeners(edit func(*sessionListeners)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ls sessionListeners
	if cur := s.lis.Load(); cur != nil {
		ls = *cur
	}
	edit(&ls)
	s.lis.Store(&ls)
}

// OnPacket adds a listener called for every packet received on the
// session's active transport, before it is handled (the reference's
// "packet" event; "message" and "data" are the packets of type
// PacketMessage). p.Data is only valid during the call. It returns the
// function that removes the listener.
func (s *Session) OnPacket(fn func(p Packet)) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func(Packet)] { return &l.packet }, fn)
}

// OnPacketCreate adds a listener called for every message queued to the
// session, after it was queued ("packetCreate"). It returns the function
// that removes the listener.
func (s *Session) OnPacketCreate(fn func(f *Frame)) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func(*Frame)] { return &l.packetCreate }, fn)
}

// OnFlush adds a listener called when n queued messages are about to be
// written, by a WebSocket write or in a polling response ("flush"). It
// returns the function that removes the listener.
func (s *Session) OnFlush(fn func(n int)) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func(int)] { return &l.flush }, fn)
}

// OnDrain adds a listener called when a write has emptied the session's
// queue ("drain"). It returns the function that removes the listener.
func (s *Session) OnDrain(fn func()) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func()] { return &l.drain }, fn)
}

// OnHeartbeat adds a listener called when a pong arrives ("heartbeat").
// It returns the function that removes the listener.
func (s *Session) OnHeartbeat(fn func()) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func()] { return &l.heartbeat }, fn)
}

// OnUpgrading adds a listener called when the upgrade probe succeeded on
// the transport named transport (TransportWebSocket), while the session
// still uses polling ("upgrading"). It returns the function that removes
// the listener.
func (s *Session) OnUpgrading(fn func(transport string)) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func(string)] { return &l.upgrading }, fn)
}

// OnUpgrade adds a listener called when the session has switched to the
// transport named transport (TransportWebSocket): Transport returns it
// from then on ("upgrade"). It returns the function that removes the
// listener.
func (s *Session) OnUpgrade(fn func(transport string)) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func(string)] { return &l.upgrade }, fn)
}

// OnClose adds a listener called once when the session ends, with the
// reason ("close"), after the Observer and the Handler were told. A
// listener added after the session ended is not called. It returns the
// function that removes the listener.
func (s *Session) OnClose(fn func(reason Reason)) (remove func()) {
	return addListener(s, func(l *sessionListeners) *[]*listener[func(Reason)] { return &l.close }, fn)
}

// Events of the session: the Observer's, then the session's listeners.

func (s *Session) notifyPacket(p Packet) {
	s.srv.obs().Packet(s, p)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.packet {
			l.fn(p)
		}
	}
}

func (s *Session) notifyPacketCreate(f *Frame) {
	s.srv.obs().PacketCreate(s, f)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.packetCreate {
			l.fn(f)
		}
	}
}

func (s *Session) notifyFlush(n int) {
	s.srv.obs().Flush(s, n)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.flush {
			l.fn(n)
		}
	}
}

func (s *Session) notifyDrain() {
	s.srv.obs().Drain(s)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.drain {
			l.fn()
		}
	}
}

func (s *Session) notifyHeartbeat() {
	s.srv.obs().Heartbeat(s)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.heartbeat {
			l.fn()
		}
	}
}

func (s *Session) notifyUpgrading() {
	s.srv.obs().Upgrading(s)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.upgrading {
			l.fn(TransportWebSocket)
		}
	}
}

func (s *Session) notifyUpgrade() {
	s.srv.obs().Upgrade(s)
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.upgrade {
			l.fn(TransportWebSocket)
		}
	}
}

// notifyClose tells the session's close listeners (the Observer is told
// before the Handler, by terminate).
func (s *Session) notifyClose(reason Reason) {
	if ls := s.lis.Load(); ls != nil {
		for _, l := range ls.close {
			l.fn(reason)
		}
	}
}

// OnConnection adds a listener called for every new session, after the
// Handler's OnOpen returned and before any message of the session is
// handled (the reference's engine "connection" event): it may add the
// session's own listeners there. It returns the function that removes
// the listener.
func (s *Server) OnConnection(fn func(*Session)) (remove func()) {
	l := &listener[func(*Session)]{fn: fn}
	s.lmu.Lock()
	s.connListeners.Store(appendClipped(s.connListeners.Load(), l))
	s.lmu.Unlock()
	return func() {
		s.lmu.Lock()
		defer s.lmu.Unlock()
		cur := s.connListeners.Load()
		if cur == nil {
			return
		}
		out := make([]*listener[func(*Session)], 0, len(*cur))
		for _, x := range *cur {
			if x != l {
				out = append(out, x)
			}
		}
		s.connListeners.Store(&out)
	}
}

func appendClipped[T any](cur *[]T, v T) *[]T {
	var out []T
	if cur != nil {
		out = (*cur)[:len(*cur):len(*cur)]
	}
	out = append(out, v)
	return &out
}

// notifyConnection tells the connection listeners of a new session.
func (s *Server) notifyConnection(sess *Session) {
	if ls := s.connListeners.Load(); ls != nil {
		for _, l := range *ls {
			l.fn(sess)
		}
	}
}
