package msgpackparser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/socketio/parser"
)

// ErrMalformed: the message is not one complete msgpack value (truncated,
// trailing bytes, the unused code 0xc1, a length past the end), or nests
// deeper than Parser.MaxDepth.
var ErrMalformed = errors.New("socket.io msgpack parser: malformed msgpack")

// errTooManyBinaries wraps parser.ErrTooManyAttachments.
var errTooManyBinaries = fmt.Errorf("%w: too many binary values", parser.ErrTooManyAttachments)

// kind is what a transcoded value is, as the reference's checks see it.
type kind uint8

const (
	kindUndefined kind = iota // absent, or the undefined extension
	kindNil
	kindBool
	kindNumber
	kindString
	kindArray // including an unknown extension, read as [type, bin]
	kindMap
	kindBinary // bin and the ArrayBuffer extension
	kindDate
)

// value is a scalar read by the decoder (numbers and strings, for the
// fields of the packet map and the event name).
type value struct {
	kind kind
	num  float64 // kindNumber: the number as JavaScript holds it
	u    uint64  // kindNumber and isUint: the exact unsigned integer
	i    int64   // kindNumber and isInt: the exact signed integer
	// isUint and isInt say which exact integer fields hold the number.
	isUint, isInt bool
	str           string // kindString
}

// decoder reads one msgpack message. JSON output goes to buf; binary
// values go to atts.
type decoder struct {
	b        []byte
	i        int
	buf      []byte
	atts     [][]byte
	maxDepth int
	maxBins  int
}

func (d *decoder) malformed(why string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, why, d.i)
}

// need checks that n more bytes are available.
func (d *decoder) need(n uint64) error {
	if n > uint64(len(d.b)-d.i) {
		return d.malformed("truncated")
	}
	return nil
}

func (d *decoder) byte1() (byte, error) {
	if d.i >= len(d.b) {
		return 0, d.malformed("truncated")
	}
	c := d.b[d.i]
	d.i++
	return c, nil
}

