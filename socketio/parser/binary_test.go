package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestEncodeData(t *testing.T) {
	b0, b1, b2, b3 := []byte{1, 2, 3}, []byte{4, 5, 6}, []byte{7}, []byte{}
	tests := []struct {
		name string
		args []any
		data string
		att  [][]byte
	}{
		{"nil args", nil, `[]`, nil},
		{"plain", []any{"message", 1, "2", map[string]any{"3": []any{true}}}, `["message",1,"2",{"3":[true]}]`, nil},
		{"S11 two buffers", []any{"message-back", b0, b1}, `["message-back",` + ph0 + `,` + ph1 + `]`, [][]byte{b0, b1}},
		{"spec admin", []any{"baz", []byte{1, 2}, []byte{3, 4}}, `["baz",` + ph0 + `,` + ph1 + `]`, [][]byte{{1, 2}, {3, 4}}},
		{
			"nested depth-first, map keys sorted",
			[]any{"ev", map[string]any{"z": b2, "a": []any{b0, map[string]any{"k": b1}}}, b3},
			`["ev",{"a":[` + ph0 + `,{"k":` + ph1 + `}],"z":{"_placeholder":true,"num":2}},{"_placeholder":true,"num":3}]`,
			[][]byte{b0, b1, b2, b3},
		},
		{"nil []byte is an empty attachment", []any{"ev", []byte(nil)}, `["ev",` + ph0 + `]`, [][]byte{nil}},
		{"raw message kept raw (compacted)", []any{"ev", json.RawMessage(`{ "b" : [1, 2], "a" : "x" }`)}, `["ev",{"b":[1,2],"a":"x"}]`, nil},
		{"raw message bytes are not binary", []any{json.RawMessage(`"AQID"`)}, `["AQID"]`, nil},
		{"nil raw message", []any{json.RawMessage(nil)}, `[null]`, nil},
		{"nil slice and map", []any{[]any(nil), map[string]any(nil), nil}, `[null,null,null]`, nil},
		{"no HTML escaping", []any{"<b>&</b>"}, `["<b>&</b>"]`, nil},
		{"escaped key", []any{map[string]any{`a"<`: 1}}, `[{"a\"<":1}]`, nil},
		{"bytes inside a struct use encoding/json", []any{struct {
			B []byte `json:"b"`
		}{[]byte{1, 2, 3}}}, `[{"b":"AQID"}]`, nil},
		{"typed map uses encoding/json", []any{map[string]int{"b": 2, "a": 1}}, `[{"a":1,"b":2}]`, nil},
	}
	for _, tc := range tests {
		data, att, err := EncodeData(tc.args)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(data) != tc.data {
			t.Errorf("%s: data = %s, want %s", tc.name, data, tc.data)
		}
		if len(att) != len(tc.att) {
			t.Errorf("%s: %d attachments, want %d", tc.name, len(att), len(tc.att))
			continue
		}
		for i := range att {
			if !bytes.Equal(att[i], tc.att[i]) {
				t.Errorf("%s: attachment %d = %v, want %v", tc.name, i, att[i], tc.att[i])
			}
		}
		if !json.Valid(data) {
			t.Errorf("%s: output is not valid JSON: %s", tc.name, data)
		}
	}
	// Attachments alias the caller's slices.
	_, att, _ := EncodeData([]any{b0})
	if &att[0][0] != &b0[0] {
		t.Error("attachment was copied")
	}
}

