package engine

import (
	"encoding/binary"
	"unicode/utf8"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// WebSocket close codes the reader sends on bad input.
const (
	closeCodeProtocolError = 1002
	closeCodeNoStatus      = 1005
	closeCodeInvalidData   = 1007
)

// frameSink receives what a frameParser finds in the byte stream. Payloads
// are only valid during the call.
type frameSink interface {
	// message is a complete data message (text or binary). It returns
	// false to stop parsing (the connection is done).
	message(op byte, payload []byte) bool
	// control is a ping, pong or close frame. It returns false to stop
	// parsing.
	control(op byte, payload []byte) bool
}

// frameError is a reason to fail the connection with a close code.
type frameError struct {
	code int
	msg  string
}

func (e *frameError) Error() string { return "websocket: " + e.msg }

var (
	errReservedBits    = &frameError{closeCodeProtocolError, "reserved bits set"}
	errUnmasked        = &frameError{closeCodeProtocolError, "client frame not masked"}
	errBadOpcode       = &frameError{closeCodeProtocolError, "unknown opcode"}
	errBadControl      = &frameError{closeCodeProtocolError, "fragmented or oversized control frame"}
	errBadContinuation = &frameError{closeCodeProtocolError, "continuation frame outside a message"}
	errInterleaved     = &frameError{closeCodeProtocolError, "new message before the previous one ended"}
	errBadLength       = &frameError{closeCodeProtocolError, "invalid frame length"}
	errTooBig          = &frameError{closeCodeTooBig, "message over the size limit"}
	errBadClose        = &frameError{closeCodeProtocolError, "invalid close frame"}
	errInvalidUTF8     = &frameError{closeCodeInvalidData, "invalid UTF-8 in a text message"}
	errBadCloseReason  = &frameError{closeCodeInvalidData, "invalid UTF-8 in a close reason"}
)

// frameParser decodes client-to-server WebSocket frames (masked, no
// extensions) from a byte stream that arrives in pieces. It keeps only the
// state of a fragmented message between calls; the caller keeps the bytes
// of an incomplete frame. A text message must be valid UTF-8 (RFC 6455
// section 8.1, overlong forms and surrogates excluded); it is checked once
// complete, so a character may be split across fragments.
type frameParser struct {
	max    int64  // largest message payload
	frag   []byte // payload of a fragmented message so far
	fragOp byte   // its opcode; 0 when no fragmented message is open
}

// parse consumes the complete frames at the start of b, unmasking their
// payloads in place and handing them to sink. It returns the number of
// bytes consumed and, when b ends inside a frame whose header is complete,
// the total size of that frame (0 when unknown), so that the caller can
// make room for it. stop reports that the sink asked to stop.
func (p *frameParser) parse(b []byte, sink frameSink) (consumed, need int, stop bool, err error) {
	for {
		rest := b[consumed:]
		if len(rest) < 2 {
			return consumed, 0, false, nil
		}
		b0, b1 := rest[0], rest[1]
		fin := b0&0x80 != 0
		op := b0 & 0x0f
		if b0&0x70 != 0 {
			return consumed, 0, false, errReservedBits
		}
		if b1&0x80 == 0 {
			return consumed, 0, false, errUnmasked
		}
		hlen := 2 + 4
		n := uint64(b1 & 0x7f)
		switch n {
		case 126:
			hlen += 2
		case 127:
			hlen += 8
		}
		if len(rest) < hlen {
			return consumed, 0, false, nil
		}
		switch n {
		case 126:
			n = uint64(binary.BigEndian.Uint16(rest[2:]))
		case 127:
			n = binary.BigEndian.Uint64(rest[2:])
			if n>>63 != 0 {
				return consumed, 0, false, errBadLength
			}
		}
		switch op {
		case opText, opBinary:
			if p.fragOp != 0 {
				return consumed, 0, false, errInterleaved
			}
		case opContinuation:
			if p.fragOp == 0 {
				return consumed, 0, false, errBadContinuation
			}
		case opClose, opPing, opPong:
			if !fin || n > 125 {
				return consumed, 0, false, errBadControl
			}
		default:
			return consumed, 0, false, errBadOpcode
		}
		if op < opClose && uint64(len(p.frag))+n > uint64(p.max) {
			return consumed, 0, false, errTooBig
		}
		total := hlen + int(n)
		if len(rest) < total {
			return consumed, total, false, nil
		}
		key := rest[hlen-4 : hlen]
		payload := rest[hlen:total]
		ascii := maskBytes(key, payload)
		consumed += total

		var ok bool
		switch {
		case op >= opClose:
			if op == opClose {
				if err := checkClosePayload(payload); err != nil {
					return consumed, 0, false, err
				}
			}
			ok = sink.control(op, payload)
		case op != opContinuation && fin:
			if op == opText && !ascii && !utf8.Valid(payload) {
				return consumed, 0, false, errInvalidUTF8
			}
			ok = sink.message(op, payload)
		case op != opContinuation:
			p.fragOp = op
			p.frag = append(p.frag[:0], payload...)
			ok = true
		default:
			p.frag = append(p.frag, payload...)
			ok = true
			if fin {
				fop, msg := p.fragOp, p.frag
				p.fragOp, p.frag = 0, nil
				if fop == opText && !utf8.Valid(msg) {
					return consumed, 0, false, errInvalidUTF8
				}
				ok = sink.message(fop, msg)
			}
		}
		if !ok {
			return consumed, 0, true, nil
		}
	}
}

// checkClosePayload checks a close frame's payload: empty, or a status
// code a peer may send followed by UTF-8 text. A bad length or code is a
// protocol error (1002); a reason that is not UTF-8 is invalid data
// (1007), as for a text message.
func checkClosePayload(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) < 2 {
		return errBadClose
	}
	code := int(binary.BigEndian.Uint16(b))
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
	default:
		return errBadClose
	}
	if !utf8.Valid(b[2:]) {
		return errBadCloseReason
	}
	return nil
}

// maskBytes applies the 4-byte masking key to b in place and reports
// whether the result is all ASCII, which spares the UTF-8 check of most
// text messages.
func maskBytes(key, b []byte) (ascii bool) {
	var acc uint64
	if len(b) >= 8 {
		k := uint64(binary.LittleEndian.Uint32(key))
		k |= k << 32
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b) ^ k
			acc |= v
			binary.LittleEndian.PutUint64(b, v)
			b = b[8:]
		}
	}
	var tail byte
	for i := range b {
		v := b[i] ^ key[i&3]
		b[i] = v
		tail |= v
	}
	return (acc&0x8080808080808080 == 0) && tail < 0x80
}
