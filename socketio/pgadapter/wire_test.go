package pgadapter

import (
	"encoding/hex"
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	cw "github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// Payloads as @socket.io/postgres-adapter 0.5.0 sends them.
var payloadFixtures = []string{
	`{"type":1,"uid":"0123456789abcdef","nsp":"/"}`,
	`{"type":3,"data":{"packet":{"type":2,"data":["hello",1],"nsp":"/"},"opts":{"rooms":["r1"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`,
	`{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{"timeout":5000}},"requestId":"abc"},"uid":"u","nsp":"/chat"}`,
	`{"uid":"0123456789abcdef","type":3,"attachmentId":"42"}`,
}

func TestParsePayload(t *testing.T) {
	m, uid, _, err := parsePayload([]byte(payloadFixtures[1]))
	if err != nil || uid != "0123456789abcdef" || m.typ != cw.TypeBroadcast || m.nsp != "/" {
		t.Fatalf("%+v %q %v", m, uid, err)
	}
	p, _ := m.data.Get("packet")
	pkt, err := cw.TreePacket(p, "/")
	if err != nil || string(pkt.Data) != `["hello",1]` {
		t.Fatalf("packet %v %v", pkt, err)
	}
	m, uid, att, err := parsePayload([]byte(payloadFixtures[3]))
	if err != nil || m != nil || uid != "0123456789abcdef" || att != 42 {
		t.Fatalf("attachment header: %v %q %d %v", m, uid, att, err)
	}
	if _, _, att, err := parsePayload([]byte(`{"uid":"x","type":3,"attachmentId":7}`)); err != nil || att != 7 {
		t.Fatalf("numeric attachment id: %d %v", att, err)
	}
}

// TestEncoding checks the JSON text of a message (the reference's key
// order) and the MessagePack row of one with binary.
func TestEncoding(t *testing.T) {
	d, err := cw.BroadcastData(event("/", `["hello",1]`), adapter.BroadcastOptions{Rooms: []string{"r1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	m := &message{uid: "0123456789abcdef", nsp: "/", typ: cw.TypeBroadcast, data: d}
	text, atts, err := jsvalue.JSON(m.tree())
	if err != nil || len(atts) != 0 || string(text) != payloadFixtures[1] {
		t.Fatalf("JSON %s %v", text, err)
	}
	bin := event("/", `["bin",{"_placeholder":true,"num":0}]`)
	bin.Attachments = [][]byte{{1, 2, 3}}
	d, _ = cw.BroadcastData(bin, adapter.BroadcastOptions{}, "")
	m.data = d
	b, err := jsvalue.Marshal(m.tree())
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeRow(b)
	if err != nil || back.typ != cw.TypeBroadcast || back.uid != m.uid {
		t.Fatalf("row %x: %+v %v", b, back, err)
	}
	p, _ := back.data.Get("packet")
	pkt, err := cw.TreePacket(p, "/")
	if err != nil || len(pkt.Attachments) != 1 || hex.EncodeToString(pkt.Attachments[0]) != "010203" {
		t.Fatalf("binary packet %v %v", pkt, err)
	}
}

// FuzzParsePayload feeds notification payloads and table rows to the
// decoders.
func FuzzParsePayload(f *testing.F) {
	for _, p := range payloadFixtures {
		f.Add([]byte(p))
		if v, err := jsvalue.FromPlainJSON([]byte(p)); err == nil {
			if b, err := jsvalue.Marshal(v); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, _, _, err := parsePayload(b); err == nil && m != nil && m.data != nil {
			p, _ := m.data.Get("packet")
			_, _ = cw.TreePacket(p, "/")
			o, _ := m.data.Get("opts")
			_ = cw.TreeOpts(o)
		}
		if m, err := decodeRow(b); err == nil && m.data != nil {
			p, _ := m.data.Get("packet")
			_, _ = cw.TreePacket(p, "/")
		}
	})
}
