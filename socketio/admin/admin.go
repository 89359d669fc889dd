package admin

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
)

// Mode says how much the dashboard is told.
type Mode string

const (
	// Development sends the sockets and every change (connections, rooms,
	// events): the reference's default.
	Development Mode = "development"
	// Production sends only the server statistics and the aggregated
	// counts of events, for busy servers.
	Production Mode = "production"
)

// Defaults of Options.
const (
	DefaultNamespace     = "/admin"
	DefaultStatsInterval = 2 * time.Second
	DefaultMaxQueued     = 1 << 16
	// DefaultSessionTTL is how long a dashboard session id stays valid.
	DefaultSessionTTL = 24 * time.Hour
	// commandTimeout bounds a command or a fetch across nodes.
	commandTimeout = 10 * time.Second
)

// BasicAuth is the dashboard's login: a user name and the bcrypt hash of
// the password (as produced by golang.org/x/crypto/bcrypt or by the
// reference's bcryptjs).
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// Options configure Instrument.
type Options struct {
	// Namespace is the namespace the dashboard connects to (default
	// "/admin"). It must not be one the application uses.
	Namespace string
	// Auth is the dashboard's login. Instrument refuses a nil Auth unless
	// NoAuth is set, as the reference requires auth to be given or false.
	Auth *BasicAuth
	// NoAuth lets any client connect to the namespace without a login.
	NoAuth bool
	// Sessions keeps the session ids given to logged-in dashboards
	// (default: in memory, for DefaultSessionTTL). With several nodes, a
	// shared store lets a dashboard reconnect to another node without
	// the password.
	Sessions SessionStore
	// ReadOnly refuses the commands (emit, join, leave, _disconnect): the
	// dashboard only watches.
	ReadOnly bool
	// ServerID names this node in the dashboard (default: the host name).
	ServerID string
	// Mode is Development (default) or Production.
	Mode Mode
	// StatsInterval is the period of "server_stats" (default 2 s).
	StatsInterval time.Duration
	// MaxQueued bounds the events waiting to be sent to the dashboards
	// (default 65536); beyond it, events are dropped.
	MaxQueued int
	// RedactHeaders are further handshake headers never shown, beside
	// Cookie, Authorization and Proxy-Authorization.
	RedactHeaders []string
}

// processStart approximates the process's start, for "uptime".
var processStart = time.Now()

// Instrumentation is an instrumented server; Close ends it.
type Instrumentation struct {
	io       *socketio.Server
	adminNs  *socketio.Namespace
	opts     Options
	features []string
	redact   map[string]bool
	hostname string

	closed atomic.Bool
	done   chan struct{}
	wg     sync.WaitGroup

	// The queue of events for the dashboards.
	qmu     sync.Mutex
	queue   []queued
	signal  chan struct{}
	dropped atomic.Uint64

	// The namespaces watched, with the functions removing their hooks.
	nmu     sync.Mutex
	watched map[*socketio.Namespace]func()

	// Session ids given by the middleware, sent once connected.
	pendingSessions sync.Map // *socketio.Socket -> string

	removeEngine func()
	polling      atomic.Int64
	events       eventBuffer
}

// queued is an event for the dashboards.
type queued struct {
	name string
	args []any
}

