package socketio_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// The Socket.IO requirements S1-S16 of docs/conformance.md, over WebSocket,
// against the fixture's application.

func TestS1ConnectMain(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
}

func TestS2ConnectMainWithPayload(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Send(`40{"token":"123"}`)
	w.ExpectMatch(`40\{"sid":"[^"]{20}"\}`)
	w.Expect(`42["auth",{"token":"123"}]`)
}

func TestS3ConnectCustom(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/custom", nil)
	w.Expect(`42/custom,["auth",{}]`)
}

func TestS4ConnectCustomWithPayload(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Send(`40/custom,{"token":"abc"}`)
	w.ExpectMatch(`40/custom,\{"sid":"[^"]{20}"\}`)
	w.Expect(`42/custom,["auth",{"token":"abc"}]`)
}

func TestS5UnknownNamespace(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Send(`40/random`)
	w.Expect(`44/random,{"message":"Invalid namespace"}`)
	// The connection stays usable.
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
}

func TestS6InvalidHandshake(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Send(`4abc`)
	w.ExpectClosed()
}

func TestS7NoHandshakeTimesOut(t *testing.T) {
	srv := fixtureServer()
	w := dialWire(t, startServer(t, srv))
	start := time.Now()
	// Answer pings (next does), so only connectTimeout can close it.
	w.ExpectClosed()
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v, want about the 1s connectTimeout", d)
	}
}

func TestS8DisconnectMain(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`41`)
	// Nothing but a ping may follow: the Engine.IO session stays open.
	_ = w.WS.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, b, err := w.WS.ReadMessage()
	if err != nil || string(b) != "2" {
		t.Fatalf("after 41: got %q, %v; want the ping", b, err)
	}
}

func TestS9ConnectThenDisconnectCustom(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`40/custom`)
	w.ExpectMatch(`40/custom,\{"sid":"[^"]{20}"\}`)
	w.Expect(`42/custom,["auth",{}]`)
	w.Send(`41/custom`)
	w.Send(`42["message","message to main namespace"]`)
	w.Expect(`42["message-back","message to main namespace"]`)
}

func TestS10PlainTextEvent(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`42["message",1,"2",{"3":[true]}]`)
	w.Expect(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestS11BinaryEvent(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.SendBinary([]byte{1, 2, 3})
	w.SendBinary([]byte{4, 5, 6})
	w.Expect(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.ExpectBinary([]byte{1, 2, 3})
	w.ExpectBinary([]byte{4, 5, 6})
}

func TestS12EventWithAck(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	w.Expect(`43456[1,"2",{"3":[false]}]`)
}

func TestS13BinaryEventWithAck(t *testing.T) {
	w := dialWire(t, startServer(t, fixtureServer()))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.SendBinary([]byte{1, 2, 3})
	w.SendBinary([]byte{4, 5, 6})
	w.Expect(`462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.ExpectBinary([]byte{1, 2, 3})
	w.ExpectBinary([]byte{4, 5, 6})
}

func TestS14to16InvalidPacketsClose(t *testing.T) {
	for name, frame := range map[string]string{
		"S14 unknown type":     `4abc`,
		"S15 payload not list": `42{}`,
		"S16 invalid ack id":   `42abc["message-with-ack",1,"2",{"3":[false]}]`,
		"empty event":          `42[]`,
		"reserved event":       `42["disconnect"]`,
		"event for other nsp":  `42/custom,["message"]`,
		"second connect":       `40`,
		"non-object connect":   `40/custom,"str"`,
		"too many attachments": `4511-["message"]`,
		"connect error":        `44{"message":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			w := dialWire(t, startServer(t, fixtureServer()))
			w.Connect("/", nil)
			w.Expect(`42["auth",{}]`)
			w.Send(frame)
			w.ExpectClosed()
		})
	}
}

func TestNumericEventNameAccepted(t *testing.T) {
	srv := fixtureServer()
	got := make(chan string, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnAny(func(event string, _ socketio.Args) { got <- event })
	})
	w := dialWire(t, startServer(t, srv))
	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`42[1,2]`)
	select {
	case ev := <-got:
		if ev != "1" {
			t.Fatalf("event %q, want \"1\"", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("numeric event not delivered")
	}
}

// The Socket.IO suite's "should ignore WebSocket connection with same sid
// after upgrade" (E19 on /socket.io/): right after the upgrade packet, a
// second WebSocket with the same sid completes its handshake (101; the
// suite's ws client raises an uncaught error on any other answer) and is
// closed by the server; the upgraded connection keeps working.
func TestE19SecondWebSocketSameSID(t *testing.T) {
	checkGoroutines(t)
	base := startServer(t, fixtureServer())
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	var open struct{ SID string }
	if err != nil || !strings.HasPrefix(string(body), "0") || json.Unmarshal(body[1:], &open) != nil || open.SID == "" {
		t.Fatalf("polling handshake: %q, %v", body, err)
	}
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket&sid=" + open.SID
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	w := &socketiotest.Conn{T: t, WS: ws}
	w.Send("2probe")
	w.Expect("3probe")
	w.Send("5")

	ws2, res2, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		status := 0
		if res2 != nil {
			status = res2.StatusCode
		}
		t.Fatalf("second WebSocket: %v (status %d), want 101 then a close", err, status)
	}
	defer ws2.Close()
	_ = ws2.SetReadDeadline(time.Now().Add(3 * time.Second))
	var ce *websocket.CloseError
	if _, m, err := ws2.ReadMessage(); !errors.As(err, &ce) {
		t.Fatalf("second WebSocket: got %q, %v; want a close frame", m, err)
	}

	w.Connect("/", nil)
	w.Expect(`42["auth",{}]`)
	w.Send(`42["message","still here"]`)
	w.Expect(`42["message-back","still here"]`)
}
