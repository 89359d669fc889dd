package socketiotest

import (
	"bytes"
	"math"
	"regexp"
	"strings"

	"github.com/chatd/chatd/socketio/parser"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

// The helpers below speak to a server using the msgpack parser
// (msgpackparser) while keeping the transcript style: packets are written
// and compared in the text form of the default parser, without the
// Engine.IO prefix "4", binary values as placeholders:
//
//	c.SendMsgpack(`0/custom,{"token":"abc"}`)
//	c.ExpectMsgpackMatch(`0/custom,\{"sid":"[^"]+"\}`)
//	c.SendMsgpack(`51-1["up",{"_placeholder":true,"num":0}]`, []byte{1, 2})
//	c.ExpectMsgpack(`61-1[{"_placeholder":true,"num":0}]`, []byte{1, 2})
//
// On the wire each packet is one binary frame, the msgpack map of
// socket.io-msgpack-parser.

// SendMsgpack sends the packet written in text form as a msgpack parser
// message, the attachments in place of its placeholders.
func (c *Conn) SendMsgpack(text string, attachments ...[]byte) {
	c.T.Helper()
	p, err := parser.Decode([]byte(text), &parser.DecodeOptions{MaxAttachments: math.MaxInt32})
	if err != nil {
		c.T.Fatalf("socketiotest: packet %q: %v", text, err)
	}
	b, err := msgpackparser.AppendPacket(nil, &p, attachments)
	if err != nil {
		c.T.Fatalf("socketiotest: packet %q: %v", text, err)
	}
	c.SendBinary(b)
}

// ReadMsgpack reads the next frame, which must be a msgpack parser
// message, and returns the packet in text form and its binary values.
func (c *Conn) ReadMsgpack() (string, [][]byte) {
	c.T.Helper()
	s, bin, err := c.Next()
	if err != nil {
		c.T.Fatalf("socketiotest: read: %v", err)
	}
	if !bin {
		c.T.Fatalf("socketiotest: got text frame %q, want a msgpack packet", s)
	}
	p, atts, err := msgpackparser.Parser{}.Decode([]byte(s))
	if err != nil {
		c.T.Fatalf("socketiotest: msgpack packet %x: %v", s, err)
	}
	return string(p.Encode()), atts
}

// ExpectMsgpack reads the next frame and fails unless it is the msgpack
// form of the packet want (in text form) with these binary values.
func (c *Conn) ExpectMsgpack(want string, attachments ...[]byte) {
	c.T.Helper()
	got, atts := c.ReadMsgpack()
	if got != want || !sameBytes(atts, attachments) {
		c.T.Fatalf("socketiotest: got %q with %x, want %q with %x", got, atts, want, attachments)
	}
}

// ExpectMsgpackMatch reads the next frame, a msgpack packet, and fails
// unless its text form matches the regular expression re; it returns
// the text form.
func (c *Conn) ExpectMsgpackMatch(re string) string {
	c.T.Helper()
	got, _ := c.ReadMsgpack()
	if !regexp.MustCompile("^(?:" + re + ")$").MatchString(got) {
		c.T.Fatalf("socketiotest: got %q, want a match of %q", got, re)
	}
	return got
}

// ExpectMsgpackClosed is ExpectClosed for a msgpack connection: an
// Engine.IO close packet and Socket.IO DISCONNECT packets may come first.
func (c *Conn) ExpectMsgpackClosed() {
	c.T.Helper()
	for {
		s, bin, err := c.Next()
		if err != nil {
			return
		}
		if !bin && s == "1" {
			continue
		}
		if bin {
			if p, _, err := (msgpackparser.Parser{}).Decode([]byte(s)); err == nil && p.Type == parser.Disconnect {
				continue
			}
		}
		c.T.Fatalf("socketiotest: got %q, want the connection closed", strings.ToValidUTF8(s, "?"))
	}
}

func sameBytes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
