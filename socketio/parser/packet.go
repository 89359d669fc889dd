package parser

import (
	"encoding/json"
	"strconv"
)

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

// String returns the protocol name of the type (CONNECT, EVENT, ...), or
// "Type(n)" for a value outside the protocol.
func (t Type) String() string {
	switch t {
	case Connect:
		return "CONNECT"
	case Disconnect:
		return "DISCONNECT"
	case Event:
		return "EVENT"
	case Ack:
		return "ACK"
	case ConnectError:
		return "CONNECT_ERROR"
	case BinaryEvent:
		return "BINARY_EVENT"
	case BinaryAck:
		return "BINARY_ACK"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether packets of type t carry binary attachments
// (BinaryEvent and BinaryAck).
func (t Type) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one Socket.IO packet, as carried in one Engine.IO message (plus,
// for binary packets, Attachments binary messages that follow it).
type Packet struct {
	// Type is the packet type.
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

// Encode returns the text form of the packet (without the Engine.IO message
// prefix "4"). See AppendPacket for the rules.
func (p *Packet) Encode() []byte {
	return AppendPacket(make([]byte, 0, encodedLen(p)), p)
}

// encodedLen returns an upper bound of the encoded size of p.
func encodedLen(p *Packet) int {
	n := 1 + len(p.Data)
	if p.Type.IsBinary() {
		n += 21 // digits of an int and '-'
	}
	if p.Namespace != "" && p.Namespace != "/" {
		n += len(p.Namespace) + 1
	}
	if p.HasID {
		n += 20 // digits of a uint64
	}
	return n
}

// AppendPacket appends the text form of p to dst and returns the extended
// slice; the caller may have put the Engine.IO message prefix "4" in dst.
//
// The attachment count followed by '-' is written for BinaryEvent and
// BinaryAck only; the namespace followed by ',' only when it is neither
// empty nor "/"; the ack id only when HasID is set; Data is appended as is.
// AppendPacket does not validate p: the caller builds packets with a valid
// Type, a namespace without ',' and Data that is valid JSON for the type.
func AppendPacket(dst []byte, p *Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.IsBinary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}
