// Package admin instruments a socketio.Server for the Socket.IO Admin UI
// dashboard (the npm package @socket.io/admin-ui, whose instrument()
// function it follows, version 0.5.1).
//
//	io := socketio.NewServer(nil)
//	hash, _ := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.DefaultCost)
//	ins, err := admin.Instrument(io, admin.Options{
//		Namespace: "/admin",
//		Auth:      &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)},
//	})
//	...
//	defer ins.Close()
//
// The dashboard connects to Options.Namespace with a Socket.IO client. It
// gets, in this order, "session" (with basic authentication: an id it can
// reconnect with instead of the password), "config" (the features the
// server supports) and, in development mode, "all_sockets"; then
// "server_stats" every Options.StatsInterval and, in development mode,
// every change: "socket_connected", "socket_updated" (a transport
// upgrade), "socket_disconnected", "room_joined", "room_left",
// "event_received" and "event_sent". Unless Options.ReadOnly is set, it
// may send the commands "emit", "join", "leave" and "_disconnect", which
// act on the sockets of a namespace, all of them or those in a room (a
// socket's id names a room holding only it), on every node.
//
// What the dashboard sees of a socket is its id, its connection's id (the
// first 12 characters, as the reference shows), its transport, its
// namespace, its data (Socket.Data as JSON), its rooms and its handshake:
// the address (from CF-Connecting-IP or X-Forwarded-For when present), the
// headers, the query, the times, the URL. The Cookie, Authorization and
// Proxy-Authorization headers, and those of Options.RedactHeaders, are
// shown as "[redacted]": a session cookie or a token never reaches the
// dashboard. The CONNECT payload (auth) is not sent either.
//
// Room changes are observed through the adapter's OnRoomChange
// (adapter.Memory, and the adapters embedding it); with another adapter
// the dashboard sees the rooms of a socket when it connects, not later
// changes.
//
// Events reach the dashboard in the order they happened on this node,
// through one queue served by one goroutine; when more than
// Options.MaxQueued events wait (a dashboard cannot keep up with a busy
// server in development mode), the newest are dropped.
package admin
