// Package jsvalue converts the payloads of Socket.IO events between the two
// forms they take in this module and between nodes of a cluster:
//
//   - in this module, a JSON array whose binary values are placeholder
//     objects {"_placeholder":true,"num":N}, plus the list of attachments;
//   - between nodes, a MessagePack value in which binary values are bin
//     objects in place (as the reference Node.js adapters encode their
//     messages).
//
// The go-between is a small value tree: nil, bool, int64, uint64, float64,
// string, []byte, []any and *Object (a map that keeps its key order).
// FromJSON and WriteJSON convert between JSON and trees, WriteMsgpack,
// Marshal and Unmarshal between trees and MessagePack.
package jsvalue

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Object is a map that keeps the order of its keys, as JavaScript objects
// do. The zero value is an empty object.
type Object struct {
	keys []string
	vals []any
}

// Get returns the value of key k.
func (o *Object) Get(k string) (any, bool) {
	for i, key := range o.keys {
		if key == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

// Set appends or replaces key k.
func (o *Object) Set(k string, v any) {
	for i, key := range o.keys {
		if key == k {
			o.vals[i] = v
			return
		}
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// Len returns the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Keys returns the keys in order; the slice must not be modified.
func (o *Object) Keys() []string { return o.keys }

// GetString returns the value of key k if it is a string.
func (o *Object) GetString(k string) (string, bool) {
	v, _ := o.Get(k)
	s, ok := v.(string)
	return s, ok
}

// Marshal encodes a value tree as MessagePack.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteMsgpack(msgpack.NewEncoder(&buf), v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes the first MessagePack value of b into a value tree.
// Timestamps become ISO 8601 strings (as JSON.stringify writes dates);
// other extension values become nil. Bytes after the value are ignored.
func Unmarshal(b []byte) (any, error) { return readMsgpack(newMPReader(b), 0) }

// JSON returns the JSON text of a value tree, binary values replaced by
// placeholders and returned as attachments.
func JSON(v any) ([]byte, [][]byte, error) {
	var buf bytes.Buffer
	var atts [][]byte
	if err := WriteJSON(&buf, v, &atts); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), atts, nil
}

// maxDepth bounds the nesting of decoded values.
const maxDepth = 256

var errTooDeep = errors.New("jsvalue: value nested too deeply")

// FromJSON parses JSON text into a value tree, replacing each placeholder
// object by the attachment it designates.
func FromJSON(data []byte, atts [][]byte) (any, error) {
	return fromJSON(data, atts, true)
}

// FromPlainJSON parses JSON text into a value tree, keeping placeholder
// objects as objects: for JSON that never stood for binary values.
func FromPlainJSON(data []byte) (any, error) { return fromJSON(data, nil, false) }

func fromJSON(data []byte, atts [][]byte, substitute bool) (any, error) {
	// The text is checked first (json.Valid does not allocate), so that
	// the scanner below only meets valid JSON and encoding/json keeps
	// the last word on what JSON is.
	if !json.Valid(data) {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("jsvalue: %w", err)
		}
		return nil, errors.New("jsvalue: invalid JSON")
	}
	p := jsonScanner{data: data, atts: atts, substitute: substitute}
	p.space()
	return p.value(0)
}

// jsonScanner reads one value of valid JSON text as a value tree: a
// scanner over the bytes, without encoding/json's per-token values.
type jsonScanner struct {
	data       []byte
	i          int
	atts       [][]byte
	substitute bool // replace placeholders by attachments
}

func (p *jsonScanner) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value reads the value at p.i (no space before it) and the space after.
func (p *jsonScanner) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	var v any
	switch c := p.data[p.i]; c {
	case '[':
		p.i++
		p.space()
		arr := []any{}
		for p.data[p.i] != ']' {
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, e)
			if p.data[p.i] == ',' {
				p.i++
				p.space()
			}
		}
		p.i++
		v = arr
	case '{':
		p.i++
		p.space()
		obj := &Object{}
		for p.data[p.i] != '}' {
			k := p.str()
			p.space()
			p.i++ // ':'
			p.space()
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj.Set(k, e)
			if p.data[p.i] == ',' {
				p.i++
				p.space()
			}
		}
		p.i++
		v = obj
		if p.substitute {
			b, ok, err := placeholder(obj, p.atts)
			if err != nil {
				return nil, err
			}
			if ok {
				v = b
			}
		}
	case '"':
		v = p.str()
	case 't':
		p.i += 4
		v = true
	case 'f':
		p.i += 5
		v = false
	case 'n':
		p.i += 4
	default:
		start := p.i
		for p.i < len(p.data) && isNumberByte(p.data[p.i]) {
			p.i++
		}
		v = number(json.Number(p.data[start:p.i]))
	}
	p.space()
	return v, nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// str reads the string at p.i. A string without escapes and of valid
// UTF-8 is its bytes; any other is decoded by encoding/json (which
// turns invalid UTF-8 into U+FFFD).
func (p *jsonScanner) str() string {
	start := p.i
	p.i++
	escaped, ascii := false, true
	for {
		c := p.data[p.i]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			p.i++ // the escaped byte cannot end the string
		} else if c >= utf8.RuneSelf {
			ascii = false
		}
		p.i++
	}
	p.i++
	text := p.data[start:p.i]
	if inner := text[1 : len(text)-1]; !escaped && (ascii || utf8.Valid(inner)) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(text, &s) // valid JSON: a string
	return s
}

