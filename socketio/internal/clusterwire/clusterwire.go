// Package clusterwire holds the message formats of socket.io-adapter's
// ClusterAdapter, which the cluster adapters share: the message types, the
// packet and options objects of a broadcast, and the sockets of a
// fetchSockets response, as value trees of package jsvalue.
package clusterwire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// Message types, numbered as socket.io-adapter's MessageType.
const (
	TypeInitialHeartbeat       = 1
	TypeHeartbeat              = 2
	TypeBroadcast              = 3
	TypeSocketsJoin            = 4
	TypeSocketsLeave           = 5
	TypeDisconnectSockets      = 6
	TypeFetchSockets           = 7
	TypeFetchSocketsResponse   = 8
	TypeServerSideEmit         = 9
	TypeServerSideEmitResponse = 10
	TypeBroadcastClientCount   = 11
	TypeBroadcastAck           = 12
	TypeAdapterClose           = 13
)

// Reference packet types (socket.io-parser).
const (
	WireEvent       = 2
	WireBinaryEvent = 5
)

// Integer returns a decoded number as an int64, when it is a whole one.
func Integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

// PacketTree returns the reference's packet object of an event.
func PacketTree(pkt *adapter.Packet) (*jsvalue.Object, error) {
	data, err := jsvalue.FromJSON(pkt.Data, pkt.Attachments)
	if err != nil {
		return nil, fmt.Errorf("clusterwire: packet payload: %w", err)
	}
	p := &jsvalue.Object{}
	p.Set("type", int64(WireEvent))
	p.Set("data", data)
	p.Set("nsp", pkt.Namespace)
	return p, nil
}

// TreePacket converts the reference's packet object of an event.
func TreePacket(v any, nsp string) (*adapter.Packet, error) {
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("clusterwire: broadcast without packet")
	}
	if t, ok := o.Get("type"); ok {
		if n, _ := Integer(t); n != WireEvent && n != WireBinaryEvent {
			return nil, fmt.Errorf("clusterwire: unsupported packet type %v", t)
		}
	}
	if s, ok := o.GetString("nsp"); ok {
		nsp = s
	}
	d, ok := o.Get("data")
	if !ok {
		return nil, errors.New("clusterwire: packet without data")
	}
	text, atts, err := jsvalue.JSON(d)
	if err != nil {
		return nil, err
	}
	if len(text) == 0 || text[0] != '[' {
		return nil, errors.New("clusterwire: packet data is not an array")
	}
	pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: nsp, Data: text}, Attachments: atts}
	if len(atts) > 0 {
		pkt.Type, pkt.Packet.Attachments = parser.BinaryEvent, len(atts)
	}
	if _, err := parser.Decode(pkt.Encode(), &parser.DecodeOptions{MaxAttachments: len(atts) + 1}); err != nil {
		return nil, fmt.Errorf("clusterwire: invalid event: %w", err)
	}
	return pkt, nil
}

// OptsTree returns the reference's opts object.
func OptsTree(o adapter.BroadcastOptions) *jsvalue.Object {
	flags := &jsvalue.Object{}
	if o.Flags.Volatile {
		flags.Set("volatile", true)
	}
	if o.Flags.NoCompress {
		flags.Set("compress", false)
	}
	if o.Flags.Local {
		flags.Set("local", true)
	}
	if o.Flags.Timeout > 0 {
		flags.Set("timeout", o.Flags.Timeout.Milliseconds())
	}
	opts := &jsvalue.Object{}
	opts.Set("rooms", NonNil(o.Rooms))
	opts.Set("except", NonNil(o.Except))
	opts.Set("flags", flags)
	return opts
}