// uintN reads a big-endian unsigned integer of n bytes (1, 2, 4 or 8).
func (d *decoder) uintN(n int) (uint64, error) {
	if err := d.need(uint64(n)); err != nil {
		return 0, err
	}
	p := d.b[d.i : d.i+n]
	d.i += n
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// bytesN returns the next n bytes (aliasing the message).
func (d *decoder) bytesN(n uint64) ([]byte, error) {
	if err := d.need(n); err != nil {
		return nil, err
	}
	p := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return p, nil
}

// header is the start of a msgpack value.
type header struct {
	code byte
	kind kind
	n    uint64 // length of a str, bin, ext, array or map
	ext  int8   // extension type
	v    value  // scalars: numbers, booleans
}

// readHeader reads the code of the next value and, for scalars, the value;
// for str, bin and ext the payload is left to read (n bytes), for arrays
// and maps the elements.
func (d *decoder) readHeader() (header, error) {
	c, err := d.byte1()
	if err != nil {
		return header{}, err
	}
	h := header{code: c}
	switch {
	case c <= 0x7f:
		h.kind, h.v = kindNumber, uintValue(uint64(c))
		return h, nil
	case c <= 0x8f:
		h.kind, h.n = kindMap, uint64(c&0x0f)
		return h, nil
	case c <= 0x9f:
		h.kind, h.n = kindArray, uint64(c&0x0f)
		return h, nil
	case c <= 0xbf:
		h.kind, h.n = kindString, uint64(c&0x1f)
		return h, nil
	case c >= 0xe0:
		h.kind, h.v = kindNumber, intValue(int64(int8(c)))
		return h, nil
	}
	var n uint64
	switch c {
	case 0xc0:
		h.kind = kindNil
	case 0xc2, 0xc3:
		h.kind, h.v.kind, h.v.num = kindBool, kindBool, float64(c-0xc2)
	case 0xc4, 0xc5, 0xc6:
		n, err = d.uintN(1 << (c - 0xc4))
		h.kind, h.n = kindBinary, n
	case 0xc7, 0xc8, 0xc9:
		if n, err = d.uintN(1 << (c - 0xc7)); err == nil {
			var t uint64
			t, err = d.uintN(1)
			h.kind, h.n, h.ext = kindArray, n, int8(t)
		}
	case 0xca:
		n, err = d.uintN(4)
		h.kind, h.v = kindNumber, floatValue(float64(math.Float32frombits(uint32(n))))
	case 0xcb:
		n, err = d.uintN(8)
		h.kind, h.v = kindNumber, floatValue(math.Float64frombits(n))
	case 0xcc, 0xcd, 0xce, 0xcf:
		n, err = d.uintN(1 << (c - 0xcc))
		h.kind, h.v = kindNumber, uintValue(n)
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		n, err = d.uintN(size)
		shift := 64 - 8*size
		h.kind, h.v = kindNumber, intValue(int64(n<<shift)>>shift)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		var t uint64
		t, err = d.uintN(1)
		h.kind, h.n, h.ext = kindArray, 1<<(c-0xd4), int8(t)
	case 0xd9, 0xda, 0xdb:
		n, err = d.uintN(1 << (c - 0xd9))
		h.kind, h.n = kindString, n
	case 0xdc, 0xdd:
		n, err = d.uintN(2 << (c - 0xdc))
		h.kind, h.n = kindArray, n
	case 0xde, 0xdf:
		n, err = d.uintN(2 << (c - 0xde))
		h.kind, h.n = kindMap, n
	default: // 0xc1
		d.i--
		return header{}, d.malformed("unused code 0xc1")
	}
	if err != nil {
		return header{}, err
	}
	if isExt(c) {
		// The extensions notepack.io gives a meaning to.
		switch {
		case c == 0xd4 && h.ext == 0:
			h.kind = kindUndefined
		case c == 0xd7 && h.ext == 0:
			h.kind = kindDate
		case c >= 0xc7 && c <= 0xc9 && h.ext == 0:
			h.kind = kindBinary // an ArrayBuffer
		}
	}
	return h, nil
}

func isExt(c byte) bool { return c >= 0xc7 && c <= 0xc9 || c >= 0xd4 && c <= 0xd8 }

func uintValue(u uint64) value {
	return value{kind: kindNumber, num: float64(u), u: u, isUint: true, i: int64(u), isInt: u <= math.MaxInt64}
}

func intValue(i int64) value {
	if i >= 0 {
		return uintValue(uint64(i))
	}
	return value{kind: kindNumber, num: float64(i), i: i, isInt: true}
}

func floatValue(f float64) value { return value{kind: kindNumber, num: f} }

// str reads the payload of a str as a Go string, each invalid UTF-8
// sequence replaced by U+FFFD (as Node reads it).
func (d *decoder) str(n uint64) (string, error) {
	p, err := d.bytesN(n)
	if err != nil {
		return "", err
	}
	if utf8.Valid(p) {
		return string(p), nil
	}
	return string(bytes.ToValidUTF8(p, []byte("\uFFFD"))), nil
}

// scalar reads one value that is kept as a value (not transcoded): for
// the fields of the packet map. Containers and binaries are skipped.
func (d *decoder) scalar(depth int) (value, error) {
	h, err := d.readHeader()
	if err != nil {
		return value{}, err
	}
	switch h.kind {
	case kindString:
		s, err := d.str(h.n)
		return value{kind: kindString, str: s}, err
	case kindNumber, kindBool:
		return h.v, nil
	}
	return value{kind: h.kind}, d.skipBody(h, depth)
}

// skipBody skips what follows the header h.
func (d *decoder) skipBody(h header, depth int) error {
	switch {
	case h.kind == kindArray && !isExt(h.code), h.kind == kindMap:
		if depth >= d.maxDepth {
			return d.malformed("nested too deep")
		}
		n := h.n
		if h.kind == kindMap {
			if n > math.MaxUint64/2 {
				return d.malformed("truncated")
			}
			n *= 2
		}
		if err := d.need(n); err != nil { // at least one byte each
			return err
		}
		for range n {
			sub, err := d.readHeader()
			if err != nil {
				return err
			}
			if err := d.skipBody(sub, depth+1); err != nil {
				return err
			}
		}
		return nil
	case h.kind == kindString, h.kind == kindBinary, isExt(h.code):
		_, err := d.bytesN(h.n)
		return err
	}
	return nil
}

// transcode reads one value and appends it to d.buf as JSON. It returns
// the value's header and, for a string or a number, the value (for the
// event name). An undefined value appends nothing: the caller decides
// (null in an array, nothing in a map).
func (d *decoder) transcode(depth int) (header, value, error) {
	h, err := d.readHeader()
	if err != nil {
		return h, value{}, err
	}
	switch h.kind {
	case kindUndefined:
		_, err = d.bytesN(h.n)
		return h, value{kind: kindUndefined}, err
	case kindNil:
		d.buf = append(d.buf, "null"...)
	case kindBool:
		d.buf = strconv.AppendBool(d.buf, h.v.num != 0)
	case kindNumber:
		d.buf = appendNumber(d.buf, h.v)
		return h, h.v, nil
	case kindString:
		s, err := d.str(h.n)
		if err != nil {
			return h, value{}, err
		}
		d.buf = appendString(d.buf, s)
		return h, value{kind: kindString, str: s}, nil
	case kindBinary:
		p, err := d.bytesN(h.n)
		if err != nil {
			return h, value{}, err
		}
		if err := d.binary(p); err != nil {
			return h, value{}, err
		}
	case kindDate:
		p, err := d.bytesN(h.n)
		if err != nil {
			return h, value{}, err
		}
		d.buf = appendDate(d.buf, p)
	case kindArray:
		if isExt(h.code) { // an extension notepack.io reads as [type, data]
			p, err := d.bytesN(h.n)
			if err != nil {
				return h, value{}, err
			}
			d.buf = append(d.buf, '[')
			d.buf = strconv.AppendInt(d.buf, int64(h.ext), 10)
			d.buf = append(d.buf, ',')
			if err := d.binary(p); err != nil {
				return h, value{}, err
			}
			d.buf = append(d.buf, ']')
			return h, value{kind: kindArray}, nil
		}
		if depth >= d.maxDepth {
			return h, value{}, d.malformed("nested too deep")
		}
		if err := d.need(h.n); err != nil {
			return h, value{}, err
		}
		d.buf = append(d.buf, '[')
		for k := range h.n {
			if k > 0 {
				d.buf = append(d.buf, ',')
			}
			sub, _, err := d.transcode(depth + 1)
			if err != nil {
				return h, value{}, err
			}
			if sub.kind == kindUndefined {
				d.buf = append(d.buf, "null"...) // as JSON.stringify
			}
		}
		d.buf = append(d.buf, ']')
	case kindMap:
		if depth >= d.maxDepth {
			return h, value{}, d.malformed("nested too deep")
		}
		if h.n > math.MaxUint64/2 {
			return h, value{}, d.malformed("truncated")
		}
		if err := d.need(2 * h.n); err != nil {
			return h, value{}, err
		}
		d.buf = append(d.buf, '{')
		first := true
		for range h.n {
			mark := len(d.buf)
			if !first {
				d.buf = append(d.buf, ',')
			}
			if err := d.key(depth + 1); err != nil {
				return h, value{}, err
			}
			d.buf = append(d.buf, ':')
			sub, _, err := d.transcode(depth + 1)
			if err != nil {
				return h, value{}, err
			}
			if sub.kind == kindUndefined {
				d.buf = d.buf[:mark] // left out, as JSON.stringify does
				continue
			}
			first = false
		}
		d.buf = append(d.buf, '}')
	}
	return h, value{kind: h.kind}, nil
}

// key reads a map key and appends it as a JSON string, converted as
// JavaScript converts a property name: strings as they are, numbers,
// booleans, nil and undefined to their text. Other keys are refused.
func (d *decoder) key(depth int) error {
	h, err := d.readHeader()
	if err != nil {
		return err
	}
	switch h.kind {
	case kindString:
		s, err := d.str(h.n)
		if err != nil {
			return err
		}
		d.buf = appendString(d.buf, s)
		return nil
	case kindNumber:
		d.buf = append(d.buf, '"')
		d.buf = appendJSNumber(d.buf, h.v)
		d.buf = append(d.buf, '"')
		return nil
	case kindBool:
		d.buf = strconv.AppendQuote(d.buf, strconv.FormatBool(h.v.num != 0))
		return nil
	case kindNil:
		d.buf = append(d.buf, `"null"`...)
		return nil
	case kindUndefined:
		d.buf = append(d.buf, `"undefined"`...)
		_, err := d.bytesN(h.n)
		return err
	}
	return fmt.Errorf("%w: a map key must be a string, a number, a boolean or nil", parser.ErrInvalidPayload)
}

// binary takes p out as an attachment and writes its placeholder.
func (d *decoder) binary(p []byte) error {
	if len(d.atts) >= d.maxBins {
		return errTooManyBinaries
	}
	d.buf = append(d.buf, `{"_placeholder":true,"num":`...)
	d.buf = strconv.AppendInt(d.buf, int64(len(d.atts)), 10)
	d.buf = append(d.buf, '}')
	d.atts = append(d.atts, bytes.Clone(p))
	return nil
}

// appendNumber appends a number as JSON: integers exactly, floats as
// JavaScript prints them, NaN and the infinities as null (as
// JSON.stringify does).
func appendNumber(dst []byte, v value) []byte {
	if math.IsNaN(v.num) || math.IsInf(v.num, 0) {
		return append(dst, "null"...)
	}
	return appendJSNumber(dst, v)
}

// appendJSNumber appends the text JavaScript gives the number (String(n)):
// exact digits for the integers read as such.
func appendJSNumber(dst []byte, v value) []byte {
	switch {
	case v.isUint:
		return strconv.AppendUint(dst, v.u, 10)
	case v.isInt:
		return strconv.AppendInt(dst, v.i, 10)
	}
	f := v.num
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	// ECMAScript Number::toString, as encoding/json formats floats.
	if abs := math.Abs(f); abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// 1e-07 -> 1e-7, 1e+07 stays 1e+7 (JavaScript drops the leading zero).
	if n := len(dst); n-start >= 4 && dst[n-4] == 'e' && dst[n-2] == '0' {
		dst[n-2] = dst[n-1]
		dst = dst[:n-1]
	}
	return dst
}

// appendString appends s (valid UTF-8) as a JSON string.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// maxDateMillis is the range of a JavaScript Date (±100,000,000 days).
const maxDateMillis = 8.64e15

// appendDate appends the notepack.io Date extension (8 bytes: the
// milliseconds since the epoch, as a signed high and an unsigned low 32-bit
// half) as Date.prototype.toJSON writes it, or null for a date out of
// range.
func appendDate(dst []byte, p []byte) []byte {
	hi := int64(int32(binary.BigEndian.Uint32(p[:4])))
	lo := int64(binary.BigEndian.Uint32(p[4:]))
	ms := hi<<32 + lo
	if ms > maxDateMillis || ms < -maxDateMillis {
		return append(dst, "null"...)
	}
	t := time.UnixMilli(ms).UTC()
	dst = append(dst, '"')
	switch y := t.Year(); {
	case y >= 0 && y <= 9999:
		dst = appendPadded(dst, y, 4)
	case y < 0:
		dst = append(dst, '-')
		dst = appendPadded(dst, -y, 6)
	default:
		dst = append(dst, '+')
		dst = appendPadded(dst, y, 6)
	}
	dst = append(dst, '-')
	dst = appendPadded(dst, int(t.Month()), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, t.Day(), 2)
	dst = append(dst, 'T')
	dst = appendPadded(dst, t.Hour(), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, t.Minute(), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, t.Second(), 2)
	dst = append(dst, '.')
	dst = appendPadded(dst, t.Nanosecond()/1e6, 3)
	return append(dst, 'Z', '"')
}

func appendPadded(dst []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}
