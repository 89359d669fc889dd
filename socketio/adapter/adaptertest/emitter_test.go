package adaptertest_test

import (
	"encoding/json"
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
	"github.com/chatd/chatd/socketio/parser"
)

// The recording emitter keeps copies of what it delivered (the adapter may
// reuse its buffers), answers acknowledgements at once with AutoAck,
// records server-side events for its handler, and reports disconnects.
func TestEmitterRecords(t *testing.T) {
	e := adaptertest.NewEmitter("/rec")
	if e.Name() != "/rec" {
		t.Fatalf("Name %q", e.Name())
	}
	e.AddSocket("a", "a-data")
	e.AddSocket("b", nil)
	if info, ok := e.Socket("a"); !ok || info.Data != "a-data" || !info.Local {
		t.Fatalf("Socket(a) = %+v, %v", info, ok)
	}
	if _, ok := e.Socket("zz"); ok {
		t.Fatal("Socket(zz) found")
	}

	data := []byte(`["ev",1]`)
	att := []byte{1, 2, 3}
	pkt := &adapter.Packet{Packet: parser.Packet{Type: parser.BinaryEvent, Namespace: "/rec", Data: data}, Attachments: [][]byte{att}}
	if n := e.Deliver(pkt, []string{"a", "zz"}, adapter.Flags{}); n != 1 {
		t.Fatalf("Deliver reached %d, want 1 (zz is not a socket)", n)
	}
	data[2], att[0] = 'X', 9 // the adapter reuses its buffers
	got := e.Packets("a")
	if len(got) != 1 || string(got[0].Data) != `["ev",1]` || got[0].Attachments[0][0] != 1 {
		t.Fatalf("Packets(a) = %+v: not a copy", got)
	}
	if d := e.Delivered("a"); len(d) != 1 || d[0] != `["ev",1]` {
		t.Fatalf("Delivered(a) = %q", d)
	}

	e.AutoAck(func(sid string) adapter.Ack { return adapter.Ack{Args: []byte(`["` + sid + `"]`)} })
	acks := make(chan string, 4)
	n := e.DeliverWithAck(&adapter.Packet{Packet: parser.Packet{Type: parser.Event, Data: []byte(`["q"]`)}}, []string{"a", "b", "zz"}, adapter.Flags{}, func(sid string, a adapter.Ack) {
		acks <- sid + "=" + string(a.Args)
	})
	if n != 2 {
		t.Fatalf("DeliverWithAck reached %d, want 2", n)
	}
	e.WaitAcks()
	close(acks)
	seen := map[string]bool{}
	for a := range acks {
		seen[a] = true
	}
	if !seen[`a=["a"]`] || !seen[`b=["b"]`] || len(seen) != 2 {
		t.Fatalf("auto acks %v", seen)
	}

	var handled []json.RawMessage
	e.OnServerSide(func(args []json.RawMessage, ack func(any)) {
		handled = args
		ack("ok")
	})
	var answered any
	e.ReceiveServerSideEmit([]json.RawMessage{json.RawMessage(`"hello"`)}, func(v any) { answered = v })
	if ev := e.ServerSideEvents(); len(ev) != 1 || string(ev[0][0]) != `"hello"` {
		t.Fatalf("ServerSideEvents %q", ev)
	}
	if len(handled) != 1 || answered != "ok" {
		t.Fatalf("handler got %q and answered %v", handled, answered)
	}

	if e.Disconnected("b") {
		t.Fatal("b disconnected before DisconnectSocket")
	}
	e.DisconnectSocket("b", true)
	if !e.Disconnected("b") || e.Disconnected("a") {
		t.Fatal("DisconnectSocket(b) not recorded for b alone")
	}
}
