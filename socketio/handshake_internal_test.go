package socketio

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRequestURI(t *testing.T) {
	for _, target := range []string{
		"/socket.io/?EIO=4&transport=websocket",
		"/socket.io/",
		"/socket.io/?",
		"/a%2Fb/?x=%20y",
		"/caf%C3%A9/?q=1",
	} {
		r := httptest.NewRequest("GET", target, nil)
		if got, want := requestURI(r), r.URL.RequestURI(); got != want {
			t.Errorf("%s: requestURI %q, URL.RequestURI %q", target, got, want)
		}
	}
	// A handler behind http.StripPrefix sees a changed URL: the request
	// line no longer matches it.
	r := httptest.NewRequest("GET", "/prefix/socket.io/?EIO=4", nil)
	r.URL.Path = "/socket.io/"
	if got := requestURI(r); got != "/socket.io/?EIO=4" {
		t.Errorf("stripped prefix: %q", got)
	}
}

func TestListHost(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.test/socket.io/", nil)
	r.Header.Set("X-Test", "1")
	listHost(r)
	if got := r.Header.Get("Host"); got != "example.test" {
		t.Fatalf("Host %q", got)
	}
	r.Host = "other.test"
	listHost(r)
	if got := r.Header.Values("Host"); len(got) != 1 || got[0] != "example.test" {
		t.Fatalf("Host listed again: %q", got)
	}
	r = &http.Request{Host: "h.test"}
	listHost(r)
	if r.Header.Get("Host") != "h.test" {
		t.Fatalf("nil header map: %v", r.Header)
	}
}

func TestHandshakeTime(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	if got, want := handshakeTime(now), now.UTC().Format(time.RFC1123); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	later := now.Add(1500 * time.Millisecond)
	if got, want := handshakeTime(later), later.UTC().Format(time.RFC1123); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
