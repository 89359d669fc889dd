package live_test

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
)

func TestOriginChecker(t *testing.T) {
	check := live.OriginChecker([]string{"https://chat.example.com", "not a url"})
	for _, tc := range []struct {
		host, origin string
		tls, ok      bool
	}{
		{"127.0.0.1:8080", "", false, true},
		{"127.0.0.1:8080", "http://127.0.0.1:8080", false, true},
		{"Chat.Local:80", "http://chat.local:80", false, true},
		{"127.0.0.1:8080", "https://127.0.0.1:8080", false, false},
		{"127.0.0.1:8080", "https://127.0.0.1:8080", true, true},
		{"127.0.0.1:8080", "http://evil.example", false, false},
		{"127.0.0.1:8080", "https://chat.example.com", false, true},
		{"127.0.0.1:8080", "null", false, false},
		{"127.0.0.1:8080", "http://127.0.0.1:8081", false, false},
	} {
		r := httptest.NewRequest("GET", "/socket.io/", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		err := check(r)
		if (err == nil) != tc.ok {
			t.Errorf("host %s origin %q tls %v: err %v, want ok=%v", tc.host, tc.origin, tc.tls, err, tc.ok)
		} else if err != nil && chat.ErrorCode(err) != chat.EFORBIDDEN {
			t.Errorf("code %s", chat.ErrorCode(err))
		}
	}
}
