package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors returned by Decode (and by the attachment helpers), wrapped with
// detail; test for them with errors.Is.
var (
	// ErrInvalidType: the packet is empty or its type is not 0..6.
	ErrInvalidType = errors.New("socket.io parser: invalid packet type")
	// ErrInvalidNamespace: the namespace is not valid UTF-8.
	ErrInvalidNamespace = errors.New("socket.io parser: invalid namespace")
	// ErrInvalidAckID: the ack id overflows a uint64, is not made of
	// digits, or is missing on an Ack or BinaryAck packet.
	ErrInvalidAckID = errors.New("socket.io parser: invalid ack id")
	// ErrInvalidPayload: the payload is not valid JSON, is followed by
	// other bytes, or has the wrong shape for the packet type.
	ErrInvalidPayload = errors.New("socket.io parser: invalid payload")
	// ErrTooManyAttachments: a binary packet announces more attachments
	// than DecodeOptions.MaxAttachments.
	ErrTooManyAttachments = errors.New("socket.io parser: too many attachments")
	// ErrInvalidAttachments: a binary packet has a malformed or missing
	// attachment count, or a placeholder refers to no attachment.
	ErrInvalidAttachments = errors.New("socket.io parser: invalid attachments")
)

// DefaultMaxAttachments is the attachment limit used when
// DecodeOptions.MaxAttachments is not positive (the reference default).
const DefaultMaxAttachments = 10

// DecodeOptions tunes Decode.
type DecodeOptions struct {
	// MaxAttachments is the largest attachment count a binary packet may
	// announce; 0 (or a negative value) means DefaultMaxAttachments.
	MaxAttachments int
}

func (o *DecodeOptions) maxAttachments() int {
	if o == nil || o.MaxAttachments <= 0 {
		return DefaultMaxAttachments
	}
	return o.MaxAttachments
}

// IsReservedEvent reports whether name is an event name that applications
// may not emit or receive: connect, connect_error, disconnect, disconnecting,
// newListener and removeListener.
func IsReservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting",
		"newListener", "removeListener":
		return true
	}
	return false
}

// Decode parses the text form of one packet (without the Engine.IO message
// prefix "4"). opts may be nil.
//
// The returned Packet's Data aliases b (no copy is made): the caller must
// not modify b while it uses the packet, or must copy Data.
//
// Decode applies the validation of the reference parser:
//   - the type is a digit 0..6;
//   - BinaryEvent and BinaryAck start with a decimal attachment count
//     followed by '-', at most opts.MaxAttachments;
//   - a namespace starts with '/' and ends at ',' or at the end of b;
//   - the ack id is the run of digits that follows, and fits in a uint64;
//   - the rest is the payload, which must be valid JSON with nothing after
//     it: absent or an object for Connect, absent for Disconnect, an object
//     or a string for ConnectError, a non-empty array whose first element
//     is a number or a string that is not a reserved event name (see
//     IsReservedEvent) for Event and BinaryEvent, an array for Ack and
//     BinaryAck, which also need an ack id.
//
// Decode never panics, whatever b holds.
func Decode(b []byte, opts *DecodeOptions) (Packet, error) {
	var p Packet
	if len(b) == 0 {
		return p, fmt.Errorf("%w: empty packet", ErrInvalidType)
	}
	if b[0] < '0' || b[0] > '0'+byte(BinaryAck) {
		return p, fmt.Errorf("%w: %q", ErrInvalidType, b[0])
	}
	p.Type = Type(b[0] - '0')
	i := 1

	if p.Type.IsBinary() {
		start := i
		limit := opts.maxAttachments()
		n := 0
		for i < len(b) && isDigit(b[i]) {
			if n <= limit { // saturate: the value only has to exceed limit
				n = n*10 + int(b[i]-'0')
			}
			i++
		}
		if i == start || i == len(b) || b[i] != '-' {
			return Packet{}, fmt.Errorf("%w: %s needs <count>- after the type", ErrInvalidAttachments, p.Type)
		}
		if n > limit {
			return Packet{}, fmt.Errorf("%w: %s announces more than %d", ErrTooManyAttachments, p.Type, limit)
		}
		p.Attachments = n
		i++ // '-'
	}

	p.Namespace = "/"
	if i < len(b) && b[i] == '/' {
		end := bytes.IndexByte(b[i:], ',')
		var nsp []byte
		if end < 0 {
			nsp, i = b[i:], len(b)
		} else {
			nsp, i = b[i:i+end], i+end+1
		}
		if !utf8.Valid(nsp) {
			return Packet{}, fmt.Errorf("%w: not valid UTF-8", ErrInvalidNamespace)
		}
		if len(nsp) > 1 {
			p.Namespace = string(nsp)
		}
	}

	if i < len(b) && isDigit(b[i]) {
		var id uint64
		for i < len(b) && isDigit(b[i]) {
			d := uint64(b[i] - '0')
			if id > (^uint64(0)-d)/10 {
				return Packet{}, fmt.Errorf("%w: overflows uint64", ErrInvalidAckID)
			}
			id = id*10 + d
			i++
		}
		p.ID, p.HasID = id, true
	}

	if i < len(b) {
		p.Data = b[i:len(b):len(b)]
		if !json.Valid(p.Data) {
			if !canStartJSON(p.Data[0]) {
				return Packet{}, fmt.Errorf("%w: unexpected %q after the namespace", ErrInvalidAckID, p.Data[0])
			}
			return Packet{}, fmt.Errorf("%w: not valid JSON", ErrInvalidPayload)
		}
	}

	if err := checkPayload(&p); err != nil {
		return Packet{}, err
	}
	return p, nil
}

