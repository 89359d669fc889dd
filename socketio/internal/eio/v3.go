package eio

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Engine.IO v3 (EIO=3, engine.io-parser 2.x) wire forms, spoken with
// socket.io-client 2.x:
//
//   - A text polling payload is each packet prefixed with its length and a
//     colon, "<len>:<packet>", with no separator. The length counts UTF-16
//     code units, as the JavaScript string length the reference uses.
//     A binary message is written "b4" followed by standard base64.
//   - A binary polling payload (for clients that support binary, XHR2) is
//     each packet as a marker byte (0 text, 1 binary), the decimal digits
//     of its byte length one byte each (values 0-9), the byte 255, then the
//     packet: the UTF-8 text packet, or the type byte 4 and the raw data.
//   - A binary WebSocket message is the type byte 4 followed by the data.

// errInvalid is the error of every malformed v3 packet or payload.
var errInvalid = ErrInvalidPacket

// maxLengthDigits bounds the decimal length of one v3 packet.
const maxLengthDigits = 10

// UTF16Len returns the number of UTF-16 code units of the text b, which
// is its length as a JavaScript string. Each invalid UTF-8 byte counts as
// one unit (one replacement character).
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// utf16Prefix returns the number of bytes of b holding its first units
// UTF-16 code units, or -1 when b is shorter or the count ends inside a
// surrogate pair.
func utf16Prefix(b []byte, units int) int {
	i := 0
	for units > 0 {
		if i >= len(b) {
			return -1
		}
		c := b[i]
		if c < utf8.RuneSelf {
			units--
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if u > units {
			return -1
		}
		units -= u
		i += size
	}
	return i
}

// PacketLenV3 returns the number of bytes p takes in a v3 text payload
// without its length prefix.
func (p Packet) PacketLenV3() int {
	if p.Binary {
		return 2 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

// AppendPacketV3 appends the v3 text form of p (the WebSocket text frame
// of a text packet, or the payload element of any packet): the type digit
// and the data, or "b4" and base64 for a binary message.
func AppendPacketV3(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b', byte(PacketMessage))
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, byte(p.Type))
	return append(dst, p.Data...)
}

// AppendFramedV3 appends one already encoded v3 packet (as AppendPacketV3
// writes it) with its length prefix: "<len>:<packet>".
func AppendFramedV3(dst, encoded []byte) []byte {
	dst = strconv.AppendInt(dst, int64(UTF16Len(encoded)), 10)
	dst = append(dst, ':')
	return append(dst, encoded...)
}

// AppendPayloadV3 appends the v3 text payload of pkts to dst. An empty
// list gives "0:", as in the reference.
func AppendPayloadV3(dst []byte, pkts []Packet) []byte {
	if len(pkts) == 0 {
		return append(dst, '0', ':')
	}
	var scratch []byte
	for _, p := range pkts {
		scratch = AppendPacketV3(scratch[:0], p)
		dst = AppendFramedV3(dst, scratch)
	}
	return dst
}

// DecodePacketV3 decodes one v3 text packet: a WebSocket text frame, or
// one element of a text payload when allowBase64 is true (then "b" and a
// type digit mark a base64 binary message). Data aliases b except for
// binary packets.
func DecodePacketV3(b []byte, allowBase64 bool) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, errInvalid
	}
	if b[0] == 'b' && allowBase64 {
		if len(b) < 2 || PacketType(b[1]) != PacketMessage {
			return Packet{}, errInvalid
		}
		data, err := decodeBase64(b[2:])
		if err != nil {
			return Packet{}, errInvalid
		}
		return Packet{Type: PacketMessage, Data: data, Binary: true}, nil
	}
	return DecodePacket(b, false)
}

// DecodeBinaryPacketV3 decodes a v3 binary WebSocket message: the type
// byte 4 (a message) followed by the data, which the packet aliases.
func DecodeBinaryPacketV3(b []byte) (Packet, error) {
	if len(b) == 0 || b[0] != byte(PacketMessage-'0') {
		return Packet{}, errInvalid
	}
	return Packet{Type: PacketMessage, Data: b[1:], Binary: true}, nil
}