// placeholder reports whether obj is a binary placeholder and returns the
// attachment it stands for.
func placeholder(obj *Object, atts [][]byte) ([]byte, bool, error) {
	flag, _ := obj.Get("_placeholder")
	if f, ok := flag.(bool); !ok || !f {
		return nil, false, nil
	}
	num, _ := obj.Get("num")
	var n int64 = -1
	switch x := num.(type) {
	case int64:
		n = x
	case uint64:
		if x <= math.MaxInt32 {
			n = int64(x)
		}
	}
	if n < 0 || n >= int64(len(atts)) {
		return nil, true, fmt.Errorf("jsvalue: placeholder num %v with %d attachments", num, len(atts))
	}
	b := atts[n]
	if b == nil {
		b = []byte{}
	}
	return b, true, nil
}

// number converts a JSON number to int64 when it is an integer that fits,
// uint64 for larger positive integers, float64 otherwise.
func number(n json.Number) any {
	s := string(n)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f)
	}
	return f
}

// WriteMsgpack encodes a value tree (which may also hold int, []string
// and time.Time values).
func WriteMsgpack(enc *msgpack.Encoder, v any) error {
	switch x := v.(type) {
	case nil:
		return enc.EncodeNil()
	case bool:
		return enc.EncodeBool(x)
	case int64:
		return enc.EncodeInt(x)
	case int:
		return enc.EncodeInt(int64(x))
	case uint64:
		return enc.EncodeUint(x)
	case float64:
		return enc.EncodeFloat64(x)
	case string:
		return enc.EncodeString(x)
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return enc.EncodeBytes(x)
	case []string:
		if err := enc.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, s := range x {
			if err := enc.EncodeString(s); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if err := enc.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := WriteMsgpack(enc, el); err != nil {
				return err
			}
		}
		return nil
	case *Object:
		if err := enc.EncodeMapLen(len(x.keys)); err != nil {
			return err
		}
		for i, k := range x.keys {
			if err := enc.EncodeString(k); err != nil {
				return err
			}
			if err := WriteMsgpack(enc, x.vals[i]); err != nil {
				return err
			}
		}
		return nil
	case time.Time:
		return enc.EncodeString(isoTime(x))
	}
	return fmt.Errorf("jsvalue: cannot encode %T", v)
}

// mpReader decodes MessagePack from memory, checking every announced
// length against the bytes left, so that a short malformed message cannot
// make it allocate much.
type mpReader struct {
	r   *bytes.Reader
	dec *msgpack.Decoder
}

func newMPReader(b []byte) *mpReader {
	r := bytes.NewReader(b)
	return &mpReader{r: r, dec: msgpack.NewDecoder(r)}
}

var errShort = errors.New("jsvalue: MessagePack length beyond the end of the message")

