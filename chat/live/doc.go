// Package live speaks the chat protocol of docs/protocol.md over the
// socketio server: the namespace middlewares (session cookie, roles), the
// event handlers and their ack shapes, the origin check of handshakes, and
// the coalescing of updateMembers per room.
//
// The domain lives in package chat (accounts, the message service, the
// presence component, the storage interfaces); this package only maps it
// onto Socket.IO. Who is in a room is asked of the chat.Presence, never
// found by listing a room's sockets, so a join costs the same in a room of
// ten and of ten thousand, and no handshake crosses the cluster for it.
//
// In a cluster the nodes tell each other, with server-side events that
// carry no secret, what their clients' broadcasts do not: a message
// posted, edited or deleted (for the cached histories of chat.Messages),
// a user who logged out or changed role (for the cached sessions), and a
// room created or deleted (each node then forgets the namespace's cached
// rooms, takes its sockets out of a deleted room with roomDeleted, and
// sends its sockets of the namespace the new nsRoomLoad).
package live