// checkPayload checks the shape of p.Data (already valid JSON) and the
// presence of the ack id against p.Type.
func checkPayload(p *Packet) error {
	first := byte(0) // first significant byte of the payload, 0 if absent
	if len(p.Data) > 0 {
		first = p.Data[skipSpace(p.Data, 0)]
	}
	switch p.Type {
	case Connect:
		if first != 0 && first != '{' {
			return fmt.Errorf("%w: CONNECT payload must be an object", ErrInvalidPayload)
		}
	case Disconnect:
		if first != 0 {
			return fmt.Errorf("%w: DISCONNECT carries no payload", ErrInvalidPayload)
		}
	case ConnectError:
		if first != '{' && first != '"' {
			return fmt.Errorf("%w: CONNECT_ERROR payload must be an object or a string", ErrInvalidPayload)
		}
	case Event, BinaryEvent:
		if first != '[' {
			return fmt.Errorf("%w: %s payload must be an array", ErrInvalidPayload, p.Type)
		}
		return checkEventName(p.Data)
	case Ack, BinaryAck:
		if first != '[' {
			return fmt.Errorf("%w: %s payload must be an array", ErrInvalidPayload, p.Type)
		}
		if !p.HasID {
			return fmt.Errorf("%w: %s needs an ack id", ErrInvalidAckID, p.Type)
		}
	}
	return nil
}

// checkEventName checks that the valid JSON array data is not empty and that
// its first element is a number or a non-reserved string.
func checkEventName(data []byte) error {
	i := skipSpace(data, skipSpace(data, 0)+1) // past '['
	switch c := data[i]; {
	case c == '-' || isDigit(c):
		return nil
	case c == '"':
		end := skipValue(data, i)
		raw := data[i:end]
		if bytes.IndexByte(raw, '\\') < 0 {
			if isReservedName(raw[1 : len(raw)-1]) {
				return fmt.Errorf("%w: %s is a reserved event name", ErrInvalidPayload, raw)
			}
			return nil
		}
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return fmt.Errorf("%w: event name: %v", ErrInvalidPayload, err)
		}
		if IsReservedEvent(name) {
			return fmt.Errorf("%w: %q is a reserved event name", ErrInvalidPayload, name)
		}
		return nil
	case c == ']':
		return fmt.Errorf("%w: empty event array", ErrInvalidPayload)
	default:
		return fmt.Errorf("%w: event name must be a string or a number", ErrInvalidPayload)
	}
}

// isReservedName is IsReservedEvent for a name held in bytes.
func isReservedName(b []byte) bool {
	switch string(b) { // no allocation
	case "connect", "connect_error", "disconnect", "disconnecting",
		"newListener", "removeListener":
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// canStartJSON reports whether a JSON text may begin with c.
func canStartJSON(c byte) bool {
	switch c {
	case '{', '[', '"', '-', 't', 'f', 'n':
		return true
	}
	return isDigit(c) || isSpace(c)
}

// skipSpace returns the index of the first non-space byte of b at or after
// i (len(b) if none).
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value that starts at b[i].
// b must be valid JSON from i on (at least up to the end of that value);
// on other input it returns some index in [i, len(b)].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number or literal
		for i < len(b) {
			switch c := b[i]; {
			case c == ',' || c == ']' || c == '}' || isSpace(c):
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the JSON string starting at b[i]
// (len(b) if the string is not terminated).
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}
