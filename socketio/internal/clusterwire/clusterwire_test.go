package clusterwire

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/socketio/adapter"
)

// A handshake described for other nodes keeps its headers but the
// credentials: no session cookie or token crosses the cluster's broker.
func TestToHandshakeLeavesCredentialsOut(t *testing.T) {
	h := &adapter.Handshake{Headers: http.Header{
		"Cookie":              {"chatd_session=secret"},
		"Authorization":       {"Bearer secret"},
		"Proxy-Authorization": {"Basic secret"},
		"User-Agent":          {"ua"},
	}}
	w := ToHandshake(h)
	for _, k := range secretHeaders {
		if _, ok := w.Headers[k]; ok {
			t.Errorf("header %s sent to other nodes", k)
		}
	}
	back := w.Adapter()
	if back.Headers.Get("User-Agent") != "ua" || back.Headers.Get("Cookie") != "" {
		t.Fatalf("headers back: %v", back.Headers)
	}
	if h.Headers.Get("Cookie") == "" {
		t.Fatal("the local handshake lost its cookie")
	}
}
