package redisstreams

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// The messages between nodes are those of the reference adapter
// (@socket.io/redis-streams-adapter 0.3.x, on socket.io-adapter's
// ClusterAdapter), so that Go and Node.js servers share one cluster:
//
//   - Broadcasts without acknowledgement, socketsJoin, socketsLeave and
//     disconnectSockets are entries of the stream (XADD MAXLEN ~), with
//     the fields uid, nsp, type (the message type as decimal text) and
//     data: the JSON text of the message's data, or, when it holds binary
//     values, the base64 of its MessagePack encoding.
//   - Requests that expect answers (fetchSockets, serverSideEmit, a
//     broadcast with acknowledgements) are published on the namespace's
//     channel "<prefix>#<nsp>#", and their answers on the requesting
//     node's channel "<prefix>#<nsp>#<uid>#": a MessagePack map {uid,
//     nsp, type, data} each, binary values in place.
//
// The data of a broadcast is {packet: {type: 2, data: [event, ...args],
// nsp}, opts: {rooms, except, flags}}.

// Message types, numbered as socket.io-adapter's MessageType.
const (
	typeBroadcast              = 3
	typeSocketsJoin            = 4
	typeSocketsLeave           = 5
	typeDisconnectSockets      = 6
	typeFetchSockets           = 7
	typeFetchSocketsResponse   = 8
	typeServerSideEmit         = 9
	typeServerSideEmitResponse = 10
	typeBroadcastClientCount   = 11
	typeBroadcastAck           = 12
)

// Reference packet types (socket.io-parser).
const (
	wireEvent       = 2
	wireBinaryEvent = 5
)

// message is a cluster message, from the stream or from a channel.
type message struct {
	uid  string
	nsp  string
	typ  int
	data *jsvalue.Object // nil when the message has none
}

// errNoData is returned for a message whose type needs data and has none.
var errNoData = errors.New("redisstreams: message without data")

// entryFields returns the fields of the stream entry of a message, in the
// reference's order.
func entryFields(m *message) ([]any, error) {
	fields := []any{"uid", m.uid, "nsp", m.nsp, "type", strconv.Itoa(m.typ)}
	if m.data == nil {
		return fields, nil
	}
	text, atts, err := jsvalue.JSON(m.data)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		return append(fields, "data", string(text)), nil
	}
	b, err := jsvalue.Marshal(m.data)
	if err != nil {
		return nil, err
	}
	return append(fields, "data", base64.StdEncoding.EncodeToString(b)), nil
}

// decodeEntry decodes the fields of a stream entry.
func decodeEntry(values map[string]any) (*message, error) {
	m := &message{}
	m.uid, _ = values["uid"].(string)
	m.nsp, _ = values["nsp"].(string)
	if m.nsp == "" {
		return nil, errors.New("redisstreams: entry without nsp")
	}
	typ, _ := values["type"].(string)
	n, err := strconv.Atoi(typ)
	if err != nil {
		return nil, fmt.Errorf("redisstreams: entry type %q", typ)
	}
	m.typ = n
	data, _ := values["data"].(string)
	if data == "" {
		return m, nil
	}
	var v any
	if data[0] == '{' {
		v, err = jsvalue.FromPlainJSON([]byte(data))
	} else {
		var b []byte
		b, err = base64.StdEncoding.DecodeString(data)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(data, "="))
		}
		if err == nil {
			v, err = jsvalue.Unmarshal(b)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("redisstreams: entry data: %w", err)
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("redisstreams: entry data is not an object")
	}
	m.data = o
	return m, nil
}

// encodeMessage encodes a message for a channel.
func encodeMessage(m *message) ([]byte, error) {
	o := &jsvalue.Object{}
	o.Set("uid", m.uid)
	o.Set("nsp", m.nsp)
	o.Set("type", int64(m.typ))
	if m.data != nil {
		o.Set("data", m.data)
	}
	return jsvalue.Marshal(o)
}

// decodeMessage decodes a message of a channel.
func decodeMessage(b []byte) (*message, error) {
	v, err := jsvalue.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("redisstreams: message is not a map")
	}
	m := &message{}
	m.uid, _ = o.GetString("uid")
	m.nsp, _ = o.GetString("nsp")
	t, _ := o.Get("type")
	n, ok := integer(t)
	if !ok {
		return nil, errors.New("redisstreams: message without type")
	}
	m.typ = int(n)
	if d, ok := o.Get("data"); ok {
		m.data, _ = d.(*jsvalue.Object)
	}
	return m, nil
}