// Instrument sets up the admin namespace on io and starts sending the
// server statistics. Call Close before closing io.
func Instrument(io *socketio.Server, opts Options) (*Instrumentation, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Mode == "" {
		opts.Mode = Development
	}
	if opts.Mode != Development && opts.Mode != Production {
		return nil, errors.New("admin: Mode must be Development or Production")
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = DefaultStatsInterval
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	if opts.Auth == nil && !opts.NoAuth {
		return nil, errors.New("admin: Auth must be set, or NoAuth to disable authentication")
	}
	if opts.Auth != nil {
		if err := checkHash(opts.Auth.PasswordHash); err != nil {
			return nil, err
		}
	}
	if opts.Sessions == nil {
		opts.Sessions = NewMemorySessions(DefaultSessionTTL)
	}
	hostname, _ := os.Hostname()
	if opts.ServerID == "" {
		opts.ServerID = hostname
	}
	i := &Instrumentation{
		io:       io,
		opts:     opts,
		redact:   redactSet(opts.RedactHeaders),
		hostname: hostname,
		done:     make(chan struct{}),
		signal:   make(chan struct{}, 1),
		watched:  make(map[*socketio.Namespace]func()),
	}
	if !opts.ReadOnly {
		i.features = []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"}
	}
	i.features = append(i.features, "AGGREGATED_EVENTS")
	if opts.Mode == Development {
		i.features = append(i.features, "ALL_EVENTS")
	}

	i.adminNs = io.Of(opts.Namespace)
	if opts.Auth != nil {
		i.adminNs.Use(i.authenticate)
	}
	i.adminNs.OnConnection(i.onAdminConnection)
	i.removeEngine = io.Engine().OnConnection(i.onSession)
	if opts.Mode == Development {
		// The hook first, then the namespaces already there: none is
		// missed (watch ignores a second sighting).
		io.OnNewNamespace(i.watch)
		for _, ns := range io.Namespaces() {
			i.watch(ns)
			i.attachExisting(ns)
		}
	}
	i.wg.Add(1)
	go i.run()
	return i, nil
}

// Namespace returns the admin namespace.
func (i *Instrumentation) Namespace() *socketio.Namespace { return i.adminNs }

// Dropped returns the number of events dropped because the queue was full.
func (i *Instrumentation) Dropped() uint64 { return i.dropped.Load() }

// Close stops the statistics and the events; the admin namespace stays,
// its connected dashboards get nothing more. It waits for the goroutine
// sending to the dashboards.
func (i *Instrumentation) Close() error {
	if i.closed.Swap(true) {
		return nil
	}
	close(i.done)
	i.wg.Wait()
	i.removeEngine()
	i.nmu.Lock()
	for ns, remove := range i.watched {
		remove()
		delete(i.watched, ns)
	}
	i.nmu.Unlock()
	return nil
}

// run sends the queued events and the periodic statistics.
func (i *Instrumentation) run() {
	defer i.wg.Done()
	t := time.NewTicker(i.opts.StatsInterval)
	defer t.Stop()
	i.emitStats()
	for {
		select {
		case <-i.done:
			return
		case <-t.C:
			i.flush()
			i.emitStats()
		case <-i.signal:
			i.flush()
		}
	}
}

// enqueue queues an event for the dashboards.
func (i *Instrumentation) enqueue(name string, args ...any) {
	if i.closed.Load() {
		return
	}
	i.qmu.Lock()
	if len(i.queue) >= i.opts.MaxQueued {
		i.qmu.Unlock()
		i.dropped.Add(1)
		return
	}
	i.queue = append(i.queue, queued{name, args})
	i.qmu.Unlock()
	select {
	case i.signal <- struct{}{}:
	default:
	}
}

// flush sends the queued events.
func (i *Instrumentation) flush() {
	i.qmu.Lock()
	q := i.queue
	i.queue = nil
	i.qmu.Unlock()
	for _, e := range q {
		_ = i.adminNs.Emit(e.name, e.args...)
	}
}

// namespaceStats is an entry of "server_stats".namespaces.
type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// serverStats is the payload of "server_stats".
type serverStats struct {
	ServerID            string           `json:"serverId"`
	Hostname            string           `json:"hostname"`
	PID                 int              `json:"pid"`
	Uptime              float64          `json:"uptime"`
	ClientsCount        int              `json:"clientsCount"`
	PollingClientsCount int              `json:"pollingClientsCount"`
	AggregatedEvents    []aggEvent       `json:"aggregatedEvents"`
	Namespaces          []namespaceStats `json:"namespaces"`
}

func (i *Instrumentation) emitStats() {
	nss := i.io.Namespaces()
	st := serverStats{
		ServerID:            i.opts.ServerID,
		Hostname:            i.hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(processStart).Seconds(),
		ClientsCount:        i.io.Engine().ClientsCount(),
		PollingClientsCount: int(i.polling.Load()),
		AggregatedEvents:    i.events.take(),
		Namespaces:          make([]namespaceStats, 0, len(nss)),
	}
	for _, ns := range nss {
		st.Namespaces = append(st.Namespaces, namespaceStats{Name: ns.Name(), SocketsCount: ns.SocketCount()})
	}
	_ = i.adminNs.Emit("server_stats", st)
	i.prune(nss)
}

// prune forgets the watched namespaces that no longer exist (dynamic
// children cleaned up).
func (i *Instrumentation) prune(live []*socketio.Namespace) {
	set := make(map[*socketio.Namespace]bool, len(live))
	for _, ns := range live {
		set[ns] = true
	}
	i.nmu.Lock()
	defer i.nmu.Unlock()
	for ns, remove := range i.watched {
		if !set[ns] {
			remove()
			delete(i.watched, ns)
		}
	}
}

// roomNotifier is what an adapter offers to report room changes
// (adapter.Memory and the adapters embedding it).
type roomNotifier interface {
	OnRoomChange(fn func(adapter.RoomChange)) (remove func())
}

// watch reports the connections and room changes of ns (development
// mode).
func (i *Instrumentation) watch(ns *socketio.Namespace) {
	if i.closed.Load() {
		return
	}
	i.nmu.Lock()
	if _, ok := i.watched[ns]; ok {
		i.nmu.Unlock()
		return
	}
	remove := func() {}
	if rn, ok := ns.Adapter().(roomNotifier); ok {
		name := ns.Name()
		remove = rn.OnRoomChange(func(c adapter.RoomChange) {
			if c.Joined {
				i.enqueue("room_joined", name, c.Room, c.ID, timestamp(time.Now()))
			} else {
				i.enqueue("room_left", name, c.Room, c.ID, timestamp(time.Now()))
			}
		})
	}
	i.watched[ns] = remove
	i.nmu.Unlock()
	ns.OnConnection(func(s *socketio.Socket) {
		if i.closed.Load() {
			return
		}
		i.enqueue("socket_connected", i.serializeLocal(s), timestamp(time.Now()))
		i.follow(s)
	})
}

// attachExisting follows the sockets already connected to ns.
func (i *Instrumentation) attachExisting(ns *socketio.Namespace) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	ids, err := ns.Local().SocketIDs(ctx)
	if err != nil {
		return
	}
	for _, id := range ids {
		if s := ns.Socket(id); s != nil {
			i.follow(s)
		}
	}
}

