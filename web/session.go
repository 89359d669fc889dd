package web

import (
	"context"
	"net/http"
	"time"

	"github.com/chatd/chatd/chat"
)

type contextKey struct{}

// UserFromContext returns the signed-in user that the session middleware
// stored in ctx, and whether there is one.
func UserFromContext(ctx context.Context) (chat.User, bool) {
	u, ok := ctx.Value(contextKey{}).(chat.User)
	return u, ok
}

// withUser returns ctx carrying u.
func withUser(ctx context.Context, u chat.User) context.Context {
	return context.WithValue(ctx, contextKey{}, u)
}

// sessionMiddleware looks up the session cookie and, when it names a live
// session, stores its user in the request context. A lookup failure other
// than "no such session" is logged and treated as signed out.
func (h *Handler) sessionMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(chat.SessionCookieName)
		if err == nil && c.Value != "" {
			u, err := h.cfg.Accounts.Authenticate(r.Context(), c.Value)
			switch chat.ErrorCode(err) {
			case "":
				r = r.WithContext(withUser(r.Context(), u))
			case chat.EUNAUTHORIZED:
			default:
				h.log.Error("session lookup", "err", err)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// secureCookie reports whether the session cookie of a response to r is
// marked Secure.
func (h *Handler) secureCookie(r *http.Request) bool {
	return r.TLS != nil || h.cfg.SecureCookies
}

// setSessionCookie sends the session token of l to the browser.
func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, l chat.Login) {
	http.SetCookie(w, &http.Cookie{
		Name:     chat.SessionCookieName,
		Value:    l.Token,
		Path:     "/",
		Expires:  l.Expires.UTC(),
		MaxAge:   int(time.Until(l.Expires).Seconds()),
		HttpOnly: true,
		Secure:   h.secureCookie(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie tells the browser to drop the session cookie.
func (h *Handler) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     chat.SessionCookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   h.secureCookie(r),
		SameSite: http.SameSiteLaxMode,
	})
}
