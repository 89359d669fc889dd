// Package socketiotest helps test Socket.IO servers at the wire level: a
// raw WebSocket client that sends and expects Engine.IO/Socket.IO frames as
// text, byte for byte, in the transcript style:
//
//	c := socketiotest.Dial(t, srv.URL+"/socket.io/", nil)
//	c.Send(`40/chat,`)
//	c.ExpectMatch(`40/chat,\{"sid":"[^"]+"\}`)
//	c.Send(`42/chat,1["join","lobby"]`)
//	c.Expect(`43/chat,1[{"members":1}]`)
//
// Pings from the server are answered automatically and never returned.
package socketiotest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Timeout is how long a read waits for the next frame.
var Timeout = 5 * time.Second

// Conn is a raw Engine.IO v4 WebSocket connection. It is not safe for
// concurrent use.
type Conn struct {
	// T is the test the connection reports failures to.
	T testing.TB
	// WS is the underlying WebSocket connection.
	WS *websocket.Conn
	// Open is the open packet.
	Open string
}

// Dial opens a WebSocket Engine.IO session at url (the Socket.IO path, such
// as "http://127.0.0.1:1234/socket.io/") with the given request headers
// and reads the open packet. The connection is closed when the test ends.
func Dial(t testing.TB, url string, header http.Header) *Conn {
	t.Helper()
	c, err := DialErr(t, url, header)
	if err != nil {
		t.Fatalf("socketiotest: dial %s: %v", url, err)
	}
	return c
}

// DialErr is Dial returning the dial error instead of failing the test.
func DialErr(t testing.TB, url string, header http.Header) (*Conn, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(url, "http")
	if strings.Contains(u, "?") {
		u += "&EIO=4&transport=websocket"
	} else {
		u += "?EIO=4&transport=websocket"
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	c := &Conn{T: t, WS: ws}
	t.Cleanup(func() { _ = ws.Close() })
	open := c.ReadText()
	if !strings.HasPrefix(open, "0{") {
		t.Fatalf("socketiotest: open packet: got %q", open)
	}
	c.Open = open
	return c, nil
}

// Send sends a text frame.
func (c *Conn) Send(text string) {
	c.T.Helper()
	if err := c.WS.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		c.T.Fatalf("socketiotest: send %q: %v", text, err)
	}
}

// SendBinary sends a binary frame.
func (c *Conn) SendBinary(b []byte) {
	c.T.Helper()
	if err := c.WS.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.T.Fatalf("socketiotest: send binary: %v", err)
	}
}

// Next returns the next frame that is not a ping, and whether it is binary.
func (c *Conn) Next() (string, bool, error) {
	for {
		_ = c.WS.SetReadDeadline(time.Now().Add(Timeout))
		typ, b, err := c.WS.ReadMessage()
		if err != nil {
			return "", false, err
		}
		if typ == websocket.TextMessage && string(b) == "2" {
			_ = c.WS.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		return string(b), typ == websocket.BinaryMessage, nil
	}
}

// ReadText returns the next text frame.
func (c *Conn) ReadText() string {
	c.T.Helper()
	s, bin, err := c.Next()
	if err != nil {
		c.T.Fatalf("socketiotest: read: %v", err)
	}
	if bin {
		c.T.Fatalf("socketiotest: got a binary frame %x, want text", s)
	}
	return s
}

// Expect reads the next text frame and fails unless it is want.
func (c *Conn) Expect(want string) {
	c.T.Helper()
	if got := c.ReadText(); got != want {
		c.T.Fatalf("socketiotest: got %q, want %q", got, want)
	}
}

// ExpectMatch reads the next text frame, fails unless the whole frame
// matches the regular expression re, and returns it.
func (c *Conn) ExpectMatch(re string) string {
	c.T.Helper()
	got := c.ReadText()
	if !regexp.MustCompile("^(?:" + re + ")$").MatchString(got) {
		c.T.Fatalf("socketiotest: got %q, want a match of %q", got, re)
	}
	return got
}

// ExpectBinary reads the next frame and fails unless it is binary with
// these bytes.
func (c *Conn) ExpectBinary(want []byte) {
	c.T.Helper()
	s, bin, err := c.Next()
	if err != nil || !bin || s != string(want) {
		c.T.Fatalf("socketiotest: got %q (binary %v, err %v), want binary %x", s, bin, err, want)
	}
}

// ExpectClosed reads until the server closes the connection (an Engine.IO
// close packet and Socket.IO DISCONNECT packets may come first); any other
// frame fails the test.
func (c *Conn) ExpectClosed() {
	c.T.Helper()
	for {
		s, _, err := c.Next()
		if err != nil {
			return
		}
		if s != "1" && !strings.HasPrefix(s, "41") {
			c.T.Fatalf("socketiotest: got %q, want the connection closed", s)
		}
	}
}

// Connect joins a namespace ("/" or "/name") with an optional auth object
// (nil for none) and returns the socket id; it fails on a CONNECT_ERROR.
func (c *Conn) Connect(nsp string, auth any) string {
	c.T.Helper()
	prefix := NamespacePrefix(nsp)
	frame := "40" + prefix
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			c.T.Fatal(err)
		}
		frame += string(b)
	}
	c.Send(frame)
	got := c.ExpectMatch(regexp.QuoteMeta("40"+prefix) + `\{"sid":"[^"]+"(,"pid":"[^"]+")?\}`)
	var body struct{ SID string }
	_ = json.Unmarshal([]byte(got[len("40"+prefix):]), &body)
	return body.SID
}

