package msgpackparser

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/chatd/chatd/socketio/parser"
)

// Encode implements parser.Parser: the packet is one binary message, the
// msgpack map written by AppendPacket.
func (p Parser) Encode(dst []parser.Message, pkt *parser.Packet, attachments [][]byte) ([]parser.Message, error) {
	b, err := AppendPacket(nil, pkt, attachments)
	if err != nil {
		return dst, err
	}
	return append(dst, parser.Message{Data: b, Binary: true}), nil
}

// AppendPacket appends to dst the msgpack map of pkt, as
// socket.io-msgpack-parser writes it: {type, data, nsp, id}, data left out
// when pkt has none and id when it has no ack id. BinaryEvent and
// BinaryAck are written as EVENT and ACK.
//
// pkt.Data, which must be valid JSON, is converted to msgpack: objects to
// maps (keys in their order), arrays, strings, true, false and null to
// their msgpack kind; a number with an integral value (below 2^64 in
// magnitude) to the smallest integer code, any other to a float 64, as
// notepack.io does for JavaScript numbers. Each placeholder
// {"_placeholder":true,"num":N} whose N designates one of attachments is
// replaced by that attachment, as a msgpack bin.
func AppendPacket(dst []byte, pkt *parser.Packet, attachments [][]byte) ([]byte, error) {
	t := pkt.Type
	switch t {
	case parser.BinaryEvent:
		t = parser.Event
	case parser.BinaryAck:
		t = parser.Ack
	}
	if t > maxWireType {
		return dst, fmt.Errorf("socket.io msgpack parser: cannot encode packet type %s", pkt.Type)
	}
	n := 2
	if len(pkt.Data) > 0 {
		n++
	}
	if pkt.HasID {
		n++
	}
	start := len(dst)
	dst = append(dst, 0x80|byte(n))
	dst = appendStr(dst, "type")
	dst = append(dst, byte(t))
	if len(pkt.Data) > 0 {
		dst = appendStr(dst, "data")
		e := encoder{data: pkt.Data, out: dst, atts: attachments}
		if err := e.run(); err != nil {
			return dst[:start], err
		}
		dst = e.out
	}
	dst = appendStr(dst, "nsp")
	nsp := pkt.Namespace
	if nsp == "" {
		nsp = "/"
	}
	dst = appendStr(dst, nsp)
	if pkt.HasID {
		dst = appendStr(dst, "id")
		dst = appendUint(dst, pkt.ID)
	}
	return dst, nil
}

// encoder converts JSON to msgpack in two passes: the first counts the
// members of every array and object (msgpack writes the count first), the
// second writes.
type encoder struct {
	data   []byte
	i      int
	out    []byte
	atts   [][]byte
	counts []int // per array or object, in order of their opening
	next   int   // index in counts of the next array or object
}

var errBadJSON = fmt.Errorf("%w: data is not valid JSON", parser.ErrInvalidPayload)

func (e *encoder) run() error {
	if err := e.count(); err != nil {
		return err
	}
	if err := e.value(); err != nil {
		return err
	}
	if e.i = skipSpace(e.data, e.i); e.i != len(e.data) {
		return errBadJSON
	}
	return nil
}

// count fills e.counts.
func (e *encoder) count() error {
	var stack []int
	data := e.data
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = skipString(data, i) - 1
		case '[', '{':
			n := 1
			if j := skipSpace(data, i+1); j < len(data) && (data[j] == ']' || data[j] == '}') {
				n = 0
			}
			stack = append(stack, len(e.counts))
			e.counts = append(e.counts, n)
		case ',':
			if len(stack) == 0 {
				return errBadJSON
			}
			e.counts[stack[len(stack)-1]]++
		case ']', '}':
			if len(stack) == 0 {
				return errBadJSON
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		return errBadJSON
	}
	return nil
}

// value converts the JSON value at e.i.
func (e *encoder) value() error {
	e.i = skipSpace(e.data, e.i)
	if e.i >= len(e.data) {
		return errBadJSON
	}
	switch c := e.data[e.i]; c {
	case '{':
		if n, end, ok := placeholder(e.data, e.i); ok && n < len(e.atts) {
			e.out = appendBin(e.out, e.atts[n])
			e.i = end
			e.next++
			return nil
		}
		return e.container('}')
	case '[':
		return e.container(']')
	case '"':
		s, err := e.string()
		if err != nil {
			return err
		}
		e.out = appendStrBytes(e.out, s)
		return nil
	case 't':
		return e.literal("true", 0xc3)
	case 'f':
		return e.literal("false", 0xc2)
	case 'n':
		return e.literal("null", 0xc0)
	default:
		return e.number()
	}
}

