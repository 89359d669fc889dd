package engine

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzServeHTTP drives the HTTP entry point with arbitrary methods, query
// strings and bodies, on a server holding one live polling session: it
// must never panic, and every response must be a valid status.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []struct{ method, query, body string }{
		{"GET", "EIO=4&transport=polling", ""},
		{"POST", "EIO=4&transport=polling&sid=SID", "4hello\x1ebAQIDBA=="},
		{"POST", "EIO=4&transport=polling&sid=SID&j=1", "d=4hi"},
		{"GET", "EIO=4&transport=websocket", ""},
		{"PUT", "EIO=4&transport=polling&sid=SID", "1"},
		{"POST", "EIO=4&transport=polling&sid=SID", "2"},
		{"OPTIONS", "EIO=3&transport=polling", ""},
	} {
		f.Add(seed.method, seed.query, seed.body)
	}
	srv := NewServer(newEcho(), &Options{PingInterval: time.Hour, PingTimeout: time.Hour, MaxPayload: 1 << 16,
		CORS: &CORS{Origins: []string{"*"}}})
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	f.Fuzz(func(t *testing.T, method, query, body string) {
		if method == "GET" && !strings.Contains(query, "sid") {
			method = "HEAD" // no handshakes: they would pile up sessions
		}
		// A fresh session per input, so earlier inputs cannot close it.
		hs := httptest.NewRecorder()
		srv.ServeHTTP(hs, httptest.NewRequest("GET", "/?EIO=4&transport=polling", nil))
		sid := parseOpen(t, hs.Body.String()).SID
		query = strings.ReplaceAll(query, "SID", sid)
		if strings.Contains(query, "sid="+sid) && method == "GET" {
			method = "POST" // a GET would wait for data
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method = method
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if s := srv.Session(sid); s != nil {
			s.Close(ReasonForcedClose)
		}
	})
}

// FuzzParseQuery checks parseQuery against url.ParseQuery with
// url.Values.Get and Has, which it replaces.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"EIO=4&transport=polling",
		"EIO=4&transport=websocket&sid=abc-_DEF",
		"EIO=4&transport=polling&sid=x&j=0&t=Nabc",
		"transport=a&transport=b",
		"EIO=%34&transport=web%73ocket",
		"j",
		"j=&sid=%zz&sid=ok",
		"a=1;b=2&EIO=4",
		"t%72ansport=polling&EIO=4+",
		"&&EIO=4&",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, _ := url.ParseQuery(raw)
		got := parseQuery(raw)
		if got.transport != want.Get("transport") || got.sid != want.Get("sid") || got.eio != want.Get("EIO") ||
			got.j != want.Get("j") || got.hasJ != want.Has("j") {
			t.Fatalf("parseQuery(%q) = %+v, url.ParseQuery gives %v", raw, got, want)
		}
	})
}
