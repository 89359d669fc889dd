package live

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/chatd/chatd/chat"
)

// OriginChecker returns the check applied to every Socket.IO handshake: a
// request without an Origin header (a non-browser client) passes, and so
// does one whose Origin is the server's own origin (the scheme and Host the
// request was made to) or one of trusted (such as
// "https://chat.example.com"); any other origin is refused with a forbidden
// error.
func OriginChecker(trusted []string) func(r *http.Request) error {
	allowed := make(map[string]bool, len(trusted))
	for _, o := range trusted {
		if o = normalizeOrigin(o); o != "" {
			allowed[o] = true
		}
	}
	return func(r *http.Request) error {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return nil
		}
		o := normalizeOrigin(origin)
		if o == "" {
			return chat.Errorf(chat.EFORBIDDEN, "origin not allowed")
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if o == scheme+"://"+strings.ToLower(r.Host) || allowed[o] {
			return nil
		}
		return chat.Errorf(chat.EFORBIDDEN, "origin not allowed")
	}
}

// normalizeOrigin returns scheme://host[:port] in lower case, or "" when s
// is not an absolute http(s) origin.
func normalizeOrigin(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}
