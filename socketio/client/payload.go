package client

import (
	"errors"
	"fmt"

	"github.com/chatd/chatd/socketio/internal/eio"
)

// The Engine.IO codec is package socketio/internal/eio, shared with the
// server's engine; this file adapts it to the client's errors and batching.

// packet is one Engine.IO packet. A binary packet is always a message whose
// data travels as raw bytes (WebSocket) or as "b"+base64 (long-polling).
type packet = eio.Packet

// textMessage returns the message packet carrying text data.
func textMessage(data []byte) packet { return eio.TextMessage(data) }

// binaryMessage returns the message packet carrying binary data.
func binaryMessage(data []byte) packet { return eio.BinaryMessage(data) }

var errBadPacket = errors.New("socket.io client: invalid engine.io packet")

// appendPacket appends the polling (and WebSocket text frame) form of p.
func appendPacket(dst []byte, p packet) []byte { return eio.AppendPacket(dst, p) }

// encodePayload joins packets into a long-polling request body.
func encodePayload(pkts []packet) []byte {
	return eio.AppendPayload(make([]byte, 0, eio.PayloadLen(pkts)), pkts)
}

// badPacket wraps a codec error for b in errBadPacket, saying what is
// wrong with it.
func badPacket(b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty", errBadPacket)
	case b[0] == 'b':
		return fmt.Errorf("%w: base64", errBadPacket)
	default:
		return fmt.Errorf("%w: type %q", errBadPacket, b[0])
	}
}

// decodeTextPacket parses one packet of a polling payload or one WebSocket
// text frame. The data of the result aliases b.
func decodeTextPacket(b []byte) (packet, error) {
	p, err := eio.DecodePacket(b, true)
	if err != nil {
		return packet{}, badPacket(b)
	}
	return p, nil
}

// decodePayload splits a long-polling response body into packets. The data
// of text packets aliases body.
func decodePayload(body []byte) ([]packet, error) {
	pkts, err := eio.DecodePayload(body, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadPacket, err)
	}
	return pkts, nil
}

// takeBatch returns how many packets from the head of queue fit in one
// polling request of at most maxPayload bytes; at least one is always taken,
// so that an oversized packet still goes out (and the server rejects it).
func takeBatch(queue []packet, maxPayload int) int {
	if maxPayload <= 0 {
		return len(queue)
	}
	size := 0
	for i, p := range queue {
		size += p.EncodedLen()
		if i > 0 {
			size++ // separator
		}
		if size > maxPayload && i > 0 {
			return i
		}
	}
	return len(queue)
}
