package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
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
	e := dataEncoder{}
	e.buf.Grow(64)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	e.buf.WriteByte('[')
	for i, v := range args {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if err := e.value(v); err != nil {
			return nil, nil, err
		}
	}
	e.buf.WriteByte(']')
	return e.buf.Bytes(), e.attachments, nil
}

// dataEncoder writes JSON into buf, collecting binary attachments.
type dataEncoder struct {
	buf         bytes.Buffer
	enc         *json.Encoder // writes into buf
	attachments [][]byte
	num         []byte // scratch for placeholder numbers
}

func (e *dataEncoder) value(v any) error {
	switch x := v.(type) {
	case []byte:
		e.buf.WriteString(placeholderPrefix)
		e.num = strconv.AppendInt(e.num[:0], int64(len(e.attachments)), 10)
		e.buf.Write(e.num)
		e.buf.WriteByte('}')
		e.attachments = append(e.attachments, x)
	case json.RawMessage:
		if x == nil {
			e.buf.WriteString("null")
			return nil
		}
		if err := json.Compact(&e.buf, x); err != nil {
			return fmt.Errorf("socket.io parser: json.RawMessage argument: %w", err)
		}
	case []any:
		if x == nil {
			e.buf.WriteString("null")
			return nil
		}
		e.buf.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.value(el); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
	case map[string]any:
		if x == nil {
			e.buf.WriteString("null")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.marshal(k); err != nil {
				return err
			}
			e.buf.WriteByte(':')
			if err := e.value(x[k]); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
	default:
		return e.marshal(v)
	}
	return nil
}

// marshal writes v with encoding/json, without the encoder's newline.
func (e *dataEncoder) marshal(v any) error {
	if err := e.enc.Encode(v); err != nil {
		return fmt.Errorf("socket.io parser: %w", err)
	}
	e.buf.Truncate(e.buf.Len() - 1) // the '\n' Encode adds
	return nil
}

// SplitArray splits a JSON array into its elements' raw JSON without
// decoding them. The elements alias data (with the surrounding white space
// left out); an empty array gives an empty slice. Anything but a valid JSON
// array is an ErrInvalidPayload error.
func SplitArray(data []byte) ([]json.RawMessage, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidPayload)
	}
	i := skipSpace(data, 0)
	if data[i] != '[' {
		return nil, fmt.Errorf("%w: not an array", ErrInvalidPayload)
	}
	out := []json.RawMessage{}
	i = skipSpace(data, i+1)
	if data[i] == ']' {
		return out, nil
	}
	for {
		end := skipValue(data, i)
		out = append(out, json.RawMessage(data[i:end:end]))
		i = skipSpace(data, end)
		if data[i] == ']' {
			return out, nil
		}
		i = skipSpace(data, i+1) // past ','
	}
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