// NamespacePrefix returns how a packet names the namespace: "" for "/",
// else the name and a comma.
func NamespacePrefix(nsp string) string {
	if nsp == "/" || nsp == "" {
		return ""
	}
	return nsp + ","
}

// Event is a decoded EVENT or ACK packet (text only).
type Event struct {
	// Namespace is the namespace the packet names ("/" when none).
	Namespace string
	// ID is the ack id, -1 when absent.
	ID int64
	// Name is the event name (empty for an ACK).
	Name string
	// Args are the arguments as raw JSON.
	Args []json.RawMessage
}

var eventRe = regexp.MustCompile(`^4([23])((?:/[^,]*,)?)(\d*)(\[.*\])$`)

// ReadEvent reads the next text frame and decodes it as an EVENT or ACK.
func (c *Conn) ReadEvent() Event {
	c.T.Helper()
	got := c.ReadText()
	m := eventRe.FindStringSubmatch(got)
	if m == nil {
		c.T.Fatalf("socketiotest: got %q, want an event or ack", got)
	}
	ev := Event{Namespace: "/", ID: -1}
	if m[2] != "" {
		ev.Namespace = strings.TrimSuffix(m[2], ",")
	}
	if m[3] != "" {
		if err := json.Unmarshal([]byte(m[3]), &ev.ID); err != nil {
			c.T.Fatal(err)
		}
	}
	var all []json.RawMessage
	if err := json.Unmarshal([]byte(m[4]), &all); err != nil {
		c.T.Fatalf("socketiotest: %q: %v", got, err)
	}
	if m[1] == "2" {
		if len(all) == 0 || json.Unmarshal(all[0], &ev.Name) != nil {
			c.T.Fatalf("socketiotest: %q: no event name", got)
		}
		all = all[1:]
	}
	ev.Args = all
	return ev
}

// ExpectEvent reads events until one named name arrives in namespace nsp
// and returns it; events skipped on the way are returned in the second
// result.
func (c *Conn) ExpectEvent(nsp, name string) (Event, []Event) {
	c.T.Helper()
	var skipped []Event
	for {
		ev := c.ReadEvent()
		if ev.Namespace == nsp && ev.Name == name {
			return ev, skipped
		}
		skipped = append(skipped, ev)
	}
}

// Emit sends an EVENT to namespace nsp with JSON-encoded arguments and, when
// ackID >= 0, an ack id.
func (c *Conn) Emit(nsp string, ackID int64, event string, args ...any) {
	c.T.Helper()
	all := append([]any{event}, args...)
	b, err := json.Marshal(all)
	if err != nil {
		c.T.Fatal(err)
	}
	frame := "42" + NamespacePrefix(nsp)
	if ackID >= 0 {
		b2, _ := json.Marshal(ackID)
		frame += string(b2)
	}
	c.Send(frame + string(b))
}

// Decode unmarshals argument i of ev into v, failing the test on error.
func (ev Event) Decode(t testing.TB, i int, v any) {
	t.Helper()
	if i >= len(ev.Args) {
		t.Fatalf("socketiotest: event %q has %d arguments, want %d", ev.Name, len(ev.Args), i+1)
	}
	if err := json.Unmarshal(ev.Args[i], v); err != nil {
		t.Fatalf("socketiotest: event %q argument %d: %v", ev.Name, i, err)
	}
}
