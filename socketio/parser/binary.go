package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// placeholderPrefix is the canonical start of a placeholder object.
const placeholderPrefix = `{"_placeholder":true,"num":`

// EncodeData marshals args as the JSON array payload of an event or an ack,
// taking binary values out as attachments. For an event the caller puts the
// event name first in args.
//
// Every value of exact type []byte (including a nil one) found in args, or
// nested inside []any and map[string]any values, is replaced by
// {"_placeholder":true,"num":N} and appended to attachments, N counting from
// 0 in depth-first order of appearance. A json.RawMessage is embedded as raw
// JSON (compacted; it must be valid). Every other value, including []byte
// inside other types such as structs, is marshaled by encoding/json without
// HTML escaping; map keys are sorted as encoding/json sorts them. The result
// is compact JSON; attachments is nil when there is no binary value.
//
// The attachments alias the caller's byte slices.
func EncodeData(args []any) (data []byte, attachments [][]byte, err error) {
	data, attachments, err = AppendData(make([]byte, 0, 64), args)
	if err != nil {
		return nil, nil, err
	}
	return data, attachments, nil
}

// AppendData is EncodeData appending the payload to dst: it returns dst
// extended with the JSON array, or dst itself with an error (the bytes
// of dst are not changed, though its spare capacity may be written).
func AppendData(dst []byte, args []any) (data []byte, attachments [][]byte, err error) {
	e := dataEncoder{buf: append(dst, '[')}
	for i, v := range args {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(v); err != nil {
			return dst, nil, err
		}
	}
	return append(e.buf, ']'), e.attachments, nil
}

// dataEncoder appends JSON to buf, collecting binary attachments.
type dataEncoder struct {
	buf         []byte
	attachments [][]byte
	side        *bytes.Buffer // for encoding/json; made when first needed
	enc         *json.Encoder // writes into side
}

func (e *dataEncoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		return e.string(x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case float64:
		if b, ok := appendSimpleFloat(e.buf, x); ok {
			e.buf = b
			return nil
		}
		return e.marshal(x)
	case []byte:
		e.buf = append(e.buf, placeholderPrefix...)
		e.buf = strconv.AppendInt(e.buf, int64(len(e.attachments)), 10)
		e.buf = append(e.buf, '}')
		e.attachments = append(e.attachments, x)
	case json.RawMessage:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		side := e.sideBuffer()
		if err := json.Compact(side, x); err != nil {
			return fmt.Errorf("socket.io parser: json.RawMessage argument: %w", err)
		}
		e.buf = append(e.buf, side.Bytes()...)
	case []any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(el); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case map[string]any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.string(k); err != nil {
				return err
			}
			e.buf = append(e.buf, ':')
			if err := e.value(x[k]); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
	default:
		return e.marshal(v)
	}
	return nil
}

// string writes s as a JSON string.
func (e *dataEncoder) string(s string) error {
	if b, ok := appendSimpleString(e.buf, s); ok {
		e.buf = b
		return nil
	}
	return e.marshal(s)
}

// sideBuffer returns e.side, made if needed, emptied.
func (e *dataEncoder) sideBuffer() *bytes.Buffer {
	if e.side == nil {
		e.side = new(bytes.Buffer)
	}
	e.side.Reset()
	return e.side
}

// marshal writes v with encoding/json, without the encoder's newline.
func (e *dataEncoder) marshal(v any) error {
	side := e.sideBuffer()
	if e.enc == nil {
		e.enc = json.NewEncoder(side)
		e.enc.SetEscapeHTML(false)
	}
	if err := e.enc.Encode(v); err != nil {
		return fmt.Errorf("socket.io parser: %w", err)
	}
	out := side.Bytes()
	e.buf = append(e.buf, out[:len(out)-1]...) // without the '\n' Encode adds
	return nil
}

// appendSimpleString appends s as a JSON string when encoding/json (without
// HTML escaping) would write it unchanged between quotes: s is valid UTF-8
// and holds no control character below 0x20, no '"' or '\', and neither
// U+2028 nor U+2029. For any other string it returns dst unchanged and
// false.
func appendSimpleString(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return dst, false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return dst, false
		}
		i += size
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), true
}

// appendSimpleFloat appends f as encoding/json does when it would use
// the 'f' format: f is 0 or its absolute value is in [1e-6, 1e21). It
// reports false for other values (exponent notation, NaN and infinities).
func appendSimpleFloat(dst []byte, f float64) ([]byte, bool) {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) || math.IsNaN(f) {
		return dst, false
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64), true
}

