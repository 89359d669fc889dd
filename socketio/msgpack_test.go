package socketio_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

// TestMsgpackParserServer runs a server with Options.Parser set to the
// msgpack parser: rooms and broadcasts, the server's own acknowledgement
// requests with binary values, a middleware's CONNECT_ERROR, and a
// malformed packet that closes only its own connection.
func TestMsgpackParserServer(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(&socketio.Options{Parser: msgpackparser.Parser{}})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack socketio.Ack) {
			s.Join(room)
			_ = ack(true)
		})
		s.On("shout", func(args socketio.Args) {
			var room string
			if args.Decode(0, &room) == nil {
				_ = s.To(room).Emit("shouted", args.Forward()[1:]...)
			}
		})
		s.On("ask", func(ack socketio.Ack) {
			ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
			defer cancel()
			reply, err := s.EmitWithAck(ctx, "question", []byte{1, 2})
			if err != nil {
				_ = ack(err.Error())
				return
			}
			_ = ack(reply.Forward()...)
		})
	})
	srv.Of("/private").Use(func(s *socketio.Socket) error {
		return socketio.NewConnectError("not authorized", map[string]any{"code": 401})
	})
	base := startServer(t, srv)

	const sid = `\{"sid":"[^"]+"\}`
	a, b, c := dialWire(t, base), dialWire(t, base), dialWire(t, base)
	for _, conn := range []interface {
		SendMsgpack(string, ...[]byte)
		ExpectMsgpackMatch(string) string
		ExpectMsgpack(string, ...[]byte)
	}{a, b, c} {
		conn.SendMsgpack(`0`)
		conn.ExpectMsgpackMatch(`0` + sid)
	}
	a.SendMsgpack(`21["join","r"]`)
	a.ExpectMsgpack(`31[true]`)
	b.SendMsgpack(`22["join","r"]`)
	b.ExpectMsgpack(`32[true]`)

	// A broadcast reaches the room, the sender excluded, binary included.
	c.SendMsgpack(`51-["shout","r","hi",{"_placeholder":true,"num":0}]`, []byte{0xca, 0xfe})
	a.ExpectMsgpack(`51-["shouted","hi",{"_placeholder":true,"num":0}]`, []byte{0xca, 0xfe})
	b.ExpectMsgpack(`51-["shouted","hi",{"_placeholder":true,"num":0}]`, []byte{0xca, 0xfe})

	// The server asks the client and relays the answer.
	a.SendMsgpack(`27["ask"]`)
	a.ExpectMsgpack(`51-0["question",{"_placeholder":true,"num":0}]`, []byte{1, 2})
	a.SendMsgpack(`61-0["answer",{"_placeholder":true,"num":0}]`, []byte{3})
	a.ExpectMsgpack(`61-7["answer",{"_placeholder":true,"num":0}]`, []byte{3})

	// A middleware's refusal, with its data.
	a.SendMsgpack(`0/private,`)
	a.ExpectMsgpack(`4/private,{"message":"not authorized","data":{"code":401}}`)

	// A malformed packet closes its connection only.
	b.SendBinary([]byte{0x93, 0x01})
	b.ExpectMsgpackClosed()
	c.SendMsgpack(`2["shout","r","still"]`)
	a.ExpectMsgpack(`2["shouted","still"]`)
}

// TestMsgpackBroadcastEncodesOnce checks that a broadcast on a msgpack
// server queues the same encoded bytes to every recipient.
func TestMsgpackBroadcastEncodesOnce(t *testing.T) {
	checkGoroutines(t)
	srv := socketio.NewServer(&socketio.Options{Parser: msgpackparser.Parser{}})
	base := startServer(t, srv)
	a, b := dialWire(t, base), dialWire(t, base)
	for _, conn := range []interface{ SendMsgpack(string, ...[]byte) }{a, b} {
		conn.SendMsgpack(`0`)
	}
	a.ExpectMsgpackMatch(`0.*`)
	b.ExpectMsgpackMatch(`0.*`)
	if err := srv.Emit("news", "x", []byte{9}); err != nil {
		t.Fatal(err)
	}
	fa, binA, errA := a.Next()
	fb, binB, errB := b.Next()
	if err := errors.Join(errA, errB); err != nil || !binA || !binB || !bytes.Equal([]byte(fa), []byte(fb)) {
		t.Fatalf("frames %x (%v) and %x (%v): %v", fa, binA, fb, binB, err)
	}
	p, atts, err := msgpackparser.Parser{}.Decode([]byte(fa))
	if err != nil || string(p.Data) != `["news","x",{"_placeholder":true,"num":0}]` || len(atts) != 1 || atts[0][0] != 9 {
		t.Fatalf("decoded %s %q: %v", p.Data, atts, err)
	}
}