// follow reports the upgrade, the events and the disconnection of s.
func (i *Instrumentation) follow(s *socketio.Socket) {
	nsp, id := s.Namespace().Name(), s.ID()
	if s.Transport() == engine.TransportPolling {
		s.Conn().OnUpgrade(func(transport string) {
			i.enqueue("socket_updated", map[string]string{"id": id, "nsp": nsp, "transport": transport})
		})
	}
	if s.Namespace() != i.adminNs {
		s.OnAny(func(event string, args socketio.Args) {
			i.enqueue("event_received", nsp, id, eventArgs(event, args), timestamp(time.Now()))
		})
		s.OnAnyOutgoing(func(event string, args socketio.Args) {
			i.enqueue("event_sent", nsp, id, eventArgs(event, args), timestamp(time.Now()))
		})
	}
	s.OnDisconnect(func(reason socketio.Reason) {
		i.enqueue("socket_disconnected", nsp, id, string(reason), timestamp(time.Now()))
	})
}

// eventArgs is an event as the dashboard shows it: its name, then its
// arguments.
func eventArgs(event string, args socketio.Args) []any {
	return append([]any{event}, args.Forward()...)
}

// timestamp formats t as a JavaScript Date is sent in JSON.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// onSession counts the Engine.IO sessions, their packets and bytes.
func (i *Instrumentation) onSession(sess *engine.Session) {
	if i.closed.Load() {
		return
	}
	i.events.push("rawConnection", "", 1)
	if sess.Transport() == engine.TransportPolling {
		i.polling.Add(1)
		var once sync.Once
		decr := func() { once.Do(func() { i.polling.Add(-1) }) }
		sess.OnUpgrade(func(string) { decr() })
		sess.OnClose(func(engine.Reason) { decr() })
	}
	sess.OnPacket(func(p engine.Packet) {
		if len(p.Data) > 0 && !i.closed.Load() {
			i.events.push("packetsIn", "", 1)
			i.events.push("bytesIn", "", len(p.Data))
		}
	})
	sess.OnPacketCreate(func(f *engine.Frame) {
		if f.Len() > 1 && !i.closed.Load() {
			i.events.push("packetsOut", "", 1)
			i.events.push("bytesOut", "", f.Len())
		}
	})
	sess.OnClose(func(r engine.Reason) {
		if !i.closed.Load() {
			i.events.push("rawDisconnection", string(r), 1)
		}
	})
}

// aggEvent is an entry of "server_stats".aggregatedEvents: how many
// events of a type happened in one second.
type aggEvent struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int    `json:"count"`
}

// eventBuffer counts the events per second until the next statistics.
type eventBuffer struct {
	mu    sync.Mutex
	order []aggKey
	m     map[aggKey]int
}

type aggKey struct {
	sec          int64
	typ, subType string
}

func (b *eventBuffer) push(typ, subType string, n int) {
	k := aggKey{time.Now().Unix(), typ, subType}
	b.mu.Lock()
	if b.m == nil {
		b.m = make(map[aggKey]int)
	}
	if _, ok := b.m[k]; !ok {
		b.order = append(b.order, k)
	}
	b.m[k] += n
	b.mu.Unlock()
}

func (b *eventBuffer) take() []aggEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]aggEvent, 0, len(b.order))
	for _, k := range b.order {
		out = append(out, aggEvent{Timestamp: k.sec * 1000, Type: k.typ, SubType: k.subType, Count: b.m[k]})
	}
	b.order, b.m = nil, nil
	return out
}
