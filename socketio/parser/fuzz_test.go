package parser

import (
	"bytes"
	"encoding/json"
	"testing"
)

func addSeeds(f *testing.F) {
	for _, tc := range validPackets {
		f.Add([]byte(tc.text))
	}
	for _, tc := range decodeOnly {
		f.Add([]byte(tc.text))
	}
	for _, tc := range invalidPackets {
		f.Add([]byte(tc.text))
	}
}

// FuzzDecode checks that Decode never panics, that every packet it accepts
// survives Encode then Decode unchanged, and that the payload it accepts
// for events and acks splits into elements.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b, nil)
		if err != nil {
			if !packetEqual(p, Packet{}) {
				t.Fatalf("Decode(%q) returned %+v with error %v", b, p, err)
			}
			return
		}
		if p.Type > BinaryAck || p.Namespace == "" || p.Namespace[0] != '/' {
			t.Fatalf("Decode(%q) = %+v: bad type or namespace", b, p)
		}
		if p.Data != nil && !bytes.HasSuffix(b, p.Data) {
			t.Fatalf("Decode(%q): Data %q is not the tail of the input", b, p.Data)
		}
		enc := p.Encode()
		q, err := Decode(enc, nil)
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, but Decode(Encode) = %q: %v", b, p, enc, err)
		}
		if !packetEqual(p, q) {
			t.Fatalf("Decode(%q) = %+v; Decode(Encode = %q) = %+v", b, p, enc, q)
		}
		if again := q.Encode(); !bytes.Equal(again, enc) {
			t.Fatalf("Encode not stable: %q then %q", enc, again)
		}
		switch p.Type {
		case Event, BinaryEvent, Ack, BinaryAck:
			elems, err := SplitArray(p.Data)
			if err != nil {
				t.Fatalf("Decode(%q) accepted, SplitArray(%q): %v", b, p.Data, err)
			}
			if (p.Type == Event || p.Type == BinaryEvent) && len(elems) == 0 {
				t.Fatalf("Decode(%q) accepted an empty event", b)
			}
		}
	})
}

// FuzzSplitArray checks SplitArray against encoding/json, and that
// SplitValidArray never panics and agrees with SplitArray on valid JSON.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1, "a" ,{"b":[2]}]`, `{"a":1}`, "[\"\\\"]\", [[]],null ]", `[1,]`, `["a\`, `[`, `[1 2`, `[}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ferr := SplitValidArray(b)
		got, err := SplitArray(b)
		if json.Valid(b) {
			if (err == nil) != (ferr == nil) || len(got) != len(fast) {
				t.Fatalf("SplitArray(%q) = %q, %v; SplitValidArray %q, %v", b, got, err, fast, ferr)
			}
			for i := range got {
				if !bytes.Equal(got[i], fast[i]) {
					t.Fatalf("SplitArray(%q) = %q; SplitValidArray %q", b, got, fast)
				}
			}
		}
		var want []json.RawMessage
		werr := json.Unmarshal(b, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("SplitArray(%q) error %v, encoding/json error %v", b, err, werr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("SplitArray(%q) = %q, encoding/json %q", b, got, want)
		}
		for i := range got {
			if !bytes.Equal(bytes.TrimSpace(want[i]), got[i]) {
				t.Fatalf("SplitArray(%q)[%d] = %q, encoding/json %q", b, i, got[i], want[i])
			}
		}
	})
}

// FuzzPlaceholderNum checks PlaceholderNum against encoding/json.
func FuzzPlaceholderNum(f *testing.F) {
	for _, s := range []string{ph0, ph1, `{"num":2,"_placeholder":true}`, `{"_placeholder":true,"num":-1}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := PlaceholderNum(b)
		if !ok {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("PlaceholderNum(%q) = %d, true, but not JSON: %v", b, n, err)
		}
		if len(m) != 2 || m["_placeholder"] != true || m["num"] != float64(n) {
			t.Fatalf("PlaceholderNum(%q) = %d, true; decoded %v", b, n, m)
		}
	})
}
