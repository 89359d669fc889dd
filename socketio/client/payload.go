package client

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Engine.IO v4 packet types, as their wire characters.
const (
	pktOpen    = '0'
	pktClose   = '1'
	pktPing    = '2'
	pktPong    = '3'
	pktMessage = '4'
	pktUpgrade = '5'
	pktNoop    = '6'
)

// recordSeparator joins the packets of a long-polling payload.
const recordSeparator = 0x1e

// packet is one Engine.IO packet. A binary packet is always a message whose
// data travels as raw bytes (WebSocket) or as "b"+base64 (long-polling).
type packet struct {
	typ    byte
	data   []byte
	binary bool
}

// textMessage returns the message packet carrying text data.
func textMessage(data []byte) packet { return packet{typ: pktMessage, data: data} }

// binaryMessage returns the message packet carrying binary data.
func binaryMessage(data []byte) packet { return packet{typ: pktMessage, data: data, binary: true} }

var errBadPacket = errors.New("socket.io client: invalid engine.io packet")

// encodedLen returns the number of bytes p takes in a polling payload.
func (p packet) encodedLen() int {
	if p.binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.data))
	}
	return 1 + len(p.data)
}

// appendPacket appends the polling (and WebSocket text frame) form of p.
func appendPacket(dst []byte, p packet) []byte {
	if p.binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.data)
	}
	dst = append(dst, p.typ)
	return append(dst, p.data...)
}

// encodePayload joins packets into a long-polling request body.
func encodePayload(pkts []packet) []byte {
	n := 0
	for _, p := range pkts {
		n += p.encodedLen() + 1
	}
	buf := make([]byte, 0, n)
	for i, p := range pkts {
		if i > 0 {
			buf = append(buf, recordSeparator)
		}
		buf = appendPacket(buf, p)
	}
	return buf
}

// decodeTextPacket parses one packet of a polling payload or one WebSocket
// text frame. The data of the result aliases b.
func decodeTextPacket(b []byte) (packet, error) {
	if len(b) == 0 {
		return packet{}, fmt.Errorf("%w: empty", errBadPacket)
	}
	if b[0] == 'b' {
		data, err := base64.StdEncoding.AppendDecode(nil, b[1:])
		if err != nil {
			return packet{}, fmt.Errorf("%w: base64: %v", errBadPacket, err)
		}
		return binaryMessage(data), nil
	}
	if b[0] < pktOpen || b[0] > pktNoop {
		return packet{}, fmt.Errorf("%w: type %q", errBadPacket, b[0])
	}
	return packet{typ: b[0], data: b[1:]}, nil
}

// decodePayload splits a long-polling response body into packets. The data
// of text packets aliases body.
func decodePayload(body []byte) ([]packet, error) {
	var pkts []packet
	for len(body) > 0 || pkts == nil {
		part := body
		i := bytes.IndexByte(body, recordSeparator)
		if i >= 0 {
			part, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		p, err := decodeTextPacket(part)
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, p)
		if i >= 0 && len(body) == 0 {
			return nil, fmt.Errorf("%w: empty packet at end of payload", errBadPacket)
		}
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
		size += p.encodedLen()
		if i > 0 {
			size++ // separator
		}
		if size > maxPayload && i > 0 {
			return i
		}
	}
	return len(queue)
}
