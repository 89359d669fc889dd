package engine

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// sizes cover every WebSocket length encoding (7-bit, 16-bit, 64-bit).
var frameSizes = []int{0, 1, 125, 126, 127, 65535, 65536, 200000}

// sendBatch queues one text and one binary message of each size at once
// and checks the client reads them back unchanged and in order.
func sendBatch(t *testing.T, s *Session, c *websocket.Conn) {
	t.Helper()
	for _, n := range frameSizes {
		s.Send(bytes.Repeat([]byte("t"), n), false)
		s.Send(bytes.Repeat([]byte{0xb}, n), true)
	}
	for _, n := range frameSizes {
		mt, m := readSkipPing(t, c)
		if mt != websocket.TextMessage || m != "4"+strings.Repeat("t", n) {
			t.Fatalf("text of %d: type %d, %d bytes", n, mt, len(m))
		}
		mt, m = readSkipPing(t, c)
		if mt != websocket.BinaryMessage || m != strings.Repeat("\x0b", n) {
			t.Fatalf("binary of %d: type %d, %d bytes", n, mt, len(m))
		}
	}
}

// A batch of frames of every size is written correctly in one go.
func TestWebSocketFrameSizes(t *testing.T) {
	e := newEnv(t, slowHeartbeat())
	c := e.dial(t, "EIO=4&transport=websocket")
	_, m := readMsg(t, c)
	sendBatch(t, e.srv.Session(parseOpen(t, m).SID), c)
}

// Over TLS (no vectored writes) batches are joined into one write.
func TestWebSocketTLS(t *testing.T) {
	checkGoroutines(t)
	h := newEcho()
	srv := NewServer(h, slowHeartbeat())
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	tr := ts.Client().Transport.(*http.Transport)
	dialer := websocket.Dialer{TLSClientConfig: tr.TLSClientConfig.Clone()}
	c, _, err := dialer.Dial("wss"+strings.TrimPrefix(ts.URL, "https")+"/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, m := readMsg(t, c)
	s := srv.Session(parseOpen(t, m).SID)
	sendBatch(t, s, c)
	mustWrite(t, c, websocket.TextMessage, "4echo")
	if _, m := readSkipPing(t, c); m != "4echo" {
		t.Errorf("echo %q", m)
	}
	// A TLS connection is read by a goroutine of its own: a message larger
	// than its first buffer, which gorilla sends in several frames, is
	// reassembled.
	large := "4" + strings.Repeat("T", 20000)
	mustWrite(t, c, websocket.TextMessage, large)
	if _, m := readSkipPing(t, c); m != large {
		t.Errorf("echo of %d bytes: %d bytes", len(large), len(m))
	}
}
