package msgpackparser_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chatd/chatd/socketio/parser"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

// vector is one packet of testdata/packets.json, made by gen.mjs with
// socket.io-msgpack-parser 3.0.2.
type vector struct {
	Name       string `json:"name"`
	Hex        string `json:"hex"`
	RefAccepts bool   `json:"refAccepts"`
	Accept     bool   `json:"accept"`
	Canonical  bool   `json:"canonical"`
	Packet     *struct {
		Type        int      `json:"type"`
		Nsp         string   `json:"nsp"`
		Data        *string  `json:"data"`
		ID          *int64   `json:"id"`
		Attachments []string `json:"attachments"`
	} `json:"packet"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/packets.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatal(err)
	}
	return vs
}

func (v vector) bytes(tb testing.TB) []byte {
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// semantic lists the vectors whose data JSON.stringify writes differently
// but that mean the same once decoded: exact integers beyond 2^53 (the
// reference rounds them), repeated map keys (written twice here).
var semantic = map[string]bool{"uint64 max": true, "int64 min": true, "duplicate map key": true, "notepack big numbers": true}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestDecodeReferencePackets decodes every packet of the reference encoder
// (and the hand-made ones) and compares with the reference decoder's
// result, converted with JSON.stringify.
func TestDecodeReferencePackets(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			b := v.bytes(t)
			orig := bytes.Clone(b)
			pkt, atts, err := msgpackparser.Parser{}.Decode(b)
			if !v.Accept {
				if err == nil {
					t.Fatalf("accepted %.100x as %s %q %.100s", b, pkt.Type, pkt.Namespace, pkt.Data)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Decode(%x): %v", b, err)
			}
			w := v.Packet
			if int(pkt.Type) != w.Type || pkt.Namespace != w.Nsp && !(w.Nsp == "" && pkt.Namespace == "/") {
				t.Errorf("type %d nsp %q, want %d %q", pkt.Type, pkt.Namespace, w.Type, w.Nsp)
			}
			if (w.ID != nil) != pkt.HasID || w.ID != nil && uint64(*w.ID) != pkt.ID {
				t.Errorf("id %d (%v), want %v", pkt.ID, pkt.HasID, w.ID)
			}
			switch {
			case w.Data == nil && pkt.Data != nil:
				t.Errorf("data %s, want none", pkt.Data)
			case w.Data != nil && semantic[v.Name]:
				if !sameJSON(pkt.Data, []byte(*w.Data)) {
					t.Errorf("data\n%s\nwant the same as\n%s", pkt.Data, *w.Data)
				}
			case w.Data != nil && string(pkt.Data) != *w.Data:
				t.Errorf("data\n%s\nwant\n%s", pkt.Data, *w.Data)
			}
			if pkt.Data != nil && !json.Valid(pkt.Data) {
				t.Errorf("data is not valid JSON: %s", pkt.Data)
			}
			if len(atts) != len(w.Attachments) || pkt.Attachments != len(atts) {
				t.Fatalf("%d attachments (Attachments %d), want %d", len(atts), pkt.Attachments, len(w.Attachments))
			}
			for i, a := range atts {
				if hex.EncodeToString(a) != w.Attachments[i] {
					t.Errorf("attachment %d: %x, want %s", i, a, w.Attachments[i])
				}
			}
			// Nothing aliases the message.
			for i := range b {
				b[i] = 0
			}
			for i, a := range atts {
				if hex.EncodeToString(a) != w.Attachments[i] {
					t.Errorf("attachment %d changed with the message", i)
				}
			}
			if w.Data != nil && !semantic[v.Name] && string(pkt.Data) != *w.Data {
				t.Errorf("data changed with the message")
			}
			copy(b, orig)
		})
	}
}

// TestRefusedByReference checks that every packet the reference decoder
// refuses is refused, and lists the ones refused here only.
func TestRefusedByReference(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.RefAccepts && !v.Accept {
			t.Logf("refused here, accepted by the reference: %s", v.Name)
		}
		if !v.RefAccepts && v.Accept {
			t.Errorf("%s: accepted here, refused by the reference", v.Name)
		}
	}
}

// TestEncodeLikeReference encodes the decoded form of the canonical
// vectors (written as this package writes) and compares the bytes with
// the reference encoder's.
func TestEncodeLikeReference(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if !v.Canonical {
			continue
		}
		n++
		t.Run(v.Name, func(t *testing.T) {
			want := v.bytes(t)
			pkt, atts, err := msgpackparser.Parser{}.Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := msgpackparser.AppendPacket(nil, &pkt, atts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoded\n%x\nwant\n%x", got, want)
			}
		})
	}
	if n < 20 {
		t.Fatalf("only %d canonical vectors", n)
	}
}

func mustDecode(t *testing.T, b []byte) (parser.Packet, [][]byte) {
	t.Helper()
	p, atts, err := msgpackparser.Parser{}.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%x): %v", b, err)
	}
	return p, atts
}

// TestRoundTrip encodes packets made by this server (the JSON form the
// default parser uses) and decodes them back.
func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 70000)
	big := bytes.Repeat([]byte{7}, 70000)
	many := make([]any, 70000)
	for i := range many {
		many[i] = i
	}
	cases := []struct {
		name string
		p    parser.Packet
		args []any // encoded into Data with parser.EncodeData when set
	}{
		{name: "connect", p: parser.Packet{Type: parser.Connect, Namespace: "/"}},
		{name: "connect reply", p: parser.Packet{Type: parser.Connect, Namespace: "/custom", Data: json.RawMessage(`{"sid":"abc","pid":"def"}`)}},
		{name: "disconnect", p: parser.Packet{Type: parser.Disconnect, Namespace: "/x"}},
		{name: "connect error", p: parser.Packet{Type: parser.ConnectError, Namespace: "/", Data: json.RawMessage(`{"message":"Invalid namespace"}`)}},
		{name: "event", p: parser.Packet{Type: parser.Event, Namespace: "/"}, args: []any{"message", 1, "2", map[string]any{"3": []any{true}}}},
		{name: "event with ack", p: parser.Packet{Type: parser.Event, Namespace: "/", ID: 12, HasID: true}, args: []any{"e", nil, false, -1.5, 1e300, "é\n\"\\"}},
		{name: "binary event", p: parser.Packet{Type: parser.BinaryEvent, Namespace: "/"}, args: []any{"bin", []byte{1, 2, 3}, map[string]any{"b": []byte{}, "c": []any{[]byte{4}}}}},
		{name: "ack", p: parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1<<64 - 1, HasID: true}, args: []any{"ok"}},
		{name: "binary ack", p: parser.Packet{Type: parser.BinaryAck, Namespace: "/n", ID: 3, HasID: true}, args: []any{[]byte{9}}},
		{name: "large values", p: parser.Packet{Type: parser.Event, Namespace: "/"}, args: []any{"big", long, big, many}},
		{name: "integers", p: parser.Packet{Type: parser.Event, Namespace: "/"}, args: []any{"i", 0, 127, 128, -32, -33, 255, 256, 65535, 65536, -32768, -32769, int64(-1 << 63), uint64(1<<64 - 1), 4294967295, 4294967296}},
		{name: "placeholder-like object without attachments", p: parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`)}},
		{name: "spaces", p: parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(` [ "e" , { "a" : [ 1 , 2 ] } , [ ] , { } ] `)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.p
			var atts [][]byte
			if c.args != nil {
				data, a, err := parser.EncodeData(c.args)
				if err != nil {
					t.Fatal(err)
				}
				p.Data, atts = data, a
				if len(a) > 0 {
					p.Attachments = len(a)
					if p.Type == parser.Event {
						p.Type = parser.BinaryEvent
					} else if p.Type == parser.Ack {
						p.Type = parser.BinaryAck
					}
				}
			}
			msgs, err := msgpackparser.Parser{}.Encode(nil, &p, atts)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || !msgs[0].Binary {
				t.Fatalf("%d messages, binary %v; want one binary message", len(msgs), len(msgs) > 0 && msgs[0].Binary)
			}
			dec := msgpackparser.Parser{MaxBinaries: 10}.NewDecoder()
			got, gotAtts, done, err := dec.Add(msgs[0].Data, true)
			if err != nil || !done {
				t.Fatalf("Add: done %v, %v", done, err)
			}
			if got.Type != p.Type || got.Namespace != p.Namespace || got.ID != p.ID || got.HasID != p.HasID || got.Attachments != len(atts) {
				t.Errorf("decoded %s %q id %d/%v, %d attachments; want %s %q id %d/%v, %d",
					got.Type, got.Namespace, got.ID, got.HasID, got.Attachments, p.Type, p.Namespace, p.ID, p.HasID, len(atts))
			}
			if len(p.Data) == 0 {
				if got.Data != nil {
					t.Errorf("data %s, want none", got.Data)
				}
			} else if !sameJSON(got.Data, p.Data) {
				t.Errorf("data %.200s, want %.200s", got.Data, p.Data)
			}
			if len(gotAtts) != len(atts) {
				t.Fatalf("%d attachments, want %d", len(gotAtts), len(atts))
			}
			for i := range atts {
				if !bytes.Equal(gotAtts[i], atts[i]) {
					t.Errorf("attachment %d differs", i)
				}
			}
			// Encoding again gives the same bytes.
			again, err := msgpackparser.AppendPacket(nil, &got, gotAtts)
			if err != nil || !bytes.Equal(again, msgs[0].Data) {
				t.Errorf("encoding the decoded packet: %v, same bytes %v", err, bytes.Equal(again, msgs[0].Data))
			}
		})
	}
}

