package redisstreams

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
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
	n, ok := clusterwire.Integer(t)
	if !ok {
		return nil, errors.New("redisstreams: message without type")
	}
	m.typ = int(n)
	if d, ok := o.Get("data"); ok {
		m.data, _ = d.(*jsvalue.Object)
	}
	return m, nil
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
