package redisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// The inter-node messages are those of the reference Node.js adapter
// (@socket.io/redis-adapter 8.x), so that Go and Node.js servers can share
// one Redis:
//
//   - broadcasts: MessagePack [uid, packet, opts] published on
//     "<key>#<nsp>#", or "<key>#<nsp>#<room>#" when exactly one room is
//     targeted; packet is {type, data, nsp} with binary values in place,
//     opts is {rooms, except, flags};
//   - requests: JSON objects {uid, requestId, type, ...} published on
//     "<key>-request#<nsp>#", except broadcasts expecting acknowledgements,
//     which are MessagePack because their packet may hold binary values;
//   - responses: JSON objects {requestId, ...} (MessagePack for
//     acknowledgements) published on "<key>-response#<nsp>#", or on
//     "<key>-response#<nsp>#<uid>#" when the requesting node asked for
//     responses on its own channel.
//
// A message whose first byte is '{' is JSON, anything else MessagePack.

// Request types, numbered as in the reference adapter.
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// Reference packet types (socket.io-parser) used in broadcasts.
const (
	wireEvent = 2
	wireAck   = 3
)

// wireOpts is the selection part of a request.
type wireOpts struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
}

func toWireOpts(o adapter.BroadcastOptions) *wireOpts {
	return &wireOpts{Rooms: nonNil(o.Rooms), Except: nonNil(o.Except)}
}

func (w *wireOpts) options() adapter.BroadcastOptions {
	if w == nil {
		return adapter.BroadcastOptions{}
	}
	return adapter.BroadcastOptions{Rooms: w.Rooms, Except: w.Except}
}

var nonNil = clusterwire.NonNil

// request is a JSON request between nodes. Fields are used according to
// Type.
type request struct {
	UID       string          `json:"uid"`
	RequestID string          `json:"requestId,omitempty"`
	Type      int             `json:"type"`
	Opts      *wireOpts       `json:"opts,omitempty"`
	Rooms     []string        `json:"rooms,omitempty"`
	Close     *bool           `json:"close,omitempty"`
	SID       string          `json:"sid,omitempty"`
	Room      string          `json:"room,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`

	// For reqBroadcast (MessagePack only).
	packet    *adapter.Packet
	flags     adapter.Flags
	hasPacket bool
}