func TestTextMessageRefused(t *testing.T) {
	_, _, _, err := msgpackparser.Parser{}.NewDecoder().Add([]byte(`2["e"]`), false)
	if !errors.Is(err, msgpackparser.ErrTextMessage) {
		t.Fatalf("err = %v, want ErrTextMessage", err)
	}
}

func TestErrorKinds(t *testing.T) {
	enc := func(p parser.Packet) []byte {
		b, err := msgpackparser.AppendPacket(nil, &p, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"truncated", enc(parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(`["e"]`)})[:5], msgpackparser.ErrMalformed},
		{"not a map", []byte{0x90}, parser.ErrInvalidType},
		{"event object", enc(parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(`{}`)}), parser.ErrInvalidPayload},
		{"reserved", enc(parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(`["connect"]`)}), parser.ErrInvalidPayload},
		{"nsp missing", []byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0x01}, parser.ErrInvalidNamespace},
		{"negative id", append(enc(parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(`["e"]`)})[:0:0],
			0x84, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa2, 'i', 'd', 0xff), parser.ErrInvalidAckID},
	} {
		_, _, err := msgpackparser.Parser{}.Decode(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestLimits checks MaxBinaries and MaxDepth.
func TestLimits(t *testing.T) {
	args := []any{"e"}
	for range 11 {
		args = append(args, []byte{1})
	}
	data, atts, err := parser.EncodeData(args)
	if err != nil {
		t.Fatal(err)
	}
	b, err := msgpackparser.AppendPacket(nil, &parser.Packet{Type: parser.BinaryEvent, Namespace: "/", Data: data}, atts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (msgpackparser.Parser{MaxBinaries: 10}).Decode(b); !errors.Is(err, parser.ErrTooManyAttachments) {
		t.Errorf("11 binaries with MaxBinaries 10: %v", err)
	}
	if _, _, err := (msgpackparser.Parser{MaxBinaries: 11}).Decode(b); err != nil {
		t.Errorf("11 binaries with MaxBinaries 11: %v", err)
	}
	deep := `["e",` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `]`
	b, err = msgpackparser.AppendPacket(nil, &parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(deep)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (msgpackparser.Parser{MaxDepth: 20}).Decode(b); !errors.Is(err, msgpackparser.ErrMalformed) {
		t.Errorf("depth 22 with MaxDepth 20: %v", err)
	}
	mustDecode(t, b)
}

func TestEncodeInvalidData(t *testing.T) {
	for _, data := range []string{`[`, `["e"`, `["e"]]`, `["e",]x`, `{"a"}`, `[tru]`, `["e" 1]`, `"`, `[-]`} {
		_, err := msgpackparser.AppendPacket(nil, &parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(data)}, nil)
		if err == nil {
			t.Errorf("%s: no error", data)
		}
	}
	if _, err := msgpackparser.AppendPacket(nil, &parser.Packet{Type: parser.Type(9), Namespace: "/"}, nil); err == nil {
		t.Error("type 9: no error")
	}
}