func TestEncodeDataErrors(t *testing.T) {
	for name, args := range map[string][]any{
		"invalid raw message":        {json.RawMessage(`{`)},
		"unsupported type":           {make(chan int)},
		"unsupported nested in map":  {map[string]any{"a": func() {}}},
		"unsupported nested in list": {[]any{1, complex(1, 2)}},
	} {
		if data, att, err := EncodeData(args); err == nil {
			t.Errorf("%s: no error (data %s, %d attachments)", name, data, len(att))
		}
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, []string{}},
		{` [ ] `, []string{}},
		{`["a"]`, []string{`"a"`}},
		{`["message",1,"2",{"3":[true]}]`, []string{`"message"`, `1`, `"2"`, `{"3":[true]}`}},
		{"[ \"a,]\\\"\" ,\n-1.5e3 , null,true,false, [[],{}] , {\"}\":\"[\"} ]", []string{`"a,]\""`, `-1.5e3`, `null`, `true`, `false`, `[[],{}]`, `{"}":"["}`}},
		{`["x",` + ph0 + `]`, []string{`"x"`, ph0}},
	}
	for _, tc := range tests {
		got, err := SplitArray([]byte(tc.in))
		if err != nil {
			t.Errorf("SplitArray(%q): %v", tc.in, err)
			continue
		}
		if got == nil {
			t.Errorf("SplitArray(%q) = nil, want a non-nil slice", tc.in)
		}
		if len(got) != len(tc.want) {
			t.Errorf("SplitArray(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tc.want[i] {
				t.Errorf("SplitArray(%q)[%d] = %s, want %s", tc.in, i, got[i], tc.want[i])
			}
		}
	}
	for _, in := range []string{``, ` `, `{}`, `"a"`, `1`, `[1,]`, `[1`, `[1]x`, `[1][2]`} {
		if got, err := SplitArray([]byte(in)); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("SplitArray(%q) = %q, %v; want ErrInvalidPayload", in, got, err)
		}
	}
	// Elements alias the input and cannot grow into it.
	in := []byte(`[1,2]`)
	got, _ := SplitArray(in)
	if &got[0][0] != &in[1] || cap(got[0]) != 1 {
		t.Error("element does not alias the input with a tight capacity")
	}
}

func TestPlaceholderNum(t *testing.T) {
	yes := map[string]int{
		ph0:                                      0,
		ph1:                                      1,
		`{"_placeholder":true,"num":123456789}`:  123456789,
		`{"_placeholder":true,"num":1234567890}`: 1234567890,
		`{"num":3,"_placeholder":true}`:          3,
		` { "_placeholder" : true , "num" : 4 } `: 4,
		`{"_placeholder":true,"num":5.0}`:         5,
		`{"_placeholder":true,"num":6e0}`:         6,
		`{"\u005fplaceholder":true,"num":7}`:      7,
	}
	for in, want := range yes {
		if n, ok := PlaceholderNum(json.RawMessage(in)); !ok || n != want {
			t.Errorf("PlaceholderNum(%s) = %d, %v; want %d, true", in, n, ok, want)
		}
	}
	no := []string{
		``, `null`, `"x"`, `[]`, `{}`, `1`,
		`{"_placeholder":true}`,
		`{"num":1}`,
		`{"_placeholder":false,"num":1}`,
		`{"_placeholder":"true","num":1}`,
		`{"_placeholder":true,"num":-1}`,
		`{"_placeholder":true,"num":1.5}`,
		`{"_placeholder":true,"num":"1"}`,
		`{"_placeholder":true,"num":1e300}`,
		`{"_placeholder":true,"num":1,"x":2}`,
		`{"_placeholder":true,"num":}`,
		`{"_placeholder":true,"num":1}x`,
		`{"_placeholder":true,"num":1`,
		`{"_placeholder":true,"num":x}`,
		`{"_placeholder":true,"num":00}`,
		`{"_placeholder":true,"num":01}`,
		`{"a":1,"b":2}`,
	}
	for _, in := range no {
		if n, ok := PlaceholderNum(json.RawMessage(in)); ok {
			t.Errorf("PlaceholderNum(%s) = %d, true; want false", in, n)
		}
	}
	canonical := json.RawMessage(ph1)
	if n := testing.AllocsPerRun(100, func() { _, _ = PlaceholderNum(canonical) }); n != 0 {
		t.Errorf("PlaceholderNum canonical allocations = %v, want 0", n)
	}
}

