package msgpackparser_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/chatd/chatd/socketio/parser"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

// resolved is a packet's data with the attachments in place of their
// placeholders, for comparisons that do not depend on how binary values
// are numbered.
func resolved(t *testing.T, p parser.Packet, atts [][]byte) any {
	t.Helper()
	if p.Data == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(p.Data, &v); err != nil {
		t.Fatalf("data is not valid JSON: %v: %q", err, p.Data)
	}
	v, err := parser.ResolvePlaceholders(v, atts)
	if err != nil {
		t.Fatalf("placeholders: %v", err)
	}
	return v
}

// FuzzDecode checks that Decode never panics and returns nothing with an
// error; that what it accepts is a packet of the form of package parser
// (a valid type, JSON data, one attachment per placeholder); and that the
// packet survives AppendPacket then Decode, with the same values.
// Seeded with the packets of socket.io-msgpack-parser (testdata).
func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.bytes(f))
	}
	pr := msgpackparser.Parser{MaxBinaries: 100, MaxDepth: 100}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, atts, err := pr.Decode(b)
		if err != nil {
			if p.Type != 0 || p.Data != nil || p.Namespace != "" || atts != nil {
				t.Fatalf("Decode(%x) returned a packet with error %v", b, err)
			}
			return
		}
		if p.Type > parser.BinaryAck || p.Namespace == "" {
			t.Fatalf("Decode(%x): type %d, namespace %q", b, p.Type, p.Namespace)
		}
		if p.Attachments != len(atts) || p.Type.IsBinary() != (len(atts) > 0) {
			t.Fatalf("Decode(%x): type %s with %d attachments (Attachments %d)", b, p.Type, len(atts), p.Attachments)
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("Decode(%x): data is not valid JSON: %q", b, p.Data)
		}
		want := resolved(t, p, atts)

		enc, err := msgpackparser.AppendPacket(nil, &p, atts)
		if err != nil {
			t.Fatalf("Decode(%x) accepted %s %q, AppendPacket: %v", b, p.Type, p.Data, err)
		}
		q, qatts, err := pr.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(%x) accepted %s %q, but not its encoding %x: %v", b, p.Type, p.Data, enc, err)
		}
		if q.Type.IsBinary() != p.Type.IsBinary() && len(qatts) > 0 == (len(atts) > 0) ||
			q.Namespace != p.Namespace || q.ID != p.ID || q.HasID != p.HasID || (q.Data == nil) != (p.Data == nil) {
			t.Fatalf("Decode(%x) = %s %q %d/%v; after encoding: %s %q %d/%v",
				b, p.Type, p.Namespace, p.ID, p.HasID, q.Type, q.Namespace, q.ID, q.HasID)
		}
		if got := resolved(t, q, qatts); !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%x) data %q; after encoding %q", b, p.Data, q.Data)
		}
		if again, err := msgpackparser.AppendPacket(nil, &q, qatts); err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable: %x then %x (%v)", enc, again, err)
		}
	})
}
