package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/chatd/chatd/socketio"
)

// socketDetails is a socket as the dashboard shows it (the reference's
// SerializedSocket).
type socketDetails struct {
	ID        string           `json:"id"`
	ClientID  string           `json:"clientId"`
	Transport string           `json:"transport"`
	Nsp       string           `json:"nsp"`
	Data      json.RawMessage  `json:"data"`
	Handshake handshakeDetails `json:"handshake"`
	Rooms     []string         `json:"rooms"`
}

// handshakeDetails is the part of a handshake the dashboard is shown:
// not the CONNECT payload, and not the secret headers.
type handshakeDetails struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// redacted replaces the value of a secret header.
const redacted = "[redacted]"

// redactSet returns the lower-case names of the headers never shown.
func redactSet(extra []string) map[string]bool {
	m := map[string]bool{"cookie": true, "authorization": true, "proxy-authorization": true}
	for _, h := range extra {
		m[strings.ToLower(h)] = true
	}
	return m
}

// serializeLocal describes a socket of this node.
func (i *Instrumentation) serializeLocal(s *socketio.Socket) socketDetails {
	d := i.serialize(s.Namespace().Name(), s.ID(), s.Handshake(), s.Rooms(), s.Data())
	d.ClientID = clientID(s.ConnID())
	d.Transport = s.Transport()
	return d
}

// serialize describes a socket from what FetchSockets reports.
func (i *Instrumentation) serialize(nsp, id string, h *socketio.Handshake, rooms []string, data any) socketDetails {
	if rooms == nil {
		rooms = []string{}
	}
	return socketDetails{
		ID:        id,
		Nsp:       nsp,
		Data:      dataJSON(data),
		Handshake: i.handshake(h),
		Rooms:     rooms,
	}
}

// clientID is the part of a connection id the reference shows.
func clientID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// dataJSON encodes a socket's data; what cannot be encoded shows as {}.
func dataJSON(v any) json.RawMessage {
	if v == nil {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

// handshake describes h without its secrets.
func (i *Instrumentation) handshake(h *socketio.Handshake) handshakeDetails {
	if h == nil {
		return handshakeDetails{Headers: map[string]string{}, Query: map[string]string{}}
	}
	d := handshakeDetails{
		Address: h.Address,
		Headers: make(map[string]string, len(h.Headers)),
		Query:   make(map[string]string, len(h.Query)),
		Issued:  h.Issued,
		Secure:  h.Secure,
		Time:    h.Time,
		URL:     h.URL,
		XDomain: h.XDomain,
	}
	for k, vs := range h.Headers {
		name := strings.ToLower(k)
		if i.redact[name] {
			d.Headers[name] = redacted
			continue
		}
		d.Headers[name] = strings.Join(vs, ", ")
	}
	for k, vs := range h.Query {
		if len(vs) > 0 {
			d.Query[k] = vs[0]
		}
	}
	if ip := http.Header(h.Headers).Get("Cf-Connecting-Ip"); ip != "" && !i.redact["cf-connecting-ip"] {
		d.Address = ip
	} else if ip := http.Header(h.Headers).Get("X-Forwarded-For"); ip != "" && !i.redact["x-forwarded-for"] {
		d.Address = ip
	}
	return d
}

// fetchAll describes every socket of every namespace, on every node.
func (i *Instrumentation) fetchAll(ctx context.Context) []socketDetails {
	out := []socketDetails{}
	for _, ns := range i.io.Namespaces() {
		rs, err := ns.FetchSockets(ctx)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if r.Local() {
				if s := ns.Socket(r.ID()); s != nil {
					out = append(out, i.serializeLocal(s))
					continue
				}
			}
			out = append(out, i.serialize(ns.Name(), r.ID(), r.Handshake(), r.Rooms(), r.Data()))
		}
	}
	return out
}

// config is the payload of "config".
type config struct {
	SupportedFeatures []string `json:"supportedFeatures"`
}

// onAdminConnection greets a dashboard and registers its commands.
func (i *Instrumentation) onAdminConnection(s *socketio.Socket) {
	if id, ok := i.pendingSessions.LoadAndDelete(s); ok {
		_ = s.Emit("session", id)
	}
	if i.closed.Load() {
		return
	}
	if !i.opts.ReadOnly {
		i.registerCommands(s)
	}
	_ = s.Emit("config", config{SupportedFeatures: i.features})
	if i.opts.Mode == Development {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		_ = s.Emit("all_sockets", i.fetchAll(ctx))
	}
}

// target returns the sockets a command acts on: those of namespace nsp,
// in room filter when it is not empty. It is false for a namespace that
// does not exist (a command never creates one).
func (i *Instrumentation) target(nsp, filter string) (socketio.BroadcastOperator, bool) {
	if !i.io.HasNamespace(nsp) {
		return socketio.BroadcastOperator{}, false
	}
	ns := i.io.Of(nsp)
	if filter != "" {
		return ns.In(filter), true
	}
	return ns.To(), true
}

// registerCommands handles the dashboard's commands on s.
func (i *Instrumentation) registerCommands(s *socketio.Socket) {
	run := func(nsp, filter string, do func(context.Context, socketio.BroadcastOperator) error) {
		b, ok := i.target(nsp, filter)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		_ = do(ctx, b)
	}
	s.On("emit", func(args socketio.Args) {
		var nsp, filter, event string
		if args.Len() < 3 || args.Decode(0, &nsp) != nil || args.Decode(1, &filter) != nil || args.Decode(2, &event) != nil {
			return
		}
		if event == "" || socketio.IsReservedEvent(event) {
			return
		}
		rest := args.Forward()[3:]
		run(nsp, filter, func(ctx context.Context, b socketio.BroadcastOperator) error {
			return b.EmitContext(ctx, event, rest...)
		})
	})
	s.On("join", func(nsp, room, filter string) {
		if room == "" {
			return
		}
		run(nsp, filter, func(ctx context.Context, b socketio.BroadcastOperator) error { return b.SocketsJoin(ctx, room) })
	})
	s.On("leave", func(nsp, room, filter string) {
		if room == "" {
			return
		}
		run(nsp, filter, func(ctx context.Context, b socketio.BroadcastOperator) error { return b.SocketsLeave(ctx, room) })
	})
	s.On("_disconnect", func(nsp string, close bool, filter string) {
		run(nsp, filter, func(ctx context.Context, b socketio.BroadcastOperator) error { return b.DisconnectSockets(ctx, close) })
	})
}