// container converts an array (end ']') or an object (end '}').
func (e *encoder) container(end byte) error {
	if e.next >= len(e.counts) {
		return errBadJSON
	}
	n := e.counts[e.next]
	e.next++
	if end == '}' {
		e.out = appendMapHeader(e.out, n)
	} else {
		e.out = appendArrayHeader(e.out, n)
	}
	e.i++ // '[' or '{'
	for k := range n {
		if k > 0 {
			if e.i = skipSpace(e.data, e.i); e.i >= len(e.data) || e.data[e.i] != ',' {
				return errBadJSON
			}
			e.i++
		}
		if end == '}' {
			if e.i = skipSpace(e.data, e.i); e.i >= len(e.data) || e.data[e.i] != '"' {
				return errBadJSON
			}
			key, err := e.string()
			if err != nil {
				return err
			}
			e.out = appendStrBytes(e.out, key)
			if e.i = skipSpace(e.data, e.i); e.i >= len(e.data) || e.data[e.i] != ':' {
				return errBadJSON
			}
			e.i++
		}
		if err := e.value(); err != nil {
			return err
		}
	}
	if e.i = skipSpace(e.data, e.i); e.i >= len(e.data) || e.data[e.i] != end {
		return errBadJSON
	}
	e.i++
	return nil
}

// string reads the JSON string at e.i and returns its UTF-8 bytes (which
// may alias the data).
func (e *encoder) string() ([]byte, error) {
	end := skipString(e.data, e.i)
	if end > len(e.data) || end-e.i < 2 || e.data[end-1] != '"' {
		return nil, errBadJSON
	}
	raw := e.data[e.i:end]
	e.i = end
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errBadJSON
	}
	return []byte(s), nil
}

func (e *encoder) literal(word string, code byte) error {
	if !bytes.HasPrefix(e.data[e.i:], []byte(word)) {
		return errBadJSON
	}
	e.i += len(word)
	e.out = append(e.out, code)
	return nil
}

// number converts a JSON number as notepack.io writes a JavaScript
// number: integral values as integers, others as float 64.
func (e *encoder) number() error {
	start := e.i
	integral := true
	for e.i < len(e.data) {
		c := e.data[e.i]
		if c == '.' || c == 'e' || c == 'E' || c == '+' {
			integral = false
		} else if c != '-' && (c < '0' || c > '9') {
			break
		}
		e.i++
	}
	lit := string(e.data[start:e.i])
	if lit == "" {
		return errBadJSON
	}
	if integral {
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			e.out = appendInt(e.out, v)
			return nil
		}
		if v, err := strconv.ParseUint(lit, 10, 64); err == nil {
			e.out = appendUint(e.out, v)
			return nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(f, 0) {
		return errBadJSON
	}
	switch {
	case f == math.Trunc(f) && f >= 0 && f < 1<<64:
		e.out = appendUint(e.out, uint64(f))
	case f == math.Trunc(f) && f < 0 && f >= -1<<63:
		e.out = appendInt(e.out, int64(f))
	default:
		e.out = append(e.out, 0xcb)
		e.out = binary.BigEndian.AppendUint64(e.out, math.Float64bits(f))
	}
	return nil
}

// placeholder reports whether the object at data[i] is a placeholder in
// the canonical form every encoder writes, {"_placeholder":true,"num":N},
// and returns N and the index past the object.
func placeholder(data []byte, i int) (n, end int, ok bool) {
	const prefix = `{"_placeholder":true,"num":`
	if !bytes.HasPrefix(data[i:], []byte(prefix)) {
		return 0, 0, false
	}
	j := i + len(prefix)
	k := j
	for k < len(data) && k-j < 9 && data[k] >= '0' && data[k] <= '9' {
		n = n*10 + int(data[k]-'0')
		k++
	}
	if k == j || k >= len(data) || data[k] != '}' || (data[j] == '0' && k-j > 1) {
		return 0, 0, false
	}
	return n, k + 1, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index past the JSON string at b[i] (len(b) when
// it is not terminated).
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

func appendStr(dst []byte, s string) []byte {
	dst = appendStrHeader(dst, len(s))
	return append(dst, s...)
}

func appendStrBytes(dst []byte, s []byte) []byte {
	dst = appendStrHeader(dst, len(s))
	return append(dst, s...)
}

func appendStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 0x20:
		return append(dst, 0xa0|byte(n))
	case n < 0x100:
		return append(dst, 0xd9, byte(n))
	case n < 0x10000:
		return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
}

func appendBin(dst []byte, b []byte) []byte {
	switch n := len(b); {
	case n < 0x100:
		dst = append(dst, 0xc4, byte(n))
	case n < 0x10000:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 0x10:
		return append(dst, 0x90|byte(n))
	case n < 0x10000:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
}

func appendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 0x10:
		return append(dst, 0x80|byte(n))
	case n < 0x10000:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

// appendUint appends the smallest unsigned integer code of v.
func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(dst, byte(v))
	case v < 0x100:
		return append(dst, 0xcc, byte(v))
	case v < 0x10000:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(v))
	case v < 0x100000000:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
}

// appendInt appends the smallest integer code of v.
func appendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(dst, uint64(v))
	case v >= -0x20:
		return append(dst, byte(int8(v)))
	case v >= -0x80:
		return append(dst, 0xd0, byte(int8(v)))
	case v >= -0x8000:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(int16(v)))
	case v >= -0x80000000:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(int32(v)))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}
