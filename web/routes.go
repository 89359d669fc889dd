package web

import (
	"net/http"

	"github.com/chatd/chatd/web/static"
	"github.com/go-chi/chi/v5"
)

// routes lists every route of the page handler.
func (h *Handler) routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not accept that request.")
	})

	r.Get("/healthz", h.healthz)
	r.Handle("/static/*", staticHandler(http.StripPrefix("/static/", http.FileServerFS(static.FS))))

	r.Group(func(r chi.Router) {
		r.Use(h.sessionMiddleware)
		r.Get("/", h.chatPage)
		r.Get("/signup", h.signupForm)
		r.Post("/signup", h.signup)
		r.Get("/login", h.loginForm)
		r.Post("/login", h.login)
		r.Post("/logout", h.logout)

		r.Group(func(r chi.Router) {
			r.Use(h.requireAdmin)
			r.Get("/admin/users", h.adminUsers)
			r.Post("/admin/users/{name}/role", h.adminSetRole)
		})
	})
	return r
}

// staticHandler serves embedded assets; they change only with the binary,
// so browsers revalidate after a short while.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}
