package redisstreams

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// Encodings made by the reference's MessagePack library (@msgpack/msgpack
// 2.8), base64 as in the stream and the sessions.
const (
	// The data of a binary broadcast: {packet: {type: 2, data: ["bin",
	// <01 02 03>, {k: "v"}], nsp: "/"}, opts: {rooms: ["r1"], except:
	// ["x"], flags: {volatile: true}}}.
	nodeBinaryBroadcast = "gqZwYWNrZXSDpHR5cGUCpGRhdGGTo2JpbsQDAQIDgaFroXajbnNwoS+kb3B0c4Olcm9vbXORonIxpmV4Y2VwdJGheKVmbGFnc4Godm9sYXRpbGXD"
	// A fetchSockets request: {uid: "node1", nsp: "/", type: 7, data:
	// {opts: {rooms: ["r1"], except: [], flags: {}}, requestId: "abc"}}.
	nodeFetchRequest = "hKN1aWSlbm9kZTGjbnNwoS+kdHlwZQekZGF0YYKkb3B0c4Olcm9vbXORonIxpmV4Y2VwdJClZmxhZ3OAqXJlcXVlc3RJZKNhYmM="
	// A session: {sid: "s1", pid: "p1", rooms: ["s1", "r"], data: {user:
	// "ann", n: 1.5}}.
	nodeSession = "hKNzaWSiczGjcGlkonAxpXJvb21zkqJzMaFypGRhdGGCpHVzZXKjYW5uoW7LP/gAAAAAAAA="
)

func TestDecodeNodeEntries(t *testing.T) {
	// A plain broadcast, as JSON.stringify writes it.
	m, err := decodeEntry(map[string]any{"uid": "n", "nsp": "/", "type": "3",
		"data": `{"packet":{"type":2,"data":["ev",1,{"a":null}],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{"timeout":1500}}}`})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.data.Get("packet")
	pkt, err := clusterwire.TreePacket(p, "/")
	if err != nil || string(pkt.Data) != `["ev",1,{"a":null}]` || len(pkt.Attachments) != 0 {
		t.Fatalf("packet %s %v", pkt.Data, err)
	}
	o, _ := m.data.Get("opts")
	if opts := clusterwire.TreeOpts(o); !slices.Equal(opts.Rooms, []string{"r"}) || opts.Flags.Timeout.Milliseconds() != 1500 {
		t.Fatalf("opts %+v", opts)
	}

	// A binary one, base64 MessagePack.
	m, err = decodeEntry(map[string]any{"uid": "n", "nsp": "/", "type": "3", "data": nodeBinaryBroadcast})
	if err != nil {
		t.Fatal(err)
	}
	p, _ = m.data.Get("packet")
	pkt, err = clusterwire.TreePacket(p, "/")
	if err != nil || string(pkt.Data) != `["bin",{"_placeholder":true,"num":0},{"k":"v"}]` || string(pkt.Attachments[0]) != "\x01\x02\x03" {
		t.Fatalf("packet %s %v %v", pkt.Data, pkt.Attachments, err)
	}
	o, _ = m.data.Get("opts")
	if opts := clusterwire.TreeOpts(o); !opts.Flags.Volatile || !slices.Equal(opts.Except, []string{"x"}) {
		t.Fatalf("opts %+v", opts)
	}

	b, _ := base64.StdEncoding.DecodeString(nodeFetchRequest)
	req, err := decodeMessage(b)
	if err != nil || req.uid != "node1" || req.typ != typeFetchSockets {
		t.Fatalf("request %+v %v", req, err)
	}
	if id, _ := req.data.GetString("requestId"); id != "abc" {
		t.Fatalf("request id %q", id)
	}

	a := &Adapter{opts: Options{}.withDefaults()}
	s, err := a.decodeSession(nodeSession)
	if err != nil || s.SID != "s1" || s.PID != "p1" || !slices.Equal(s.Rooms, []string{"s1", "r"}) {
		t.Fatalf("session %+v %v", s, err)
	}
	if d := s.Data.(map[string]any); d["user"] != "ann" || d["n"] != 1.5 {
		t.Fatalf("session data %#v", s.Data)
	}
}

