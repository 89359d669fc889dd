package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/web/templates"
	"github.com/go-chi/chi/v5"
)

// requireAdmin lets only signed-in admins through; everyone else gets 403.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFromContext(r.Context())
		if !ok || u.Role != chat.RoleAdmin {
			h.renderError(w, r, http.StatusForbidden, "Forbidden", "Only admins may manage users.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) {
	view := templates.AdminUsersView{}
	if r.URL.Query().Get("saved") != "" {
		view.Notice = fmt.Sprintf("Role of %s saved.", r.URL.Query().Get("saved"))
	}
	h.renderAdmin(w, r, http.StatusOK, view)
}

func (h *Handler) renderAdmin(w http.ResponseWriter, r *http.Request, status int, view templates.AdminUsersView) {
	me, _ := UserFromContext(r.Context())
	users, err := h.cfg.Accounts.ListUsers(r.Context())
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	view.Me, view.Users, view.Roles = me, users, chat.Roles
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, templates.AdminUsersPage(view))
}

// adminSetRole changes another user's role (form field "role") and
// redirects back to the list.
func (h *Handler) adminSetRole(w http.ResponseWriter, r *http.Request) {
	me, _ := UserFromContext(r.Context())
	name := chi.URLParam(r, "name")
	role, err := chat.ParseRole(r.PostFormValue("role"))
	if err == nil && chat.ValidateUsername(name) == nil && strings.EqualFold(name, me.Name) {
		err = chat.Errorf(chat.EINVALID, "you cannot change your own role")
	}
	if err == nil {
		var u chat.User
		if u, err = h.cfg.Accounts.SetRole(r.Context(), name, role); err == nil {
			h.log.Info("role changed", "user", u.Name, "role", u.Role, "by", me.Name)
			http.Redirect(w, r, "/admin/users?saved="+url.QueryEscape(u.Name), http.StatusSeeOther)
			return
		}
	}
	h.renderAdmin(w, r, statusOf(err), templates.AdminUsersView{Error: h.clientMessage(r, err)})
}
