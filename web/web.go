package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
	"github.com/chatd/chatd/chat"
)

// Accounts is what the pages need of the account service; *chat.Accounts
// implements it.
type Accounts interface {
	SignUp(ctx context.Context, name, password string) (chat.Login, error)
	LogIn(ctx context.Context, name, password string) (chat.Login, error)
	LogOut(ctx context.Context, token string) error
	Authenticate(ctx context.Context, token string) (chat.User, error)
	ListUsers(ctx context.Context) ([]chat.User, error)
	SetRole(ctx context.Context, name string, role chat.Role) (chat.User, error)
}

// Namespaces lists the namespaces a role may enter; chat.NamespaceStore
// implements it.
type Namespaces interface {
	ListNamespaces(ctx context.Context, role chat.Role) ([]chat.Namespace, error)
}

// Pinger checks a dependency for the health check; *store.DB implements it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config are the dependencies of the handler. Accounts and Namespaces are
// required.
type Config struct {
	Accounts   Accounts
	Namespaces Namespaces
	// Health is checked by GET /healthz; nil means always healthy.
	Health Pinger
	// TrustedOrigins are extra origins (scheme://host[:port]) allowed to
	// send state-changing requests besides the server's own.
	TrustedOrigins []string
	// SecureCookies marks the session cookie Secure on every response;
	// without it the cookie is Secure only on requests that came over TLS
	// to this server. Set it behind a proxy that terminates TLS.
	SecureCookies bool
	// Logger receives request errors. Defaults to slog.Default().
	Logger *slog.Logger
}

// Handler serves the pages. Create it with New.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	router http.Handler
}

// New returns the page handler. It fails if an origin in
// cfg.TrustedOrigins is malformed or a required dependency is missing.
func New(cfg Config) (*Handler, error) {
	if cfg.Accounts == nil || cfg.Namespaces == nil {
		return nil, fmt.Errorf("web: Accounts and Namespaces are required")
	}
	h := &Handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("web: trusted origin: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		h.renderError(w, r, http.StatusForbidden, "Forbidden", "This request came from another site and was refused.")
	}))
	h.router = securityHeaders(cop.Handler(h.routes()))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

// securityHeaders sets headers that every page response carries.
func securityHeaders(next http.Handler) http.Handler {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// render writes a templ component with the given status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status != http.StatusOK {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		h.log.Error("rendering page", "path", r.URL.Path, "err", err)
	}
}
