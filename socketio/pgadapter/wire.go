package pgadapter

import (
	"errors"

	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// The messages between nodes are those of the reference adapter
// (@socket.io/postgres-adapter 0.5.x, on socket.io-adapter's
// ClusterAdapterWithHeartbeat), so that Go and Node.js servers share one
// cluster:
//
//   - Every message and response of a namespace is a NOTIFY on the channel
//     "<prefix>#<nsp>", its payload the JSON text of {type, data, uid,
//     nsp}.
//   - A message holding binary values, or whose JSON text is longer than
//     PayloadThreshold, is stored instead as the MessagePack encoding of
//     the same map in a row of the table, and the NOTIFY payload is
//     {uid, type, attachmentId}, the id of the row as a decimal string.
//   - Nodes count each other by the messages they receive: a node sends
//     an initial heartbeat (type 1) when it starts, answered by a
//     heartbeat (type 2) from each other node, a heartbeat when it has
//     sent nothing for HeartbeatInterval, and "adapter close" (type 13)
//     when it stops.
//
// The data of each message type is that of clusterwire.

// uidEmitter is the uid of the messages of the reference emitter, which is
// not a node.
const uidEmitter = "emitter"

// message is a cluster message.
type message struct {
	uid  string
	nsp  string
	typ  int
	data *jsvalue.Object // nil when the message has none
}

// tree returns the map of a message, keys in the reference's order.
func (m *message) tree() *jsvalue.Object {
	o := &jsvalue.Object{}
	o.Set("type", int64(m.typ))
	if m.data != nil {
		o.Set("data", m.data)
	}
	o.Set("uid", m.uid)
	o.Set("nsp", m.nsp)
	return o
}

// messageOf converts the map of a message.
func messageOf(o *jsvalue.Object) (*message, error) {
	m := &message{}
	m.uid, _ = o.GetString("uid")
	m.nsp, _ = o.GetString("nsp")
	t, _ := o.Get("type")
	n, ok := integer(t)
	if !ok {
		return nil, errors.New("pgadapter: message without type")
	}
	m.typ = int(n)
	if d, ok := o.Get("data"); ok {
		m.data, _ = d.(*jsvalue.Object)
	}
	return m, nil
}

var integer = clusterwire.Integer
