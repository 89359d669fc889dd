// Package parser implements the Socket.IO protocol v5 packet codec: the text
// encoding of packets, and binary attachments carried as placeholders.
//
// The package is pure: it does no I/O and keeps no state, so every function
// is safe for concurrent use.
package parser

import "encoding/json"

// Type is a Socket.IO packet type.
type Type byte

// The Socket.IO v5 packet types.
const (
	Connect Type = iota
	Disconnect
	Event
	Ack
	ConnectError
	BinaryEvent
	BinaryAck
)

// Packet is one Socket.IO packet, as carried in one Engine.IO message (plus,
// for binary packets, Attachments binary messages that follow it).
type Packet struct {
	Type Type
	// Namespace is the namespace name, "/" when the packet names none.
	Namespace string
	// ID is the ack id; HasID says whether the packet carries one.
	ID    uint64
	HasID bool
	// Attachments is the number of binary attachments that follow a
	// BinaryEvent or BinaryAck packet.
	Attachments int
	// Data is the JSON payload exactly as on the wire (nil when absent).
	// For binary packets it still contains the placeholders.
	Data json.RawMessage
}
