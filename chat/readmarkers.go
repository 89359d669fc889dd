package chat

import "context"

// UnreadCap is the highest unread count reported for a room: a client
// shows "1000+" beyond it, and counting stops there, so a count costs the
// same in a room of a million unread messages.
const UnreadCap = 1000

// ReadMarkerStore keeps each user's read marker per room: the id of the
// last message the user has read there. A user has read nothing in a room
// until a marker is set (marker 0, as for a new account). Markers are
// shared by all of a user's sockets and devices and survive restarts.
// Package store implements it.
type ReadMarkerStore interface {
	// UnreadCounts returns, for every room of the namespace with the
	// given endpoint (by title), the number of its messages after the
	// user's marker that the user did not write, at most limit per room;
	// rooms without such messages are there with 0. An unknown namespace
	// has no rooms.
	UnreadCounts(ctx context.Context, userID int64, namespace string, limit int) (map[string]int, error)

	// MarkRead moves the user's marker in a room forward to id, or to the
	// id of the room's newest message when id is beyond it (so
	// math.MaxInt64 marks the whole room read). A marker never moves
	// back: an id at or below it changes nothing. An unknown room
	// changes nothing.
	MarkRead(ctx context.Context, userID int64, namespace, room string, id int64) error
}
