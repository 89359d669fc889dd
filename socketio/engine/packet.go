package engine

import "github.com/chatd/chatd/socketio/internal/eio"

// The Engine.IO packet and payload codec is package socketio/internal/eio,
// shared with the Go client (socketio/client); the names below are the
// engine's public view of it.

// PacketType is the Engine.IO v4 packet type: the ASCII digit that starts
// every text packet.
type PacketType = eio.PacketType

// The Engine.IO v4 packet types.
const (
	// PacketOpen is sent by the server once, with the handshake JSON.
	PacketOpen = eio.PacketOpen
	// PacketClose ends the session.
	PacketClose = eio.PacketClose
	// PacketPing is the server's heartbeat ("2"), or the client's "2probe".
	PacketPing = eio.PacketPing
	// PacketPong answers a ping ("3"), or "3probe" during an upgrade.
	PacketPong = eio.PacketPong
	// PacketMessage carries application data.
	PacketMessage = eio.PacketMessage
	// PacketUpgrade completes an upgrade to WebSocket.
	PacketUpgrade = eio.PacketUpgrade
	// PacketNoop ends a pending long-poll without data.
	PacketNoop = eio.PacketNoop
)

// RecordSeparator (U+001E) separates packets in a long-polling payload.
const RecordSeparator = eio.RecordSeparator

// Packet is one decoded Engine.IO packet: Type, Data (after the type; for
// binary messages the raw bytes; decoders may return slices of their
// input) and Binary (true for a binary message, only with PacketMessage).
type Packet = eio.Packet

// Errors returned by the payload codec.
var (
	// ErrInvalidPacket reports a packet that is not valid Engine.IO v4:
	// empty, an unknown type, or bad base64 in a binary packet.
	ErrInvalidPacket = eio.ErrInvalidPacket
	// ErrPayloadTooLarge reports a payload longer than the allowed maximum.
	ErrPayloadTooLarge = eio.ErrPayloadTooLarge
)

// DecodePacket decodes one text packet: a WebSocket text frame, or one
// element of a polling payload when allowBase64 is true (then a leading 'b'
// marks a base64 binary message). Data aliases b except for binary packets.
func DecodePacket(b []byte, allowBase64 bool) (Packet, error) {
	return eio.DecodePacket(b, allowBase64)
}

// DecodePayload decodes a long-polling payload: packets separated by
// U+001E, binary messages written as 'b' followed by standard base64.
// maxPayload, when positive, bounds len(b). Text packet data aliases b.
func DecodePayload(b []byte, maxPayload int64) ([]Packet, error) {
	return eio.DecodePayload(b, maxPayload)
}

// AppendPacket appends the polling form of p to dst: the type digit and the
// data, or 'b' and base64 for a binary message.
func AppendPacket(dst []byte, p Packet) []byte { return eio.AppendPacket(dst, p) }

// AppendPayload appends the polling payload of pkts (packets joined by
// U+001E) to dst. Text data must not contain U+001E, or the payload will
// not decode to the same packets.
func AppendPayload(dst []byte, pkts []Packet) []byte { return eio.AppendPayload(dst, pkts) }