// DecodePayloadV3 decodes a v3 text payload ("<len>:<packet>"...).
// maxPayload, when positive, bounds len(b). A missing or malformed length
// (not decimal digits, too long), a length past the end of the payload or
// an invalid packet is ErrInvalidPacket; an empty payload too. "0:" is a
// valid payload of no packets. Text packet data aliases b.
func DecodePayloadV3(b []byte, maxPayload int64) ([]Packet, error) {
	if maxPayload > 0 && int64(len(b)) > maxPayload {
		return nil, ErrPayloadTooLarge
	}
	if len(b) == 0 {
		return nil, errInvalid
	}
	var pkts []Packet
	for len(b) > 0 {
		n, digits := 0, 0
		for digits < len(b) && b[digits] != ':' {
			c := b[digits]
			if c < '0' || c > '9' || digits == maxLengthDigits {
				return nil, errInvalid
			}
			n = n*10 + int(c-'0')
			digits++
		}
		if digits == 0 || digits == len(b) {
			return nil, errInvalid
		}
		b = b[digits+1:]
		size := utf16Prefix(b, n)
		if size < 0 {
			return nil, errInvalid
		}
		if size > 0 {
			p, err := DecodePacketV3(b[:size], true)
			if err != nil {
				return nil, err
			}
			pkts = append(pkts, p)
		}
		b = b[size:]
	}
	return pkts, nil
}

// BinaryPayloadLenV3 returns the number of bytes AppendBinaryPayloadV3
// adds for pkts.
func BinaryPayloadLenV3(pkts []Packet) int {
	n := 0
	for _, p := range pkts {
		l := 1 + len(p.Data)
		n += 2 + len(strconv.Itoa(l)) + l
	}
	return n
}

// AppendBinaryPayloadV3 appends the v3 binary payload of pkts to dst.
func AppendBinaryPayloadV3(dst []byte, pkts []Packet) []byte {
	for _, p := range pkts {
		marker, typ := byte(0), byte(p.Type)
		if p.Binary {
			marker, typ = 1, byte(PacketMessage-'0')
		}
		dst = appendBinaryHeaderV3(dst, marker, 1+len(p.Data))
		dst = append(dst, typ)
		dst = append(dst, p.Data...)
	}
	return dst
}

func appendBinaryHeaderV3(dst []byte, marker byte, n int) []byte {
	dst = append(dst, marker)
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return append(dst, 0xff)
}

// DecodeBinaryPayloadV3 decodes a v3 binary payload (the body of a POST
// sent as application/octet-stream). maxPayload, when positive, bounds
// len(b). A bad marker, a malformed length or a length past the end is
// ErrInvalidPacket. Packet data aliases b.
func DecodeBinaryPayloadV3(b []byte, maxPayload int64) ([]Packet, error) {
	if maxPayload > 0 && int64(len(b)) > maxPayload {
		return nil, ErrPayloadTooLarge
	}
	if len(b) == 0 {
		return nil, errInvalid
	}
	var pkts []Packet
	for len(b) > 0 {
		marker := b[0]
		if marker > 1 {
			return nil, errInvalid
		}
		n, i := 0, 1
		for ; i < len(b) && b[i] != 0xff; i++ {
			if b[i] > 9 || i > maxLengthDigits {
				return nil, errInvalid
			}
			n = n*10 + int(b[i])
		}
		if i == 1 || i == len(b) || n == 0 || n > len(b)-i-1 {
			return nil, errInvalid
		}
		msg := b[i+1 : i+1+n]
		b = b[i+1+n:]
		var p Packet
		var err error
		if marker == 0 {
			if !utf8.Valid(msg) {
				return nil, errInvalid
			}
			p, err = DecodePacketV3(msg, true)
		} else {
			p, err = DecodeBinaryPacketV3(msg)
		}
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, p)
	}
	return pkts, nil
}