// readMsgpack decodes one MessagePack value into a value tree. Timestamps
// become ISO 8601 strings (as JSON.stringify writes dates); other extension
// values become nil.
func readMsgpack(m *mpReader, depth int) (any, error) {
	dec := m.dec
	if depth > maxDepth {
		return nil, errTooDeep
	}
	c, err := dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case c == msgpcode.Nil:
		return nil, dec.DecodeNil()
	case c == msgpcode.False || c == msgpcode.True:
		return dec.DecodeBool()
	case c == msgpcode.Float || c == msgpcode.Double:
		return dec.DecodeFloat64()
	case c == msgpcode.Uint64:
		u, err := dec.DecodeUint64()
		if err == nil && u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, err
	case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		return dec.DecodeInt64()
	case msgpcode.IsString(c), msgpcode.IsBin(c):
		n, err := dec.DecodeBytesLen()
		if err != nil {
			return nil, err
		}
		if n > m.r.Len() {
			return nil, errShort
		}
		b := make([]byte, max(n, 0))
		if err := dec.ReadFull(b); err != nil {
			return nil, err
		}
		if msgpcode.IsString(c) {
			return string(b), nil
		}
		return b, nil
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		if n > m.r.Len() {
			return nil, errShort
		}
		arr := make([]any, 0, max(n, 0))
		for range n {
			v, err := readMsgpack(m, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		n, err := dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		if 2*n > m.r.Len() {
			return nil, errShort
		}
		obj := &Object{}
		for range n {
			k, err := readMsgpack(m, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := readMsgpack(m, depth+1)
			if err != nil {
				return nil, err
			}
			obj.Set(KeyString(k), v)
		}
		return obj, nil
	case msgpcode.IsExt(c):
		id, n, err := dec.DecodeExtHeader()
		if err != nil {
			return nil, err
		}
		if n < 0 || n > m.r.Len() {
			return nil, errShort
		}
		buf := make([]byte, n)
		if err := dec.ReadFull(buf); err != nil {
			return nil, err
		}
		if id == -1 {
			if t, ok := timestamp(buf); ok {
				return isoTime(t), nil
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("jsvalue: unknown MessagePack code 0x%02x", c)
}

// KeyString renders a decoded map key as a JavaScript property name.
func KeyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case nil:
		return "null"
	case []byte:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(k)
}

// timestamp decodes the MessagePack timestamp extension (type -1).
func timestamp(b []byte) (time.Time, bool) {
	switch len(b) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(b)), 0), true
	case 8:
		v := binary.BigEndian.Uint64(b)
		return time.Unix(int64(v&0x3ffffffff), int64(v>>34)), true
	case 12:
		ns := binary.BigEndian.Uint32(b)
		s := int64(binary.BigEndian.Uint64(b[4:]))
		return time.Unix(s, int64(ns)), true
	}
	return time.Time{}, false
}

// isoTime formats t as JavaScript's Date.prototype.toISOString does.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// WriteJSON writes a value tree (which may also hold int and []string
// values) as JSON, replacing binary values by
// placeholders and appending them to atts.
func WriteJSON(buf *bytes.Buffer, v any, atts *[][]byte) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case int:
		buf.WriteString(strconv.Itoa(x))
	case uint64:
		buf.WriteString(strconv.FormatUint(x, 10))
	case []string:
		buf.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, el)
		}
		buf.WriteByte(']')
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			buf.WriteString("null") // as JSON.stringify does
			return nil
		}
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		buf.Write(b)
	case string:
		writeJSONString(buf, x)
	case []byte:
		buf.WriteString(`{"_placeholder":true,"num":`)
		buf.WriteString(strconv.Itoa(len(*atts)))
		buf.WriteByte('}')
		*atts = append(*atts, x)
	case []any:
		buf.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := WriteJSON(buf, el, atts); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case *Object:
		buf.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k)
			buf.WriteByte(':')
			if err := WriteJSON(buf, x.vals[i], atts); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("jsvalue: cannot write %T as JSON", v)
	}
	return nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	if plainString(s) {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

// plainString reports whether s is printable ASCII without '"' and '\\',
// so that it needs no escaping in JSON.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