// response is a JSON response between nodes.
type response struct {
	Type        *int            `json:"type,omitempty"`
	RequestID   string          `json:"requestId"`
	Sockets     json.RawMessage `json:"sockets,omitempty"`
	Rooms       []string        `json:"rooms,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	ClientCount *int            `json:"clientCount,omitempty"`

	// For reqBroadcastAck (MessagePack only): the acknowledgement's
	// argument as a one-element JSON array and its attachments.
	ack *adapter.Ack
}

// encodeBroadcast encodes a broadcast message [uid, packet, opts].
func encodeBroadcast(uid string, pkt *adapter.Packet, opts adapter.BroadcastOptions) ([]byte, error) {
	packet, err := packetTree(pkt)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	msg := []any{uid, packet, optsTree(opts)}
	if err := jsvalue.WriteMsgpack(enc, msg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// packetTree converts a packet to the reference's packet object.
func packetTree(pkt *adapter.Packet) (*jsvalue.Object, error) {
	var data any
	if len(pkt.Data) > 0 {
		var err error
		data, err = jsvalue.FromJSON(pkt.Data, pkt.Attachments)
		if err != nil {
			return nil, fmt.Errorf("redisadapter: packet payload: %w", err)
		}
	}
	typ := int64(wireEvent)
	switch pkt.Type {
	case parser.Event, parser.BinaryEvent:
	case parser.Ack, parser.BinaryAck:
		typ = wireAck
	default:
		typ = int64(pkt.Type)
	}
	p := &jsvalue.Object{}
	p.Set("type", typ)
	if data != nil {
		p.Set("data", data)
	}
	p.Set("nsp", pkt.Namespace)
	return p, nil
}

// optsTree converts broadcast options to the reference's opts object.
var optsTree = clusterwire.OptsTree

// decodeBroadcast decodes a broadcast message.
func decodeBroadcast(b []byte) (uid string, pkt *adapter.Packet, opts adapter.BroadcastOptions, err error) {
	v, err := jsvalue.Unmarshal(b)
	if err != nil {
		return "", nil, opts, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 3 {
		return "", nil, opts, errors.New("redisadapter: broadcast is not [uid, packet, opts]")
	}
	uid, _ = arr[0].(string)
	pobj, ok := arr[1].(*jsvalue.Object)
	if !ok {
		return uid, nil, opts, errors.New("redisadapter: broadcast without packet")
	}
	pkt, err = treePacket(pobj)
	if err != nil {
		return uid, nil, opts, err
	}
	if oobj, ok := arr[2].(*jsvalue.Object); ok {
		opts = treeOpts(oobj)
	}
	return uid, pkt, opts, nil
}

// treePacket converts the reference's packet object to a packet.
func treePacket(o *jsvalue.Object) (*adapter.Packet, error) {
	nsp := "/"
	if v, ok := o.Get("nsp"); ok {
		if s, ok := v.(string); ok {
			nsp = s
		}
	}
	typ := int64(wireEvent)
	if v, ok := o.Get("type"); ok {
		if n, ok := v.(int64); ok {
			typ = n
		}
	}
	pkt := &adapter.Packet{Packet: parser.Packet{Namespace: nsp}}
	if data, ok := o.Get("data"); ok {
		var buf bytes.Buffer
		if err := jsvalue.WriteJSON(&buf, data, &pkt.Attachments); err != nil {
			return nil, err
		}
		pkt.Data = buf.Bytes()
	}
	// Only events cross nodes (the reference broadcasts nothing else).
	if typ != wireEvent && typ != int64(parser.BinaryEvent) {
		return nil, fmt.Errorf("redisadapter: unsupported packet type %d", typ)
	}
	pkt.Type = parser.Event
	if len(pkt.Attachments) > 0 {
		pkt.Type = parser.BinaryEvent
	}
	pkt.Packet.Attachments = len(pkt.Attachments)
	if _, err := parser.Decode(pkt.Encode(), &parser.DecodeOptions{MaxAttachments: len(pkt.Attachments) + 1}); err != nil {
		return nil, fmt.Errorf("redisadapter: invalid event: %w", err)
	}
	if len(pkt.Data) == 0 || pkt.Data[0] != '[' {
		return nil, errors.New("redisadapter: packet data is not an array")
	}
	return pkt, nil
}

// treeOpts converts the reference's opts object.
func treeOpts(o *jsvalue.Object) adapter.BroadcastOptions {
	var opts adapter.BroadcastOptions
	opts.Rooms = stringList(o, "rooms")
	opts.Except = stringList(o, "except")
	if v, ok := o.Get("flags"); ok {
		if f, ok := v.(*jsvalue.Object); ok {
			opts.Flags.Volatile = truthy(f, "volatile")
			if v, ok := f.Get("compress"); ok {
				c, _ := v.(bool)
				opts.Flags.NoCompress = !c // absent means compress, as in the reference
			}
			opts.Flags.Local = truthy(f, "local")
			if t, ok := f.Get("timeout"); ok {
				opts.Flags.Timeout = millis(t)
			}
		}
	}
	return opts
}

func stringList(o *jsvalue.Object, key string) []string {
	v, _ := o.Get(key)
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, el := range arr {
		out = append(out, jsvalue.KeyString(el))
	}
	return out
}

var truthy = clusterwire.Truthy

func millis(v any) time.Duration {
	switch x := v.(type) {
	case int64:
		return time.Duration(x) * time.Millisecond
	case uint64:
		if x < math.MaxInt64/uint64(time.Millisecond) {
			return time.Duration(x) * time.Millisecond
		}
	case float64:
		return time.Duration(x * float64(time.Millisecond))
	}
	return 0
}

// encodeAckBroadcast encodes a broadcast request expecting acknowledgements
// (MessagePack).
func encodeAckBroadcast(uid, requestID string, pkt *adapter.Packet, opts adapter.BroadcastOptions) ([]byte, error) {
	packet, err := packetTree(pkt)
	if err != nil {
		return nil, err
	}
	req := &jsvalue.Object{}
	req.Set("uid", uid)
	req.Set("requestId", requestID)
	req.Set("type", int64(reqBroadcast))
	req.Set("packet", packet)
	req.Set("opts", optsTree(opts))
	var buf bytes.Buffer
	if err := jsvalue.WriteMsgpack(msgpack.NewEncoder(&buf), req); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeAckResponse encodes the acknowledgement of one client to a
// broadcast (MessagePack): arg is the first argument of the client's ack,
// as JSON with placeholders.
func encodeAckResponse(requestID string, arg json.RawMessage, atts [][]byte) ([]byte, error) {
	var tree any
	if len(arg) > 0 {
		var err error
		tree, err = jsvalue.FromJSON(arg, atts)
		if err != nil {
			return nil, err
		}
	}
	resp := &jsvalue.Object{}
	resp.Set("type", int64(reqBroadcastAck))
	resp.Set("requestId", requestID)
	resp.Set("packet", tree)
	var buf bytes.Buffer
	if err := jsvalue.WriteMsgpack(msgpack.NewEncoder(&buf), resp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeRequest decodes a request in either encoding.
func decodeRequest(b []byte) (*request, error) {
	if len(b) == 0 {
		return nil, errors.New("redisadapter: empty request")
	}
	if b[0] == '{' {
		var r request
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		return &r, nil
	}
	v, err := jsvalue.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("redisadapter: request is not an object")
	}
	r := &request{}
	r.UID, _ = o.GetString("uid")
	r.RequestID, _ = o.GetString("requestId")
	t, _ := o.Get("type")
	n, ok := t.(int64)
	if !ok {
		return nil, errors.New("redisadapter: request without type")
	}
	r.Type = int(n)
	if p, ok := o.Get("packet"); ok {
		if po, ok := p.(*jsvalue.Object); ok {
			pkt, err := treePacket(po)
			if err != nil {
				return nil, err
			}
			r.packet, r.hasPacket = pkt, true
		}
	}
	if op, ok := o.Get("opts"); ok {
		if oo, ok := op.(*jsvalue.Object); ok {
			opts := treeOpts(oo)
			r.Opts = &wireOpts{Rooms: opts.Rooms, Except: opts.Except}
			r.flags = opts.Flags
		}
	}
	return r, nil
}

// decodeResponse decodes a response in either encoding.
func decodeResponse(b []byte) (*response, error) {
	if len(b) == 0 {
		return nil, errors.New("redisadapter: empty response")
	}
	if b[0] == '{' {
		var r response
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		return &r, nil
	}
	v, err := jsvalue.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("redisadapter: response is not an object")
	}
	r := &response{}
	r.RequestID, _ = o.GetString("requestId")
	if t, ok := o.Get("type"); ok {
		if n, ok := t.(int64); ok {
			typ := int(n)
			r.Type = &typ
		}
	}
	if p, ok := o.Get("packet"); ok {
		ack := &adapter.Ack{}
		var buf bytes.Buffer
		buf.WriteByte('[')
		if err := jsvalue.WriteJSON(&buf, p, &ack.Attachments); err != nil {
			return nil, err
		}
		buf.WriteByte(']')
		ack.Args = buf.Bytes()
		r.ack = ack
	}
	return r, nil
}
