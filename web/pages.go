package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/web/templates"
)

// healthz answers 200 "ok" when the database answers, 503 otherwise.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.cfg.Health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.cfg.Health.Ping(ctx); err != nil {
			h.log.Error("health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unhealthy"))
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}

// chatPage serves the chat application to a signed-in user.
func (h *Handler) chatPage(w http.ResponseWriter, r *http.Request) {
	u, ok := UserFromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	nss, err := h.cfg.Namespaces.ListNamespaces(r.Context(), u.Role)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, templates.ChatPage(templates.ChatView{User: u, Namespaces: nss}))
}

func (h *Handler) signupForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, templates.SignupPage(templates.AuthForm{}))
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, templates.LoginPage(templates.AuthForm{}))
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	l, err := h.cfg.Accounts.SignUp(r.Context(), name, password)
	if err != nil {
		h.formError(w, r, err, templates.SignupPage(templates.AuthForm{Username: name, Error: h.clientMessage(r, err)}))
		return
	}
	h.log.Info("user signed up", "user", l.User.Name, "id", l.User.ID)
	h.setSessionCookie(w, r, l)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	l, err := h.cfg.Accounts.LogIn(r.Context(), name, password)
	if err != nil {
		if wait := chat.RetryAfter(err); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
			h.log.Warn("log-in throttled", "user", name)
		}
		h.formError(w, r, err, templates.LoginPage(templates.AuthForm{Username: name, Error: h.clientMessage(r, err)}))
		return
	}
	h.setSessionCookie(w, r, l)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(chat.SessionCookieName); err == nil && c.Value != "" {
		if err := h.cfg.Accounts.LogOut(r.Context(), c.Value); err != nil {
			h.log.Error("log-out", "err", err)
		}
	}
	h.clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// formError renders page with the status that matches err's code.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, err error, page templ.Component) {
	h.render(w, r, statusOf(err), page)
}

// statusOf maps an application error code to an HTTP status.
func statusOf(err error) int {
	switch chat.ErrorCode(err) {
	case chat.EINVALID:
		return http.StatusBadRequest
	case chat.ENOTFOUND:
		return http.StatusNotFound
	case chat.ECONFLICT:
		return http.StatusConflict
	case chat.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case chat.EFORBIDDEN:
		return http.StatusForbidden
	case chat.ERATELIMITED:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// clientMessage returns the message to show for err, logging internal
// errors (whose text is never shown).
func (h *Handler) clientMessage(r *http.Request, err error) string {
	if chat.ErrorCode(err) == chat.EINTERNAL {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		return "Something went wrong on our side. Please try again."
	}
	return chat.ErrorMessage(err)
}

func (h *Handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.renderError(w, r, http.StatusInternalServerError, "Server error", h.clientMessage(r, err))
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	h.render(w, r, status, templates.ErrorPage(templates.ErrorView{Status: status, Title: title, Message: msg}))
}
