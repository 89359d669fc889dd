package engine

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestNewFrame(t *testing.T) {
	f := NewFrame([]byte("hi"), false)
	if string(f.ws) != "4hi" || string(f.pollBytes()) != "4hi" || f.Binary() || f.Len() != 3 {
		t.Errorf("text frame %q %q", f.ws, f.pollBytes())
	}
	b := NewFrame([]byte{1, 2, 3, 4}, true)
	if !bytes.Equal(b.ws, []byte{1, 2, 3, 4}) || string(b.pollBytes()) != "bAQIDBA==" || !b.Binary() {
		t.Errorf("binary frame %q %q", b.ws, b.pollBytes())
	}
	if &b.pollBytes()[0] != &b.pollBytes()[0] {
		t.Error("polling form computed twice")
	}
}

// The open packet is the JSON encoding/json gives for the same fields, in
// the same order.
func TestOpenPacketJSON(t *testing.T) {
	for _, up := range [][]string{nil, {"websocket"}, {"websocket", "webtransport"}} {
		srv := NewServer(newEcho(), &Options{PingInterval: 1500 * time.Millisecond, PingTimeout: 7 * time.Second, MaxPayload: 123456})
		sess := &Session{id: "abc_DEF-123"}
		if up == nil {
			up = []string{}
		}
		want, _ := json.Marshal(struct {
			SID          string   `json:"sid"`
			Upgrades     []string `json:"upgrades"`
			PingInterval int64    `json:"pingInterval"`
			PingTimeout  int64    `json:"pingTimeout"`
			MaxPayload   int64    `json:"maxPayload"`
		}{sess.id, up, 1500, 7000, 123456})
		if got := string(srv.openPacket(sess, up).ws); got != "0"+string(want) {
			t.Errorf("open packet %s, want 0%s", got, want)
		}
	}
}
