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
	errBadDeflate      = &frameError{closeCodeInvalidData, "invalid compressed message"}
	errCompressedCtrl  = &frameError{closeCodeProtocolError, "compressed control frame"}
	errCompressedCont  = &frameError{closeCodeProtocolError, "RSV1 set on a continuation frame"}
)

// frameParser decodes client-to-server WebSocket frames (masked, with
// the permessage-deflate extension when negotiated) from a byte stream
// that arrives in pieces. It keeps only the state of a fragmented message
// between calls; the caller keeps the bytes of an incomplete frame. A
// text message must be valid UTF-8 (RFC 6455 section 8.1, overlong forms
// and surrogates excluded); it is checked once complete (and inflated),
// so a character may be split across fragments.
type frameParser struct {
	max    int64  // largest message payload, compressed or inflated
	frag   []byte // payload of a fragmented message so far
	fragOp byte   // its opcode; 0 when no fragmented message is open

	// permessage-deflate (RFC 7692)
	deflate     bool   // negotiated: RSV1 on a message's first frame marks it compressed
	takeover    bool   // the client uses context takeover: hist is kept
	fragDeflate bool   // the fragmented message is compressed
	hist        []byte // the last 32 KiB of inflated messages, with takeover
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
		rsv1 := b0&0x40 != 0
		if b0&0x30 != 0 || rsv1 && !p.deflate {
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
			if rsv1 {
				return consumed, 0, false, errCompressedCont
			}
		case opClose, opPing, opPong:
			if !fin || n > 125 {
				return consumed, 0, false, errBadControl
			}
			if rsv1 {
				return consumed, 0, false, errCompressedCtrl
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
		case op != opContinuation && fin && rsv1:
			if ok, err = p.inflated(op, payload, sink); err != nil {
				return consumed, 0, false, err
			}
		case op != opContinuation && fin:
			if op == opText && !ascii && !utf8.Valid(payload) {
				return consumed, 0, false, errInvalidUTF8
			}
			ok = sink.message(op, payload)
		case op != opContinuation:
			p.fragOp, p.fragDeflate = op, rsv1
			p.frag = append(p.frag[:0], payload...)
			ok = true
		default:
			p.frag = append(p.frag, payload...)
			ok = true
			if fin {
				fop, msg, compressed := p.fragOp, p.frag, p.fragDeflate
				p.fragOp, p.frag, p.fragDeflate = 0, nil, false
				if compressed {
					if ok, err = p.inflated(fop, msg, sink); err != nil {
						return consumed, 0, false, err
					}
				} else {
					if fop == opText && !utf8.Valid(msg) {
						return consumed, 0, false, errInvalidUTF8
					}
					ok = sink.message(fop, msg)
				}
			}
		}
		if !ok {
			return consumed, 0, true, nil
		}
	}
}

// inflated hands sink the message whose compressed payload is payload,
// once inflated (at most p.max bytes) and, for text, checked as UTF-8.
func (p *frameParser) inflated(op byte, payload []byte, sink frameSink) (bool, error) {
	var dict []byte
	if p.takeover {
		dict = p.hist
	}
	msg, release, err := inflate(payload, dict, p.max)
	if err != nil {
		return false, err
	}
	defer release()
	if op == opText && !utf8.Valid(msg) {
		return false, errInvalidUTF8
	}
	if p.takeover {
		p.hist = keepHistory(p.hist, msg)
	}
	return sink.message(op, msg), nil
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
