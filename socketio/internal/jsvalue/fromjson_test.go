package jsvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// The reference: the token-by-token reader over encoding/json's Decoder
// that fromJSON replaced; fromJSON must build the same trees and refuse
// the same texts.

func referenceFromJSON(data []byte, atts [][]byte, substitute bool) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := referenceParser{dec: dec, atts: atts, substitute: substitute}
	v, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("jsvalue: trailing data after JSON value")
	}
	return v, nil
}

// referenceParser reads one JSON value as a value tree.
type referenceParser struct {
	dec        *json.Decoder
	atts       [][]byte
	substitute bool // replace placeholders by attachments
}

func (p *referenceParser) parse(depth int) (any, error) {
	dec := p.dec
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := p.parse(depth + 1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		case '{':
			obj := &Object{}
			for dec.More() {
				ktok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := ktok.(string)
				v, err := p.parse(depth + 1)
				if err != nil {
					return nil, err
				}
				obj.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if p.substitute {
				if b, ok, err := placeholder(obj, p.atts); ok || err != nil {
					return b, err
				}
			}
			return obj, nil
		}
		return nil, fmt.Errorf("jsvalue: unexpected JSON delimiter %q", t)
	case json.Number:
		return number(t), nil
	default: // string, bool, nil
		return t, nil
	}
}

// sameTree compares two value trees (NaN equal to NaN).
func sameTree(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameTree(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i, k := range x.keys {
			if y.keys[i] != k || !sameTree(x.vals[i], y.vals[i]) {
				return false
			}
		}
		return true
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	default:
		return a == b
	}
}

var jsonSeeds = []string{
	`["ev",{"_placeholder":true,"num":0},{"a":[1,-2,3.5,"x\\"y",null,true],"b":{"_placeholder":true,"num":1}},18446744073709551615]`,
	`{"uid":"n1","type":3,"packet":{"type":2,"data":["comPeRoom",{"id":7,"text":"h\\u00e9llo \\ud83d\\ude00"}],"nsp":"/user"},"opts":{"rooms":["chat"],"except":[],"flags":{}}}`,
	` { "a" : [ ] , "b" : { } , "a" : 1e999 , "c" : -0.0e+1 } `,
	`"caf\xc3\xa9 \xff\xfe"`, `[1] 2`, `[1,]`, `{"a"}`, `nul`, ``, `"\x01"`, `[[[[[[[[[[]]]]]]]]]]`,
	`{"_placeholder":true,"num":5}`, `{"_placeholder":true,"num":-1}`, `{"_placeholder":false,"num":0}`,
	`1.5`, `-12345678901234567890`, `true`, `false`, `null`, `"\\/\\b\\f\\n\\r\\t"`,
}

func TestFromJSONMatchesReference(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	ok := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, s := range append(jsonSeeds, deep, ok) {
		checkFromJSON(t, []byte(s))
	}
	if _, err := FromPlainJSON([]byte(deep)); !errors.Is(err, errTooDeep) {
		t.Fatalf("too deep: %v", err)
	}
}

func checkFromJSON(t *testing.T, b []byte) {
	t.Helper()
	atts := [][]byte{{7}, {}}
	for _, sub := range []bool{false, true} {
		got, gerr := fromJSON(b, atts, sub)
		want, werr := referenceFromJSON(b, atts, sub)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q (substitute %v): error %v, reference %v", b, sub, gerr, werr)
		}
		if gerr == nil && !sameTree(got, want) {
			t.Fatalf("%q (substitute %v):\n got %s\nwant %s", b, sub, dump(got), dump(want))
		}
	}
}

func dump(v any) string {
	var b bytes.Buffer
	_ = WriteJSON(&b, v, new([][]byte))
	return fmt.Sprintf("%s (%T)", b.String(), v)
}

// FuzzFromJSON checks fromJSON against the reference reader on any text.
func FuzzFromJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFromJSON(t, b) })
}

func BenchmarkFromPlainJSON(b *testing.B) {
	text := []byte(jsonSeeds[1])
	for _, c := range []struct {
		name string
		fn   func([]byte, [][]byte, bool) (any, error)
	}{{"scanner", fromJSON}, {"reference", referenceFromJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.fn(text, nil, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