func decodeAny(t *testing.T, s string, useNumber bool) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	if useNumber {
		d.UseNumber()
	}
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestResolvePlaceholders(t *testing.T) {
	att := [][]byte{{1}, {2, 2}, {3, 3, 3}}
	for _, useNumber := range []bool{false, true} {
		v := decodeAny(t, `["ev",{"a":[`+ph1+`,{"_placeholder":true,"num":2}],"b":"x"},`+ph0+`,{"_placeholder":false,"num":9}]`, useNumber)
		got, err := ResolvePlaceholders(v, att)
		if err != nil {
			t.Fatalf("useNumber=%v: %v", useNumber, err)
		}
		want := []any{"ev", map[string]any{"a": []any{att[1], att[2]}, "b": "x"}, att[0],
			map[string]any{"_placeholder": false, "num": decodeAny(t, "9", useNumber)}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("useNumber=%v: got %#v, want %#v", useNumber, got, want)
		}
	}
	// The value itself may be a placeholder.
	got, err := ResolvePlaceholders(decodeAny(t, ph1, false), att)
	if err != nil || !bytes.Equal(got.([]byte), att[1]) {
		t.Errorf("top-level placeholder: %v, %v", got, err)
	}
	// Values without placeholders come back unchanged.
	for _, s := range []string{`null`, `1`, `"s"`, `[]`, `{}`, `[{"a":[true]}]`} {
		v := decodeAny(t, s, false)
		got, err := ResolvePlaceholders(v, nil)
		if err != nil || !reflect.DeepEqual(got, decodeAny(t, s, false)) {
			t.Errorf("%s: %#v, %v", s, got, err)
		}
	}
	// Go integers are accepted as num too.
	got, err = ResolvePlaceholders(map[string]any{"_placeholder": true, "num": 2}, att)
	if err != nil || !bytes.Equal(got.([]byte), att[2]) {
		t.Errorf("int num: %v, %v", got, err)
	}
}

func TestResolvePlaceholdersErrors(t *testing.T) {
	att := [][]byte{{1}, {2}}
	for _, s := range []string{
		`["ev",{"_placeholder":true,"num":2}]`,
		`[{"x":[{"_placeholder":true,"num":-1}]}]`,
		`{"_placeholder":true,"num":0.5}`,
		`{"_placeholder":true,"num":"0"}`,
		`{"_placeholder":true}`,
		`[1,{"_placeholder":true,"num":1e30}]`,
	} {
		if got, err := ResolvePlaceholders(decodeAny(t, s, false), att); !errors.Is(err, ErrInvalidAttachments) {
			t.Errorf("%s: %#v, %v; want ErrInvalidAttachments", s, got, err)
		}
	}
	if _, err := ResolvePlaceholders(decodeAny(t, `[`+ph0+`]`, false), nil); !errors.Is(err, ErrInvalidAttachments) {
		t.Errorf("no attachments: %v", err)
	}
}

// TestBinaryRoundTrip sends arguments with binary values through
// EncodeData, a BinaryEvent packet's text form, Decode and
// ResolvePlaceholders, and gets them back.
func TestBinaryRoundTrip(t *testing.T) {
	args := []any{"upload", map[string]any{"name": "f", "parts": []any{[]byte("ab"), []byte("cd")}}, []byte{0, 255}, 3.5}
	data, att, err := EncodeData(args)
	if err != nil {
		t.Fatal(err)
	}
	p := Packet{Type: BinaryEvent, Namespace: "/files", Attachments: len(att), ID: 9, HasID: true, Data: data}
	text := p.Encode()
	q, err := Decode(text, nil)
	if err != nil {
		t.Fatalf("Decode(%s): %v", text, err)
	}
	if !packetEqual(p, q) {
		t.Fatalf("Decode(Encode(p)) = %+v, want %+v", q, p)
	}
	elems, err := SplitArray(q.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := PlaceholderNum(elems[2]); !ok || n != 2 {
		t.Errorf("third argument: PlaceholderNum = %d, %v", n, ok)
	}
	var v any
	if err := json.Unmarshal(q.Data, &v); err != nil {
		t.Fatal(err)
	}
	got, err := ResolvePlaceholders(v, att)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, args) {
		t.Errorf("round trip = %#v, want %#v", got, args)
	}
}
