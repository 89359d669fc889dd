package engine

import (
	"context"
	"net/http/httptest"
	"testing"
)

type ctxKey struct{}

// A session keeps its handshake request's method, URL, header, host and
// addresses, without the request's context (whose chain of contexts
// would live as long as the session).
func TestKeptRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.test/engine.io/?EIO=4&transport=polling", nil)
	r.Header.Set("Cookie", "a=b")
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "value"))
	k := keptRequest(r)
	if k.Method != "GET" || k.URL != r.URL || k.Host != "example.test" || k.RemoteAddr != r.RemoteAddr || k.RequestURI != r.RequestURI {
		t.Fatalf("kept %+v", k)
	}
	if k.Header.Get("Cookie") != "a=b" {
		t.Fatalf("header %v", k.Header)
	}
	if k.Context() != context.Background() || k.Context().Value(ctxKey{}) != nil {
		t.Fatal("the handshake's context is kept")
	}
	if n, _ := k.Body.Read(make([]byte, 1)); n != 0 {
		t.Fatal("a body")
	}
}