// SplitArray splits a JSON array into its elements' raw JSON without
// decoding them. The elements alias data (with the surrounding white space
// left out); an empty array gives an empty slice. Anything but a valid JSON
// array is an ErrInvalidPayload error.
func SplitArray(data []byte) ([]json.RawMessage, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidPayload)
	}
	return SplitValidArray(data)
}

// SplitValidArray is SplitArray for data already known to be valid JSON,
// such as the Data of a packet returned by Decode: it does not validate
// data again. Given data that is not valid JSON it returns an error or
// elements that may not be valid JSON, and never panics.
func SplitValidArray(data []byte) ([]json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '[' {
		return nil, fmt.Errorf("%w: not an array", ErrInvalidPayload)
	}
	out := make([]json.RawMessage, 0, 4) // events rarely have more arguments
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return out, nil
	}
	for i < len(data) {
		end := skipValue(data, i)
		out = append(out, json.RawMessage(data[i:end:end]))
		i = skipSpace(data, end)
		if i == len(data) {
			break
		}
		if data[i] == ']' {
			return out, nil
		}
		i = skipSpace(data, i+1) // past ','
	}
	return nil, fmt.Errorf("%w: unterminated array", ErrInvalidPayload)
}

// PlaceholderNum reports whether raw is exactly a placeholder object, that
// is an object with the two members "_placeholder": true and "num": N (in
// any order, any white space) where N is a non-negative integer, and returns
// N.
func PlaceholderNum(raw json.RawMessage) (int, bool) {
	// Fast path: the canonical form every encoder writes.
	if rest, ok := bytes.CutPrefix(raw, []byte(placeholderPrefix)); ok {
		// n digits then '}'; no leading zero, as JSON requires.
		if n := len(rest) - 1; n > 0 && n <= 9 && rest[n] == '}' && (n == 1 || rest[0] != '0') {
			num := 0
			for _, c := range rest[:n] {
				if !isDigit(c) {
					return slowPlaceholderNum(raw)
				}
				num = num*10 + int(c-'0')
			}
			return num, true
		}
	}
	return slowPlaceholderNum(raw)
}

// slowPlaceholderNum is PlaceholderNum for non-canonical spellings.
func slowPlaceholderNum(raw json.RawMessage) (int, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return 0, false
	}
	if !bytes.Contains(raw, []byte("_placeholder")) && bytes.IndexByte(raw, '\\') < 0 {
		return 0, false // cannot name the member, not even with escapes
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 2 {
		return 0, false
	}
	var flag bool
	if err := json.Unmarshal(m["_placeholder"], &flag); err != nil || !flag {
		return 0, false
	}
	var num float64
	if err := json.Unmarshal(m["num"], &num); err != nil {
		return 0, false
	}
	return placeholderIndex(num)
}

// placeholderIndex converts a JSON number to an attachment index.
func placeholderIndex(num float64) (int, bool) {
	if num < 0 || num > math.MaxInt32 || num != math.Trunc(num) {
		return 0, false
	}
	return int(num), true
}

// ResolvePlaceholders walks a value decoded by encoding/json into any (nested
// map[string]any and []any) and replaces every placeholder object, that is
// every map whose "_placeholder" member is true, by the attachment its "num"
// member designates. The maps and slices of v are updated in place; the
// result is the new value (v itself may be a placeholder).
//
// A placeholder whose num is not an integer in [0, len(attachments)) is an
// ErrInvalidAttachments error.
func ResolvePlaceholders(v any, attachments [][]byte) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if flag, ok := x["_placeholder"].(bool); ok && flag {
			n, ok := numberIndex(x["num"])
			if !ok || n >= len(attachments) {
				return nil, fmt.Errorf("%w: placeholder num %v with %d attachments",
					ErrInvalidAttachments, x["num"], len(attachments))
			}
			return attachments[n], nil
		}
		for k, el := range x {
			r, err := ResolvePlaceholders(el, attachments)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
		return x, nil
	case []any:
		for i, el := range x {
			r, err := ResolvePlaceholders(el, attachments)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
		return x, nil
	}
	return v, nil
}

// numberIndex converts a decoded JSON number (float64, json.Number or an
// integer type) to an attachment index.
func numberIndex(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return placeholderIndex(n)
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		return placeholderIndex(f)
	case int:
		return placeholderIndex(float64(n))
	case int64:
		return placeholderIndex(float64(n))
	}
	return 0, false
}
