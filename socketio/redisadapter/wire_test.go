package redisadapter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/parser"
)

// nodeWire returns a message of testdata/node-wire.json, encoded by the
// reference adapter's MessagePack library (see e2e/redis/wire-fixtures.js).
func nodeWire(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/node-wire.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(m[name])
	if err != nil || len(b) == 0 {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return b
}

func TestDecodeNodeBroadcast(t *testing.T) {
	uid, pkt, opts, err := decodeBroadcast(nodeWire(t, "broadcast"))
	if err != nil {
		t.Fatal(err)
	}
	if uid != "node1" || pkt.Namespace != "/chat" || pkt.Type != parser.BinaryEvent || pkt.Packet.Attachments != 3 {
		t.Fatalf("uid %q packet %+v", uid, pkt.Packet)
	}
	want := `["ev",1,-3,1.5,1099511627776,"é<>",null,true,` +
		`{"a":{"_placeholder":true,"num":0},"nested":[{"_placeholder":true,"num":1}]},` +
		`"2024-01-02T03:04:05.678Z",{"_placeholder":true,"num":2}]`
	if string(pkt.Data) != want {
		t.Fatalf("data\n got %s\nwant %s", pkt.Data, want)
	}
	if len(pkt.Attachments) != 3 || !bytes.Equal(pkt.Attachments[0], []byte{1, 2}) ||
		len(pkt.Attachments[1]) != 0 || !bytes.Equal(pkt.Attachments[2], []byte{9, 8}) {
		t.Fatalf("attachments %v", pkt.Attachments)
	}
	if !slices.Equal(opts.Rooms, []string{"r1"}) || !slices.Equal(opts.Except, []string{"x"}) ||
		!opts.Flags.Volatile || opts.Flags.Timeout != 1500*time.Millisecond {
		t.Fatalf("opts %+v", opts)
	}
	// The packet decodes as a valid Socket.IO packet once encoded.
	if _, err := parser.Decode(pkt.Encode(), nil); err != nil {
		t.Fatalf("re-encoded packet: %v", err)
	}

	_, pkt, _, err = decodeBroadcast(nodeWire(t, "broadcastNoNsp"))
	if err != nil || pkt.Namespace != "/" || pkt.Type != parser.Event || string(pkt.Data) != `["plain"]` {
		t.Fatalf("packet without nsp: %+v, %v", pkt, err)
	}
}

func TestDecodeNodeAckMessages(t *testing.T) {
	req, err := decodeRequest(nodeWire(t, "ackBroadcastRequest"))
	if err != nil {
		t.Fatal(err)
	}
	if req.UID != "node1" || req.RequestID != "req1" || req.Type != reqBroadcast || !req.hasPacket {
		t.Fatalf("request %+v", req)
	}
	if string(req.packet.Data) != `["question",{"_placeholder":true,"num":0}]` || string(req.packet.Attachments[0]) != "q" {
		t.Fatalf("packet %s %q", req.packet.Data, req.packet.Attachments)
	}
	if !slices.Equal(req.Opts.Rooms, []string{"r"}) || req.flags.Timeout != 2*time.Second {
		t.Fatalf("opts %+v flags %+v", req.Opts, req.flags)
	}

	resp, err := decodeResponse(nodeWire(t, "ackResponse"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.RequestID != "req1" || resp.Type == nil || *resp.Type != reqBroadcastAck || resp.ack == nil {
		t.Fatalf("response %+v", resp)
	}
	if string(resp.ack.Args) != `[{"ok":true,"bin":{"_placeholder":true,"num":0}}]` || string(resp.ack.Attachments[0]) != "\x07" {
		t.Fatalf("ack %s %q", resp.ack.Args, resp.ack.Attachments)
	}
}

func TestBroadcastRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		data string
		atts [][]byte
		// want and wantAtts, when set, are the expected result: numbers
		// are written as JavaScript writes them, attachments renumbered
		// in order of appearance.
		want     string
		wantAtts [][]byte
	}{
		{name: "plain", data: `["ev"]`},
		{name: "values", data: `["ev",0,-1,127,128,-129,65536,4294967296,-9007199254740993,18446744073709551615,0.1,-2.5e-7,1e300,"",` +
			`"\u0000\u2028\"\\",[],{},{"b":1,"a":[null,false]}]`,
			want: `["ev",0,-1,127,128,-129,65536,4294967296,-9007199254740993,18446744073709551615,0.1,-2.5e-7,1e+300,"",` +
				`"\u0000\u2028\"\\",[],{},{"b":1,"a":[null,false]}]`},
		{name: "binary", data: `["ev",{"_placeholder":true,"num":1},[{"x":{"_placeholder":true,"num":0}}]]`, atts: [][]byte{{0}, {1, 2, 3}},
			want: `["ev",{"_placeholder":true,"num":0},[{"x":{"_placeholder":true,"num":1}}]]`, wantAtts: [][]byte{{1, 2, 3}, {0}}},
		{name: "empty binary", data: `["ev",{"_placeholder":true,"num":0}]`, atts: [][]byte{nil}},
		{name: "placeholder-like object kept", data: `["ev",{"_placeholder":false,"num":0}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: "/x", Data: []byte(tc.data)}, Attachments: tc.atts}
			opts := adapter.BroadcastOptions{Rooms: []string{"a", "b"}, Except: []string{"c"}, Flags: adapter.Flags{NoCompress: true, Timeout: time.Second}}
			msg, err := encodeBroadcast("me", pkt, opts)
			if err != nil {
				t.Fatal(err)
			}
			uid, got, gotOpts, err := decodeBroadcast(msg)
			if err != nil {
				t.Fatal(err)
			}
			want, wantAtts := tc.want, tc.wantAtts
			if want == "" {
				want, wantAtts = tc.data, tc.atts
			}
			if uid != "me" || got.Namespace != "/x" || string(got.Data) != want {
				t.Fatalf("got %q %q %s", uid, got.Namespace, got.Data)
			}
			if len(got.Attachments) != len(wantAtts) {
				t.Fatalf("attachments %v", got.Attachments)
			}
			for i := range wantAtts {
				if !bytes.Equal(got.Attachments[i], wantAtts[i]) {
					t.Fatalf("attachment %d: %v", i, got.Attachments[i])
				}
			}
			if !slices.Equal(gotOpts.Rooms, opts.Rooms) || !slices.Equal(gotOpts.Except, opts.Except) ||
				!gotOpts.Flags.NoCompress || gotOpts.Flags.Timeout != time.Second {
				t.Fatalf("opts %+v", gotOpts)
			}
		})
	}
}

func TestEncodeBroadcastShape(t *testing.T) {
	// The reference expects [uid, {type, data, nsp}, {rooms, except, flags}]
	// with a plain EVENT type (2) even for binary payloads.
	pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.BinaryEvent, Namespace: "/", Attachments: 1,
		Data: []byte(`["b",{"_placeholder":true,"num":0}]`)}, Attachments: [][]byte{{5}}}
	msg, err := encodeBroadcast("u", pkt, adapter.BroadcastOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var v []any
	if err := msgpack.Unmarshal(msg, &v); err != nil {
		t.Fatal(err)
	}
	p := v[1].(map[string]any)
	if p["type"] != int8(2) || p["nsp"] != "/" {
		t.Fatalf("packet %#v", p)
	}
	data := p["data"].([]any)
	if data[0] != "b" || !bytes.Equal(data[1].([]byte), []byte{5}) {
		t.Fatalf("data %#v", data)
	}
	o := v[2].(map[string]any)
	if len(o["rooms"].([]any)) != 0 || len(o["except"].([]any)) != 0 || len(o["flags"].(map[string]any)) != 0 {
		t.Fatalf("opts %#v", o)
	}
}

func TestEncodeRejectsBadPayload(t *testing.T) {
	for _, tc := range []struct {
		data string
		atts [][]byte
	}{
		{`["ev",`, nil},
		{`["ev",{"_placeholder":true,"num":1}]`, [][]byte{{1}}},
		{`["ev",{"_placeholder":true,"num":-1}]`, [][]byte{{1}}},
		{`["ev"] x`, nil},
	} {
		pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: "/", Data: []byte(tc.data)}, Attachments: tc.atts}
		if _, err := encodeBroadcast("u", pkt, adapter.BroadcastOptions{}); err == nil {
			t.Errorf("%s: no error", tc.data)
		}
	}
}

func TestHandshakeWire(t *testing.T) {
	h := &adapter.Handshake{
		Headers: map[string][]string{"User-Agent": {"ua"}, "Set-Cookie": {"a=1", "b=2"}},
		Query:   map[string][]string{"EIO": {"4"}, "x": {"1", "2"}},
		Time:    "Mon, 01 Jan 2024 00:00:00 UTC",
		Address: "127.0.0.1",
		Issued:  1704067200000,
		URL:     "/socket.io/?EIO=4",
		Secure:  true,
		XDomain: true,
	}
	b, err := json.Marshal(clusterwire.ToHandshake(h))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	headers := m["headers"].(map[string]any)
	if headers["user-agent"] != "ua" || len(headers["set-cookie"].([]any)) != 2 {
		t.Fatalf("headers on the wire %v", headers)
	}
	if q := m["query"].(map[string]any); q["EIO"] != "4" || len(q["x"].([]any)) != 2 {
		t.Fatalf("query on the wire %v", q)
	}
	if string(mustJSON(m["auth"])) != "{}" || m["issued"] != 1704067200000.0 {
		t.Fatalf("auth %v issued %v", m["auth"], m["issued"])
	}
	var w clusterwire.Handshake
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	back := w.Adapter()
	if back.Headers["User-Agent"][0] != "ua" || !slices.Equal(back.Headers["Set-Cookie"], []string{"a=1", "b=2"}) ||
		!slices.Equal(back.Query["x"], []string{"1", "2"}) || back.Issued != h.Issued || !back.Secure || !back.XDomain ||
		back.URL != h.URL || back.Time != h.Time || back.Address != h.Address {
		t.Fatalf("round trip %+v", back)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"socket.io#/#*", "socket.io#/#", true},
		{"socket.io#/#*", "socket.io#/#room#", true},
		{"socket.io#/#*", "socket.io#/chat#", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a[bx]c", "axc", true},
		{"a[^bx]c", "abc", false},
		{"a[a-c]d", "abd", true},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"*", "", true},
		{"a**b", "ab", true},
	} {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func FuzzDecodeMessages(f *testing.F) {
	for _, name := range []string{"broadcast", "broadcastNoNsp", "ackBroadcastRequest", "ackResponse"} {
		raw, _ := os.ReadFile("testdata/node-wire.json")
		var m map[string]string
		_ = json.Unmarshal(raw, &m)
		b, _ := hex.DecodeString(m[name])
		f.Add(b)
		if len(b) > 3 {
			f.Add(b[:len(b)/2])
		}
	}
	f.Add([]byte(`{"uid":"x","requestId":"r","type":5,"opts":{"rooms":["a"],"except":[]}}`))
	f.Add([]byte(`{"requestId":"r","sockets":[{"id":"s","handshake":{"headers":{"a":"b"}},"rooms":["s"],"data":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, pkt, _, err := decodeBroadcast(b); err == nil {
			if _, err := parser.Decode(pkt.Encode(), &parser.DecodeOptions{MaxAttachments: len(pkt.Attachments) + 1}); err != nil {
				t.Fatalf("decoded packet does not re-decode: %v", err)
			}
		}
		_, _ = decodeRequest(b)
		_, _ = decodeResponse(b)
	})
}

func BenchmarkBroadcastEncode(b *testing.B) {
	pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: "/chat",
		Data: []byte(`["message",{"id":12345,"room":"general","user":"someone","text":"hello there, how is it going?","ts":1700000000000}]`)}}
	opts := adapter.BroadcastOptions{Rooms: []string{"general"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeBroadcast("node", pkt, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBroadcastDecode(b *testing.B) {
	pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: "/chat",
		Data: []byte(`["message",{"id":12345,"room":"general","user":"someone","text":"hello there, how is it going?","ts":1700000000000}]`)}}
	msg, err := encodeBroadcast("node", pkt, adapter.BroadcastOptions{Rooms: []string{"general"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := decodeBroadcast(msg); err != nil {
			b.Fatal(err)
		}
	}
}