// TreeOpts converts the reference's opts object (nil gives no selection).
func TreeOpts(v any) adapter.BroadcastOptions {
	var opts adapter.BroadcastOptions
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return opts
	}
	opts.Rooms = StringList(o, "rooms")
	opts.Except = StringList(o, "except")
	if f, ok := Get[*jsvalue.Object](o, "flags"); ok {
		opts.Flags.Volatile = Truthy(f, "volatile")
		if v, ok := f.Get("compress"); ok {
			c, _ := v.(bool)
			opts.Flags.NoCompress = !c // absent means compress, as in the reference
		}
		opts.Flags.Local = Truthy(f, "local")
		if t, ok := f.Get("timeout"); ok {
			if ms, ok := Integer(t); ok && ms > 0 && ms < math.MaxInt64/int64(time.Millisecond) {
				opts.Flags.Timeout = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return opts
}

// Get returns the value of key k of o if it is a T.
func Get[T any](o *jsvalue.Object, k string) (T, bool) {
	v, _ := o.Get(k)
	t, ok := v.(T)
	return t, ok
}

// StringList returns the strings of the array at key of o.
func StringList(o *jsvalue.Object, key string) []string {
	arr, _ := Get[[]any](o, key)
	if len(arr) == 0 {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, el := range arr {
		out = append(out, jsvalue.KeyString(el))
	}
	return out
}

// Truthy reports whether the value at key of o is true.
func Truthy(o *jsvalue.Object, key string) bool {
	b, _ := Get[bool](o, key)
	return b
}

// NonNil returns s, or an empty slice for nil (an empty JSON array).
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// JSONTree converts a Go value to a value tree through its JSON encoding.
func JSONTree(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsvalue.FromPlainJSON(b)
}

// TreeJSON returns the JSON text of a value tree; binary values become
// placeholders without attachments (where only JSON is wanted, as
// socket.data).
func TreeJSON(v any) (json.RawMessage, error) {
	text, _, err := jsvalue.JSON(v)
	return text, err
}

// BroadcastData returns the data of a broadcast message.
func BroadcastData(pkt *adapter.Packet, opts adapter.BroadcastOptions, requestID string) (*jsvalue.Object, error) {
	packet, err := PacketTree(pkt)
	if err != nil {
		return nil, err
	}
	d := &jsvalue.Object{}
	d.Set("packet", packet)
	if requestID != "" {
		d.Set("requestId", requestID)
	}
	d.Set("opts", OptsTree(opts))
	return d, nil
}

// Socket describes a socket in a fetchSockets response.
type Socket struct {
	ID        string          `json:"id"`
	Handshake *Handshake      `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Handshake is the handshake as the reference server describes it:
// lower-case header names, and a string for each header or query
// parameter with one value (an array when there are several).
type Handshake struct {
	Headers map[string]json.RawMessage `json:"headers"`
	Time    string                     `json:"time"`
	Address string                     `json:"address"`
	XDomain bool                       `json:"xdomain"`
	Secure  bool                       `json:"secure"`
	Issued  float64                    `json:"issued"`
	URL     string                     `json:"url"`
	Query   map[string]json.RawMessage `json:"query"`
	Auth    json.RawMessage            `json:"auth"`
}

// secretHeaders are the request headers a handshake sent to other nodes
// leaves out (lower case): they carry the client's credentials (session
// cookies, tokens), which must not cross Redis or PostgreSQL. The
// reference sends every header; a node of this module reads a remote
// socket's handshake without them.
var secretHeaders = []string{"cookie", "authorization", "proxy-authorization"}

// ToHandshake returns the reference's description of a handshake, without
// the credential headers (secretHeaders).
func ToHandshake(h *adapter.Handshake) *Handshake {
	if h == nil {
		h = &adapter.Handshake{}
	}
	headers := multiMap(h.Headers, strings.ToLower)
	for _, k := range secretHeaders {
		delete(headers, k)
	}
	w := &Handshake{
		Headers: headers,
		Time:    h.Time,
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  float64(h.Issued),
		URL:     h.URL,
		Query:   multiMap(h.Query, nil),
		Auth:    h.Auth,
	}
	if len(w.Auth) == 0 || !json.Valid(w.Auth) {
		w.Auth = json.RawMessage("{}")
	}
	return w
}

// Adapter returns the handshake the description gives.
func (w *Handshake) Adapter() *adapter.Handshake {
	if w == nil {
		return nil
	}
	return &adapter.Handshake{
		Headers: fromMultiMap(w.Headers, http.CanonicalHeaderKey),
		Time:    w.Time,
		Address: w.Address,
		XDomain: w.XDomain,
		Secure:  w.Secure,
		Issued:  int64(w.Issued),
		URL:     w.URL,
		Query:   fromMultiMap(w.Query, nil),
		Auth:    w.Auth,
	}
}

func multiMap(m map[string][]string, key func(string) string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, vs := range m {
		if key != nil {
			k = key(k)
		}
		var b []byte
		if len(vs) == 1 {
			b, _ = json.Marshal(vs[0])
		} else {
			b, _ = json.Marshal(NonNil(vs))
		}
		out[k] = b
	}
	return out
}

func fromMultiMap(m map[string]json.RawMessage, key func(string) string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, raw := range m {
		if key != nil {
			k = key(k)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out[k] = append(out[k], s)
			continue
		}
		var ss []string
		if json.Unmarshal(raw, &ss) == nil {
			out[k] = append(out[k], ss...)
		}
	}
	return out
}

// SocketsTree returns the sockets of a fetchSockets response: rooms gives
// the rooms of a local socket (its Rooms are used when it gives none).
// Sockets whose data cannot be encoded as JSON go without it, reported to
// onErr.
func SocketsTree(infos []adapter.SocketInfo, rooms func(id string) []string, onErr func(id string, err error)) []any {
	sockets := make([]any, 0, len(infos))
	for _, in := range infos {
		w := Socket{ID: in.ID, Handshake: ToHandshake(in.Handshake), Rooms: NonNil(rooms(in.ID))}
		if len(w.Rooms) == 0 {
			w.Rooms = NonNil(in.Rooms)
		}
		if in.Data != nil {
			data, err := json.Marshal(in.Data)
			if err != nil {
				onErr(in.ID, err)
			} else {
				w.Data = data
			}
		}
		tree, err := JSONTree(w)
		if err != nil {
			continue
		}
		sockets = append(sockets, tree)
	}
	return sockets
}

// TreeSockets decodes the sockets of a fetchSockets response, their data
// with decode. Malformed sockets are skipped; a failure of decode leaves
// the socket without data, reported to onErr.
func TreeSockets(list []any, decode func(json.RawMessage) (any, error), onErr func(id string, err error)) []adapter.SocketInfo {
	out := make([]adapter.SocketInfo, 0, len(list))
	for _, el := range list {
		text, err := TreeJSON(el)
		if err != nil {
			continue
		}
		var w Socket
		if err := json.Unmarshal(text, &w); err != nil {
			continue
		}
		info := adapter.SocketInfo{ID: w.ID, Handshake: w.Handshake.Adapter(), Rooms: w.Rooms}
		if len(w.Data) > 0 && string(w.Data) != "null" {
			data, err := decode(w.Data)
			if err != nil {
				onErr(w.ID, err)
			}
			info.Data = data
		}
		out = append(out, info)
	}
	return out
}
