// Package eio is the Engine.IO v4 packet and payload codec, shared by the
// server (package engine) and the Go client (package client). It is pure:
// no I/O, and decoded text data aliases the input.
//
// Wire forms: a text packet is its type digit followed by its data; a
// binary message travels as raw bytes on WebSocket and as 'b' followed by
// standard base64 in a long-polling payload, whose packets are joined by
// U+001E.
package eio

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// PacketType is the Engine.IO v4 packet type: the ASCII digit that starts
// every text packet.
type PacketType byte

// The Engine.IO v4 packet types.
const (
	// PacketOpen is sent by the server once, with the handshake JSON.
	PacketOpen PacketType = '0'
	// PacketClose ends the session.
	PacketClose PacketType = '1'
	// PacketPing is the server's heartbeat ("2"), or the client's "2probe".
	PacketPing PacketType = '2'
	// PacketPong answers a ping ("3"), or "3probe" during an upgrade.
	PacketPong PacketType = '3'
	// PacketMessage carries application data.
	PacketMessage PacketType = '4'
	// PacketUpgrade completes an upgrade to WebSocket.
	PacketUpgrade PacketType = '5'
	// PacketNoop ends a pending long-poll without data.
	PacketNoop PacketType = '6'
)

// RecordSeparator (U+001E) separates packets in a long-polling payload.
const RecordSeparator = 0x1e

// Packet is one decoded Engine.IO packet.
type Packet struct {
	// Type is the packet type.
	Type PacketType
	// Data is the packet data after the type (for binary messages, the
	// raw bytes). Decoders may return slices of their input.
	Data []byte
	// Binary is true for a binary message (only with PacketMessage).
	Binary bool
}

// TextMessage returns the message packet carrying text data.
func TextMessage(data []byte) Packet { return Packet{Type: PacketMessage, Data: data} }

// BinaryMessage returns the message packet carrying binary data.
func BinaryMessage(data []byte) Packet { return Packet{Type: PacketMessage, Data: data, Binary: true} }

// Errors returned by the codec.
var (
	// ErrInvalidPacket reports a packet that is not valid Engine.IO v4:
	// empty, an unknown type, or bad base64 in a binary packet.
	ErrInvalidPacket = errors.New("engine: invalid packet")
	// ErrPayloadTooLarge reports a payload longer than the allowed maximum.
	ErrPayloadTooLarge = errors.New("engine: payload too large")
)

// DecodePacket decodes one text packet: a WebSocket text frame, or one
// element of a polling payload when allowBase64 is true (then a leading 'b'
// marks a base64 binary message, padded or not). Data aliases b except for
// binary packets.
func DecodePacket(b []byte, allowBase64 bool) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrInvalidPacket
	}
	if b[0] == 'b' && allowBase64 {
		data, err := decodeBase64(b[1:])
		if err != nil {
			return Packet{}, ErrInvalidPacket
		}
		return Packet{Type: PacketMessage, Data: data, Binary: true}, nil
	}
	t := PacketType(b[0])
	if t < PacketOpen || t > PacketNoop {
		return Packet{}, ErrInvalidPacket
	}
	return Packet{Type: t, Data: b[1:]}, nil
}

func decodeBase64(b []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(b)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Decode(out, b)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

// DecodePayload decodes a long-polling payload: packets separated by
// U+001E, binary messages written as 'b' followed by standard base64.
// maxPayload, when positive, bounds len(b). Text packet data aliases b.
// An empty payload, or an empty packet anywhere in it (a separator at
// either end, two in a row), is ErrInvalidPacket.
func DecodePayload(b []byte, maxPayload int64) ([]Packet, error) {
	if maxPayload > 0 && int64(len(b)) > maxPayload {
		return nil, ErrPayloadTooLarge
	}
	if len(b) == 0 {
		return nil, ErrInvalidPacket
	}
	pkts := make([]Packet, 0, bytes.Count(b, []byte{RecordSeparator})+1)
	for {
		i := bytes.IndexByte(b, RecordSeparator)
		part := b
		if i >= 0 {
			part = b[:i]
		}
		p, err := DecodePacket(part, true)
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, p)
		if i < 0 {
			return pkts, nil
		}
		b = b[i+1:]
	}
}

// EncodedLen returns the number of bytes p takes in a polling payload.
func (p Packet) EncodedLen() int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

// AppendPacket appends the polling form of p to dst (also the WebSocket
// text frame of a text packet): the type digit and the data, or 'b' and
// base64 for a binary message.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, byte(p.Type))
	return append(dst, p.Data...)
}

// AppendPayload appends the polling payload of pkts (packets joined by
// U+001E) to dst. Text data must not contain U+001E, or the payload will
// not decode to the same packets.
func AppendPayload(dst []byte, pkts []Packet) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = AppendPacket(dst, p)
	}
	return dst
}

// PayloadLen returns the number of bytes AppendPayload adds for pkts.
func PayloadLen(pkts []Packet) int {
	n := 0
	for i, p := range pkts {
		if i > 0 {
			n++
		}
		n += p.EncodedLen()
	}
	return n
}
