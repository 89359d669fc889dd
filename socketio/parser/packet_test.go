package parser

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	ph0 = `{"_placeholder":true,"num":0}`
	ph1 = `{"_placeholder":true,"num":1}`
)

// validPackets pairs the text of a packet with its decoded form. The text is
// also what Encode must produce from the packet. It holds every example of
// the protocol specification and the Socket.IO frames of the conformance
// suite (S1-S13, without the Engine.IO "4" prefix), in both directions.
var validPackets = []struct {
	name string
	text string
	p    Packet
}{
	// Protocol specification, "Packet encoding".
	{"spec connect main", `0`, Packet{Type: Connect, Namespace: "/"}},
	{"spec connect reply", `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`, Packet{Type: Connect, Namespace: "/", Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}},
	{"spec connect admin", `0/admin,`, Packet{Type: Connect, Namespace: "/admin"}},
	{"spec connect admin reply", `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, Packet{Type: Connect, Namespace: "/admin", Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}},
	{"spec connect error", `4{"message":"Not authorized"}`, Packet{Type: ConnectError, Namespace: "/", Data: []byte(`{"message":"Not authorized"}`)}},
	{"spec event", `2["foo"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["foo"]`)}},
	{"spec event admin", `2/admin,["bar"]`, Packet{Type: Event, Namespace: "/admin", Data: []byte(`["bar"]`)}},
	{"spec binary event", `51-["baz",` + ph0 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: 1, Data: []byte(`["baz",` + ph0 + `]`)}},
	{"spec binary event admin", `52-/admin,["baz",` + ph0 + `,` + ph1 + `]`, Packet{Type: BinaryEvent, Namespace: "/admin", Attachments: 2, Data: []byte(`["baz",` + ph0 + `,` + ph1 + `]`)}},
	{"spec event ack id", `212["foo"]`, Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: []byte(`["foo"]`)}},
	{"spec ack empty", `312[]`, Packet{Type: Ack, Namespace: "/", ID: 12, HasID: true, Data: []byte(`[]`)}},
	{"spec event admin ack id", `2/admin,13["foo"]`, Packet{Type: Event, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["foo"]`)}},
	{"spec ack admin", `3/admin,13["bar"]`, Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["bar"]`)}},
	{"spec binary event ack id", `51-14["foo",` + ph0 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: 1, ID: 14, HasID: true, Data: []byte(`["foo",` + ph0 + `]`)}},
	{"spec ack 14", `314["bar"]`, Packet{Type: Ack, Namespace: "/", ID: 14, HasID: true, Data: []byte(`["bar"]`)}},
	{"spec binary ack", `61-15["bar",` + ph0 + `]`, Packet{Type: BinaryAck, Namespace: "/", Attachments: 1, ID: 15, HasID: true, Data: []byte(`["bar",` + ph0 + `]`)}},
	{"spec disconnect", `1`, Packet{Type: Disconnect, Namespace: "/"}},
	{"spec disconnect admin", `1/admin,`, Packet{Type: Disconnect, Namespace: "/admin"}},
	{"spec sample hey", `2["hey","Jude"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["hey","Jude"]`)}},

	// Conformance suite, client frames and server answers.
	{"S1 reply", `0{"sid":"abc"}`, Packet{Type: Connect, Namespace: "/", Data: []byte(`{"sid":"abc"}`)}},
	{"S1 auth", `2["auth",{}]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["auth",{}]`)}},
	{"S2", `0{"token":"123"}`, Packet{Type: Connect, Namespace: "/", Data: []byte(`{"token":"123"}`)}},
	{"S2 auth", `2["auth",{"token":"123"}]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["auth",{"token":"123"}]`)}},
	{"S3", `0/custom,`, Packet{Type: Connect, Namespace: "/custom"}},
	{"S3 reply", `0/custom,{"sid":"abc"}`, Packet{Type: Connect, Namespace: "/custom", Data: []byte(`{"sid":"abc"}`)}},
	{"S3 auth", `2/custom,["auth",{}]`, Packet{Type: Event, Namespace: "/custom", Data: []byte(`["auth",{}]`)}},
	{"S4", `0/custom,{"token":"abc"}`, Packet{Type: Connect, Namespace: "/custom", Data: []byte(`{"token":"abc"}`)}},
	{"S4 auth", `2/custom,["auth",{"token":"abc"}]`, Packet{Type: Event, Namespace: "/custom", Data: []byte(`["auth",{"token":"abc"}]`)}},
	{"S5 reply", `4/random,{"message":"Invalid namespace"}`, Packet{Type: ConnectError, Namespace: "/random", Data: []byte(`{"message":"Invalid namespace"}`)}},
	{"S9 main", `2["message","message to main namespace"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["message","message to main namespace"]`)}},
	{"S9 reply", `2["message-back","message to main namespace"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["message-back","message to main namespace"]`)}},
	{"S10", `2["message",1,"2",{"3":[true]}]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["message",1,"2",{"3":[true]}]`)}},
	{"S10 reply", `2["message-back",1,"2",{"3":[true]}]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["message-back",1,"2",{"3":[true]}]`)}},
	{"S11", `52-["message",` + ph0 + `,` + ph1 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: 2, Data: []byte(`["message",` + ph0 + `,` + ph1 + `]`)}},
	{"S11 reply", `52-["message-back",` + ph0 + `,` + ph1 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: 2, Data: []byte(`["message-back",` + ph0 + `,` + ph1 + `]`)}},
	{"S12", `2456["message-with-ack",1,"2",{"3":[false]}]`, Packet{Type: Event, Namespace: "/", ID: 456, HasID: true, Data: []byte(`["message-with-ack",1,"2",{"3":[false]}]`)}},
	{"S12 reply", `3456[1,"2",{"3":[false]}]`, Packet{Type: Ack, Namespace: "/", ID: 456, HasID: true, Data: []byte(`[1,"2",{"3":[false]}]`)}},
	{"S13", `52-789["message-with-ack",` + ph0 + `,` + ph1 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: 2, ID: 789, HasID: true, Data: []byte(`["message-with-ack",` + ph0 + `,` + ph1 + `]`)}},
	{"S13 reply", `62-789[` + ph0 + `,` + ph1 + `]`, Packet{Type: BinaryAck, Namespace: "/", Attachments: 2, ID: 789, HasID: true, Data: []byte(`[` + ph0 + `,` + ph1 + `]`)}},

	// Other accepted forms.
	{"numeric event name", `2[1,2]`, Packet{Type: Event, Namespace: "/", Data: []byte(`[1,2]`)}},
	{"negative event name", `2[-1]`, Packet{Type: Event, Namespace: "/", Data: []byte(`[-1]`)}},
	{"connect error string", `4"nope"`, Packet{Type: ConnectError, Namespace: "/", Data: []byte(`"nope"`)}},
	{"binary zero attachments", `50-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`)}},
	{"binary ten attachments", `610-/x,0[]`, Packet{Type: BinaryAck, Namespace: "/x", Attachments: 10, ID: 0, HasID: true, Data: []byte(`[]`)}},
	{"max ack id", `218446744073709551615["a"]`, Packet{Type: Event, Namespace: "/", ID: 18446744073709551615, HasID: true, Data: []byte(`["a"]`)}},
	{"namespace and id", `2/chat,7["x",{"a":[1,{"b":"]"}]}]`, Packet{Type: Event, Namespace: "/chat", ID: 7, HasID: true, Data: []byte(`["x",{"a":[1,{"b":"]"}]}]`)}},
	{"reserved name as argument", `2["msg","connect"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["msg","connect"]`)}},
	{"connect with an id (the reference accepts it)", `0/a,1`, Packet{Type: Connect, Namespace: "/a", ID: 1, HasID: true}},
	{"unicode namespace", `0/é,`, Packet{Type: Connect, Namespace: "/é"}},
}

// decodeOnly are accepted inputs whose encoding differs from the input
// (Encode writes the canonical form).
var decodeOnly = []struct {
	name, text, canonical string
	p                     Packet
}{
	{"S9 connect without comma", `0/custom`, `0/custom,`, Packet{Type: Connect, Namespace: "/custom"}},
	{"S9 disconnect without comma", `1/custom`, `1/custom,`, Packet{Type: Disconnect, Namespace: "/custom"}},
	{"S5 connect without comma", `0/random`, `0/random,`, Packet{Type: Connect, Namespace: "/random"}},
	{"explicit main namespace", `2/,["a"]`, `2["a"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["a"]`)}},
	{"bare slash", `0/`, `0`, Packet{Type: Connect, Namespace: "/"}},
	{"leading zeros", `5002-007["a",` + ph0 + `]`, `52-7["a",` + ph0 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: 2, ID: 7, HasID: true, Data: []byte(`["a",` + ph0 + `]`)}},
	{"white space in payload", "2 [ \"a\" , 1 ]\n", "2 [ \"a\" , 1 ]\n", Packet{Type: Event, Namespace: "/", Data: []byte(" [ \"a\" , 1 ]\n")}},
	{"escaped name", `2["conn\u0065cted"]`, `2["conn\u0065cted"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["conn\u0065cted"]`)}},
}

// invalidPackets are rejected inputs with the error they must match.
var invalidPackets = []struct {
	name string
	text string
	err  error
}{
	{"empty", ``, ErrInvalidType},
	{"S6/S14 unknown type", `abc`, ErrInvalidType},
	{"type 7", `7["a"]`, ErrInvalidType},
	{"type 9", `9`, ErrInvalidType},
	{"S15 event object", `2{}`, ErrInvalidPayload},
	{"S16 letters as ack id", `2abc["message-with-ack",1,"2",{"3":[false]}]`, ErrInvalidAckID},
	{"empty event array", `2[]`, ErrInvalidPayload},
	{"event name true", `2[true]`, ErrInvalidPayload},
	{"event name null", `2[null]`, ErrInvalidPayload},
	{"event name object", `2[{}]`, ErrInvalidPayload},
	{"event name array", `2[["a"]]`, ErrInvalidPayload},
	{"event without payload", `2`, ErrInvalidPayload},
	{"event string payload", `2"a"`, ErrInvalidPayload},
	{"reserved connect", `2["connect"]`, ErrInvalidPayload},
	{"reserved connect_error", `2["connect_error"]`, ErrInvalidPayload},
	{"reserved disconnect", `2["disconnect"]`, ErrInvalidPayload},
	{"reserved disconnecting", `2/a,["disconnecting",1]`, ErrInvalidPayload},
	{"reserved newListener", `21["newListener"]`, ErrInvalidPayload},
	{"reserved removeListener", `51-["removeListener",` + ph0 + `]`, ErrInvalidPayload},
	{"reserved escaped", `2["conn\u0065ct"]`, ErrInvalidPayload},
	{"trailing bytes", `2["a"]x`, ErrInvalidPayload},
	{"two payloads", `2["a"]["b"]`, ErrInvalidPayload},
	{"truncated JSON", `2["a"`, ErrInvalidPayload},
	{"space only payload", `0 `, ErrInvalidPayload},
	{"connect array", `0[]`, ErrInvalidPayload},
	{"connect string", `0"a"`, ErrInvalidPayload},
	{"connect null", `0null`, ErrInvalidPayload},
	{"connect number after id", `0/a,1 2`, ErrInvalidPayload},
	{"disconnect payload", `1{}`, ErrInvalidPayload},
	{"disconnect namespace payload", `1/a,{}`, ErrInvalidPayload},
	{"connect error absent", `4`, ErrInvalidPayload},
	{"connect error array", `4[]`, ErrInvalidPayload},
	{"connect error number", `4/a,5`, ErrInvalidPayload},
	{"ack object", `31{}`, ErrInvalidPayload},
	{"ack without payload", `31`, ErrInvalidPayload},
	{"ack without id", `3[]`, ErrInvalidAckID},
	{"binary ack without id", `61-[` + ph0 + `]`, ErrInvalidAckID},
	{"ack id overflow", `218446744073709551616["a"]`, ErrInvalidAckID},
	{"ack id far overflow", `299999999999999999999999["a"]`, ErrInvalidAckID},
	{"binary without count", `5["a"]`, ErrInvalidAttachments},
	{"binary without dash", `51["a"]`, ErrInvalidAttachments},
	{"binary dash only", `5-["a"]`, ErrInvalidAttachments},
	{"binary count only", `52`, ErrInvalidAttachments},
	{"binary type only", `6`, ErrInvalidAttachments},
	{"binary bad count", `51x-["a"]`, ErrInvalidAttachments},
	{"binary negative count", `5-1-["a"]`, ErrInvalidAttachments},
	{"too many attachments", `511-["a"]`, ErrTooManyAttachments},
	{"huge attachment count", `5999999999999999999999999-["a"]`, ErrTooManyAttachments},
	{"namespace invalid utf-8", "0/\xff,", ErrInvalidNamespace},
	{"namespace without comma swallows payload", `2/a["b"]`, ErrInvalidPayload},
}

func packetEqual(a, b Packet) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.ID == b.ID &&
		a.HasID == b.HasID && a.Attachments == b.Attachments &&
		bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

func TestDecodeValid(t *testing.T) {
	for _, tc := range validPackets {
		got, err := Decode([]byte(tc.text), nil)
		if err != nil {
			t.Errorf("%s: Decode(%q): %v", tc.name, tc.text, err)
			continue
		}
		if !packetEqual(got, tc.p) {
			t.Errorf("%s: Decode(%q) = %+v, want %+v", tc.name, tc.text, got, tc.p)
		}
	}
	for _, tc := range decodeOnly {
		got, err := Decode([]byte(tc.text), nil)
		if err != nil {
			t.Errorf("%s: Decode(%q): %v", tc.name, tc.text, err)
			continue
		}
		if !packetEqual(got, tc.p) {
			t.Errorf("%s: Decode(%q) = %+v, want %+v", tc.name, tc.text, got, tc.p)
		}
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range validPackets {
		if got := string(tc.p.Encode()); got != tc.text {
			t.Errorf("%s: Encode = %q, want %q", tc.name, got, tc.text)
		}
	}
	for _, tc := range decodeOnly {
		if got := string(tc.p.Encode()); got != tc.canonical {
			t.Errorf("%s: Encode = %q, want %q", tc.name, got, tc.canonical)
		}
	}
	// An empty namespace is the main namespace.
	p := Packet{Type: Event, Data: []byte(`["a"]`)}
	if got := string(p.Encode()); got != `2["a"]` {
		t.Errorf("empty namespace: Encode = %q", got)
	}
	// Attachments are written only for the binary types.
	p = Packet{Type: Ack, Namespace: "/", Attachments: 3, HasID: true, ID: 1, Data: []byte(`[]`)}
	if got := string(p.Encode()); got != `31[]` {
		t.Errorf("non-binary with attachments: Encode = %q", got)
	}
}

func TestAppendPacket(t *testing.T) {
	p := Packet{Type: BinaryAck, Namespace: "/admin", Attachments: 2, ID: 789, HasID: true, Data: []byte(`[` + ph0 + `,` + ph1 + `]`)}
	got := AppendPacket([]byte("4"), &p)
	want := `462-/admin,789[` + ph0 + `,` + ph1 + `]`
	if string(got) != want {
		t.Fatalf("AppendPacket = %q, want %q", got, want)
	}
	// Encode allocates once, with enough room.
	if n := testing.AllocsPerRun(100, func() { _ = p.Encode() }); n != 1 {
		t.Errorf("Encode allocations = %v, want 1", n)
	}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = AppendPacket(buf[:0], &p) }); n != 0 {
		t.Errorf("AppendPacket into a large enough buffer allocations = %v, want 0", n)
	}
}

func TestDecodeInvalid(t *testing.T) {
	for _, tc := range invalidPackets {
		p, err := Decode([]byte(tc.text), nil)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: Decode(%q) = %+v, %v; want error %v", tc.name, tc.text, p, err, tc.err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.err.Error()) || err.Error() == tc.err.Error() {
			t.Errorf("%s: error %q does not add detail to %q", tc.name, err, tc.err)
		}
		if !packetEqual(p, Packet{}) {
			t.Errorf("%s: Decode returned %+v with its error, want the zero Packet", tc.name, p)
		}
	}
}

func TestDecodeMaxAttachments(t *testing.T) {
	in := []byte(`512-["a"]`)
	if _, err := Decode(in, nil); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("default limit: err = %v", err)
	}
	if _, err := Decode(in, &DecodeOptions{}); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("zero limit means the default: err = %v", err)
	}
	if _, err := Decode(in, &DecodeOptions{MaxAttachments: 11}); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("limit 11: err = %v", err)
	}
	p, err := Decode(in, &DecodeOptions{MaxAttachments: 12})
	if err != nil || p.Attachments != 12 {
		t.Errorf("limit 12: %+v, %v", p, err)
	}
	if _, err := Decode([]byte(`52-["a"]`), &DecodeOptions{MaxAttachments: 1}); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("limit 1: err = %v", err)
	}
	if _, err := Decode([]byte(`510-["a"]`), nil); err != nil {
		t.Errorf("10 attachments with the default limit: %v", err)
	}
}

func TestDecodeAliasesInput(t *testing.T) {
	in := []byte(`2/chat,3["a","b"]`)
	p, err := Decode(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &p.Data[0] != &in[8] {
		t.Fatal("Data does not alias the input")
	}
	if cap(p.Data) != len(p.Data) {
		t.Errorf("cap(Data) = %d, want %d so appends cannot clobber the input", cap(p.Data), len(p.Data))
	}
	// The namespace is a string of its own: changing the input leaves it.
	in[3] = 'X'
	if p.Namespace != "/chat" {
		t.Errorf("Namespace changed with the input: %q", p.Namespace)
	}
	// Decoding a main-namespace event allocates nothing.
	ev := []byte(`2["message",1,"2",{"3":[true]}]`)
	if n := testing.AllocsPerRun(100, func() { _, _ = Decode(ev, nil) }); n != 0 && !raceEnabled {
		t.Errorf("Decode allocations = %v, want 0", n)
	}
}

func TestTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, w)
		}
	}
	if got := Type(7).String(); got != "Type(7)" {
		t.Errorf("Type(7).String() = %q", got)
	}
	for typ := Type(0); typ < 10; typ++ {
		if got, want := typ.IsBinary(), typ == BinaryEvent || typ == BinaryAck; got != want {
			t.Errorf("%v.IsBinary() = %v", typ, got)
		}
	}
}

func TestIsReservedEvent(t *testing.T) {
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReservedEvent(name) {
			t.Errorf("IsReservedEvent(%q) = false", name)
		}
	}
	for _, name := range []string{"", "message", "Connect", "connected", "newlistener", "error", "ping"} {
		if IsReservedEvent(name) {
			t.Errorf("IsReservedEvent(%q) = true", name)
		}
	}
}