// integer returns a decoded number as an int64, when it is a whole one.
func integer(v any) (int64, bool) {
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

// packetTree returns the reference's packet object of an event.
func packetTree(pkt *adapter.Packet) (*jsvalue.Object, error) {
	data, err := jsvalue.FromJSON(pkt.Data, pkt.Attachments)
	if err != nil {
		return nil, fmt.Errorf("redisstreams: packet payload: %w", err)
	}
	p := &jsvalue.Object{}
	p.Set("type", int64(wireEvent))
	p.Set("data", data)
	p.Set("nsp", pkt.Namespace)
	return p, nil
}

// treePacket converts the reference's packet object of an event.
func treePacket(v any, nsp string) (*adapter.Packet, error) {
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("redisstreams: broadcast without packet")
	}
	if t, ok := o.Get("type"); ok {
		if n, _ := integer(t); n != wireEvent && n != wireBinaryEvent {
			return nil, fmt.Errorf("redisstreams: unsupported packet type %v", t)
		}
	}
	if s, ok := o.GetString("nsp"); ok {
		nsp = s
	}
	d, ok := o.Get("data")
	if !ok {
		return nil, errors.New("redisstreams: packet without data")
	}
	text, atts, err := jsvalue.JSON(d)
	if err != nil {
		return nil, err
	}
	if len(text) == 0 || text[0] != '[' {
		return nil, errors.New("redisstreams: packet data is not an array")
	}
	pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: nsp, Data: text}, Attachments: atts}
	if len(atts) > 0 {
		pkt.Type, pkt.Packet.Attachments = parser.BinaryEvent, len(atts)
	}
	if _, err := parser.Decode(pkt.Encode(), &parser.DecodeOptions{MaxAttachments: len(atts) + 1}); err != nil {
		return nil, fmt.Errorf("redisstreams: invalid event: %w", err)
	}
	return pkt, nil
}

// optsTree returns the reference's opts object.
func optsTree(o adapter.BroadcastOptions) *jsvalue.Object {
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
	opts.Set("rooms", nonNil(o.Rooms))
	opts.Set("except", nonNil(o.Except))
	opts.Set("flags", flags)
	return opts
}

// treeOpts converts the reference's opts object (nil gives no selection).
func treeOpts(v any) adapter.BroadcastOptions {
	var opts adapter.BroadcastOptions
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return opts
	}
	opts.Rooms = stringList(o, "rooms")
	opts.Except = stringList(o, "except")
	if f, ok := get[*jsvalue.Object](o, "flags"); ok {
		opts.Flags.Volatile = truthy(f, "volatile")
		if v, ok := f.Get("compress"); ok {
			c, _ := v.(bool)
			opts.Flags.NoCompress = !c // absent means compress, as in the reference
		}
		opts.Flags.Local = truthy(f, "local")
		if t, ok := f.Get("timeout"); ok {
			if ms, ok := integer(t); ok && ms > 0 && ms < math.MaxInt64/int64(time.Millisecond) {
				opts.Flags.Timeout = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return opts
}

// get returns the value of key k of o if it is a T.
func get[T any](o *jsvalue.Object, k string) (T, bool) {
	v, _ := o.Get(k)
	t, ok := v.(T)
	return t, ok
}

func stringList(o *jsvalue.Object, key string) []string {
	arr, _ := get[[]any](o, key)
	if len(arr) == 0 {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, el := range arr {
		out = append(out, jsvalue.KeyString(el))
	}
	return out
}

func truthy(o *jsvalue.Object, key string) bool {
	b, _ := get[bool](o, key)
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonTree converts a Go value to a value tree through its JSON encoding.
func jsonTree(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsvalue.FromPlainJSON(b)
}

// treeJSON returns the JSON text of a value tree; binary values become
// placeholders without attachments (where only JSON is wanted, as
// socket.data).
func treeJSON(v any) (json.RawMessage, error) {
	text, _, err := jsvalue.JSON(v)
	return text, err
}

// broadcastData returns the data of a broadcast message.
func broadcastData(pkt *adapter.Packet, opts adapter.BroadcastOptions, requestID string) (*jsvalue.Object, error) {
	packet, err := packetTree(pkt)
	if err != nil {
		return nil, err
	}
	d := &jsvalue.Object{}
	d.Set("packet", packet)
	if requestID != "" {
		d.Set("requestId", requestID)
	}
	d.Set("opts", optsTree(opts))
	return d, nil
}

// wireSocket describes a socket in a fetchSockets response.
type wireSocket struct {
	ID        string          `json:"id"`
	Handshake *wireHandshake  `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// wireHandshake is the handshake as the reference server describes it:
// lower-case header names, and a string for each header or query
// parameter with one value (an array when there are several).
type wireHandshake struct {
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

func toWireHandshake(h *adapter.Handshake) *wireHandshake {
	if h == nil {
		h = &adapter.Handshake{}
	}
	w := &wireHandshake{
		Headers: multiMap(h.Headers, strings.ToLower),
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

func (w *wireHandshake) handshake() *adapter.Handshake {
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
			b, _ = json.Marshal(nonNil(vs))
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

// streamID is a stream entry id, "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

// parseID parses an entry id; ok is false unless s is "<digits>-<digits>".
func parseID(s string) (id streamID, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found || a == "" || b == "" {
		return id, false
	}
	for _, part := range []string{a, b} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return id, false
			}
		}
	}
	var err1, err2 error
	id.ms, err1 = strconv.ParseUint(a, 10, 64)
	id.seq, err2 = strconv.ParseUint(b, 10, 64)
	return id, err1 == nil && err2 == nil
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || a.ms == b.ms && a.seq < b.seq
}

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

// next returns the smallest id after a (the reference's nextOffset, for
// XRANGE without exclusive ranges).
func (a streamID) next() streamID {
	if a.seq == math.MaxUint64 {
		return streamID{ms: a.ms + 1}
	}
	return streamID{a.ms, a.seq + 1}
}
