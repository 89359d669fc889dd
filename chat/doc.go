// Package chat is the application domain of chatd: namespaces, rooms,
// messages, users and their roles, the rules for message text, the per-user
// message rate limit, accounts (sign-up, log-in with throttling, sessions),
// posting, editing, deleting and searching messages and reading pages of
// history (history.go), rooms created and deleted live (rooms.go),
// presence (who is in which room) and the storage interfaces the domain
// consumes.
//
// The wire contract spoken to clients is docs/protocol.md; the JSON shapes of
// Namespace, Room and Message here are exactly the shapes defined there.
//
// Package chat depends on no storage, HTTP or Socket.IO package: package
// store implements the interfaces of store.go on SQLite and PostgreSQL,
// package web serves the account pages, and package chat/live speaks the
// chat protocol over Socket.IO with the services of this package
// (Accounts, Messages) and its Presence (presence.go; MemoryPresence for
// one node, chat/redispresence for a cluster).
//
// Errors returned by this package and by implementations of its interfaces
// are *Error values carrying a Code (see error.go) wherever the caller must
// tell cases apart; ErrorCode and ErrorMessage turn any error into the code
// and the client-visible text, so internal details never reach a client.
package chat
