package socketio

import (
	"encoding/json"
	"testing"

	"github.com/chatd/chatd/socketio/parser"
)

// TestConnectReply checks the CONNECT reply against json.Marshal.
func TestConnectReply(t *testing.T) {
	for _, tc := range []struct{ nsp, sid, pid string }{
		{"/", newID(), ""},
		{"/", newID(), newID()},
		{"/chat", "abc-_XYZ019", "p"},
		{"/", `a"b`, ""},
		{"/", "a<b>&", "\\"},
		{"/x", "é", "\x01"},
		{"/", "", ""},
	} {
		data, err := json.Marshal(struct {
			SID string `json:"sid"`
			PID string `json:"pid,omitempty"`
		}{tc.sid, tc.pid})
		if err != nil {
			t.Fatal(err)
		}
		want := (&parser.Packet{Type: parser.Connect, Namespace: tc.nsp, Data: data}).Encode()
		if got := connectReply(tc.nsp, tc.sid, tc.pid); string(got) != string(want) {
			t.Errorf("connectReply(%q, %q, %q) = %s, want %s", tc.nsp, tc.sid, tc.pid, got, want)
		}
	}
}

// TestArgsPacket checks the one-buffer encoding of events and acks
// against EncodeData and Packet.Encode.
func TestArgsPacket(t *testing.T) {
	for _, tc := range []struct {
		t     parser.Type
		nsp   string
		id    uint64
		hasID bool
		args  []any
	}{
		{parser.Ack, "/", 1, true, []any{2}},
		{parser.Ack, "/chat", 18446744073709551615, true, nil},
		{parser.Event, "/", 0, false, []any{"ev", "x", map[string]any{"a": 1}}},
		{parser.Event, "/n", 7, true, []any{"ev", []byte{1}, []any{[]byte{2}}}},
		{parser.Ack, "/", 3, true, []any{[]byte{1}}},
	} {
		data, atts, err := parser.EncodeData(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		p := parser.Packet{Type: tc.t, Namespace: tc.nsp, ID: tc.id, HasID: tc.hasID, Data: data}
		if len(atts) > 0 {
			p.Attachments = len(atts)
			p.Type += parser.BinaryEvent - parser.Event
		}
		want := p.Encode()
		text, gotData, gotAtts, err := argsPacket(tc.t, tc.nsp, tc.id, tc.hasID, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if string(text) != string(want) || string(gotData) != string(data) || len(gotAtts) != len(atts) {
			t.Errorf("argsPacket(%v, %v) = %s, %s, %d attachments; want %s, %s, %d",
				tc.t, tc.args, text, gotData, len(gotAtts), want, data, len(atts))
		}
	}
	if _, _, _, err := argsPacket(parser.Ack, "/", 1, true, []any{make(chan int)}); err == nil {
		t.Error("argsPacket of an unsupported value: no error")
	}
}

// TestMailboxOrder checks that jobs run in the order posted, whether they
// wait in the single-job slot or in the queue behind it.
func TestMailboxOrder(t *testing.T) {
	m := &mailbox{max: 1 << 20, workers: &workGroup{}}
	var got []int
	done := make(chan struct{})
	for round := range 50 {
		for i := range round % 5 {
			n := round*10 + i
			m.post(func() { got = append(got, n) }, true)
		}
		if round%7 == 0 {
			// Let the queue drain now and then, so that posts find it empty.
			ch := make(chan struct{})
			m.post(func() { close(ch) }, false)
			<-ch
		}
	}
	m.post(func() { close(done) }, false)
	<-done
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("jobs ran out of order: %v", got)
		}
	}
	if want := 0 + 1 + 2 + 3 + 4; len(got) != 10*want {
		t.Fatalf("%d jobs ran, want %d", len(got), 10*want)
	}
}