func TestEncodeEntries(t *testing.T) {
	// Without binary values the data is JSON, as the reference writes it.
	pkt := event("/", `["ev","x"]`)
	d, err := clusterwire.BroadcastData(pkt, adapter.BroadcastOptions{Rooms: []string{"r"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	fields, err := entryFields(&message{uid: "u", nsp: "/", typ: typeBroadcast, data: d})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"uid", "u", "nsp", "/", "type", "3", "data",
		`{"packet":{"type":2,"data":["ev","x"],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields\n %v\nwant\n %v", fields, want)
	}
	// With them, base64 MessagePack, byte for byte the reference's.
	bin := event("/", `["bin",{"_placeholder":true,"num":0},{"k":"v"}]`)
	bin.Attachments = [][]byte{{1, 2, 3}}
	d, err = clusterwire.BroadcastData(bin, adapter.BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"x"}, Flags: adapter.Flags{Volatile: true}}, "")
	if err != nil {
		t.Fatal(err)
	}
	fields, _ = entryFields(&message{uid: "u", nsp: "/", typ: typeBroadcast, data: d})
	if fields[7] != nodeBinaryBroadcast {
		t.Fatalf("binary data %v, want %s", fields[7], nodeBinaryBroadcast)
	}
	// Sessions too.
	value, err := encodeSession(adapter.RecoverySession{SID: "s1", PID: "p1", Rooms: []string{"s1", "r"}, Data: jsvalueObject("user", "ann", "n", 1.5)})
	if err != nil || value != nodeSession {
		t.Fatalf("session %s, want %s (%v)", value, nodeSession, err)
	}
	// And the round trip of an entry.
	m, err := decodeEntry(map[string]any{"uid": fields[1], "nsp": fields[3], "type": fields[5], "data": fields[7]})
	if err != nil || m.uid != "u" || m.typ != typeBroadcast {
		t.Fatalf("round trip %+v %v", m, err)
	}
}

// jsvalueObject returns a value whose JSON is the object of the key/value
// pairs, in order (a map would sort its keys).
func jsvalueObject(kv ...any) orderedJSON {
	o := &jsvalue.Object{}
	for i := 0; i < len(kv); i += 2 {
		v := kv[i+1]
		if f, ok := v.(float64); ok {
			v = f
		}
		o.Set(kv[i].(string), v)
	}
	return orderedJSON{o}
}

type orderedJSON struct{ o *jsvalue.Object }

func (j orderedJSON) MarshalJSON() ([]byte, error) {
	text, _, err := jsvalue.JSON(j.o)
	return text, err
}

func TestStreamIDs(t *testing.T) {
	for _, bad := range []string{"", "1", "1-", "-1", "a-1", "1-2-3", "1-+2", "99999999999999999999-0"} {
		if _, ok := parseID(bad); ok {
			t.Errorf("parseID(%q) accepted", bad)
		}
	}
	id, ok := parseID("1700000000000-7")
	if !ok || id.String() != "1700000000000-7" || id.next().String() != "1700000000000-8" || !id.less(id.next()) {
		t.Fatalf("id %v", id)
	}
	if got := string(appendOffset([]byte(`["e"]`), "1-2")); got != `["e","1-2"]` {
		t.Fatalf("appendOffset %s", got)
	}
	o := Options{StreamName: "s", StreamCount: 3}
	// The reference's hashCode("/") is 47, and 47 % 3 is 2.
	if got := o.streamOf("/"); got != "s-2" {
		t.Fatalf("stream of / %s", got)
	}
}

// FuzzDecodeEntry feeds arbitrary entry data, JSON or base64 MessagePack,
// to the decoders of entries, packets, options and sessions: they must
// never panic, and a packet they accept must be a valid event.
func FuzzDecodeEntry(f *testing.F) {
	f.Add("3", `{"packet":{"type":2,"data":["ev",1],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`)
	f.Add("3", nodeBinaryBroadcast)
	f.Add("4", `{"opts":{"rooms":["r"],"except":[],"flags":{}},"rooms":["x"]}`)
	f.Add("6", `{"opts":{"rooms":[],"except":[]},"close":true}`)
	f.Add("7", nodeFetchRequest)
	f.Add("3", nodeSession)
	a := &Adapter{opts: Options{}.withDefaults()}
	f.Fuzz(func(t *testing.T, typ, data string) {
		_, _ = a.decodeSession(data)
		if b, err := base64.StdEncoding.DecodeString(data); err == nil {
			_, _ = decodeMessage(b)
		}
		m, err := decodeEntry(map[string]any{"uid": "u", "nsp": "/", "type": typ, "data": data})
		if err != nil || m.data == nil {
			return
		}
		o, _ := m.data.Get("opts")
		_ = clusterwire.TreeOpts(o)
		_ = clusterwire.StringList(m.data, "rooms")
		p, _ := m.data.Get("packet")
		pkt, err := clusterwire.TreePacket(p, "/")
		if err != nil {
			return
		}
		if len(pkt.Data) < 2 || pkt.Data[0] != '[' || pkt.Packet.Attachments != len(pkt.Attachments) {
			t.Fatalf("accepted packet %q with %d attachments", pkt.Data, len(pkt.Attachments))
		}
		if got := appendOffset(pkt.Data, "1-1"); got[len(got)-1] != ']' {
			t.Fatalf("appendOffset %q", got)
		}
	})
}

// broadcastJSON writes the same object as the tree of BroadcastData, for
// the packets it takes; it leaves those with attachments to the tree.
func TestBroadcastJSONMatchesTree(t *testing.T) {
	pkts := []adapter.Packet{
		{Packet: parser.Packet{Type: parser.Event, Namespace: "/", Data: []byte(`["hello"]`)}},
		{Packet: parser.Packet{Type: parser.Event, Namespace: "/user", Data: []byte(`["historyUpdate",[{"id":1,"text":"a \"quote\" </script> \u2028 é","n":1.5e300}],null,true]`)}},
		{Packet: parser.Packet{Type: parser.Event, Namespace: "/ns\"odd", Data: []byte(`["x",{"deep":{"a":[1,[2,[3]]]}}]`)}},
	}
	optss := []adapter.BroadcastOptions{
		{},
		{Rooms: []string{"r1", "sid\"x"}, Except: []string{"e"}},
		{Rooms: []string{"a"}, Flags: adapter.Flags{Volatile: true, NoCompress: true, Timeout: 1500 * time.Millisecond}},
	}
	for _, pkt := range pkts {
		for _, opts := range optss {
			text, ok := broadcastJSON(&pkt, opts)
			if !ok {
				t.Fatalf("broadcastJSON refused %s", pkt.Data)
			}
			tree, err := clusterwire.BroadcastData(&pkt, opts, "")
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := jsvalue.JSON(tree)
			if err != nil {
				t.Fatal(err)
			}
			var got, exp any
			if err := json.Unmarshal([]byte(text), &got); err != nil {
				t.Fatalf("broadcastJSON wrote invalid JSON %s: %v", text, err)
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("broadcastJSON:\n%s\nthe tree:\n%s", text, want)
			}
			// And it decodes as an entry into the same packet and options.
			m, err := decodeEntry(map[string]any{"uid": "u", "nsp": pkt.Namespace, "type": typeBroadcastField, "data": text})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := m.data.Get("packet")
			back, err := clusterwire.TreePacket(p, pkt.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := m.data.Get("opts")
			if string(back.Data) != string(want2(t, pkt.Data)) || !reflect.DeepEqual(normOpts(clusterwire.TreeOpts(o)), normOpts(opts)) {
				t.Errorf("decoded %s %+v, want %s %+v", back.Data, clusterwire.TreeOpts(o), pkt.Data, opts)
			}
		}
	}
	bin := adapter.Packet{Packet: parser.Packet{Type: parser.BinaryEvent, Namespace: "/", Data: []byte(`["b",{"_placeholder":true,"num":0}]`), Attachments: 1}, Attachments: [][]byte{{1, 2}}}
	if _, ok := broadcastJSON(&bin, adapter.BroadcastOptions{}); ok {
		t.Error("broadcastJSON took a packet with attachments")
	}
	bad := adapter.Packet{Packet: parser.Packet{Type: parser.Event, Namespace: "/", Data: []byte(`["x",`)}}
	if _, ok := broadcastJSON(&bad, adapter.BroadcastOptions{}); ok {
		t.Error("broadcastJSON took a packet whose data is not JSON")
	}
}

// want2 is data as the tree writes it back (compact JSON).
func want2(t *testing.T, data []byte) []byte {
	t.Helper()
	v, err := jsvalue.FromJSON(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := jsvalue.JSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// normOpts is o with non-nil lists, to compare options.
func normOpts(o adapter.BroadcastOptions) adapter.BroadcastOptions {
	o.Rooms = clusterwire.NonNil(o.Rooms)
	o.Except = clusterwire.NonNil(o.Except)
	return o
}
