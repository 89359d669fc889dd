package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/admin"
	"github.com/chatd/chatd/socketio/admin/adminui"
	"github.com/go-chi/chi/v5"
)

// adminUIPath is where the dashboard is served.
const adminUIPath = "/admin-ui"

// setupAdminUI instruments sio for the Socket.IO Admin UI on its own
// namespace and serves the dashboard at /admin-ui/. The chat namespaces
// are registered already: the admin namespace must be none of them. It
// returns the function that stops the instrumentation.
func setupAdminUI(c AdminUIConfig, sio *socketio.Server, router chi.Router, logger *slog.Logger) (func(), error) {
	if sio.HasNamespace(c.Namespace) {
		return nil, fmt.Errorf("-admin-ui-namespace %s is a chat namespace", c.Namespace)
	}
	opts := admin.Options{Namespace: c.Namespace, ReadOnly: c.ReadOnly, Mode: admin.Development}
	if c.Production {
		opts.Mode = admin.Production
	}
	if c.NoAuth {
		opts.NoAuth = true
		logger.Warn("the Socket.IO Admin UI has no login (-admin-ui-no-auth)")
	} else {
		opts.Auth = &admin.BasicAuth{Username: c.Username, PasswordHash: c.PasswordHash}
	}
	ins, err := admin.Instrument(sio, opts)
	if err != nil {
		return nil, err
	}
	router.Handle(adminUIPath, http.RedirectHandler(adminUIPath+"/", http.StatusMovedPermanently))
	router.Handle(adminUIPath+"/*", http.StripPrefix(adminUIPath, adminui.Handler()))
	logger.Info("Socket.IO Admin UI", "dashboard", adminUIPath+"/", "namespace", c.Namespace,
		"readonly", c.ReadOnly, "mode", opts.Mode)
	return func() { _ = ins.Close() }, nil
}
