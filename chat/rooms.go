package chat

import "context"

// RoomAdminStore is the part of NamespaceStore behind rooms created and
// deleted live (docs/protocol.md, "Rooms as data, managed live"). Titles
// are unique in their namespace without regard to case.
type RoomAdminStore interface {
	// CreateRoom adds a public room with the given title to the
	// namespace with the given endpoint and returns it. A title taken
	// in the namespace (without regard to case) gives an ECONFLICT
	// error, an unknown namespace ENOTFOUND.
	CreateRoom(ctx context.Context, endpoint, title string) (Room, error)

	// DeleteRoom removes the room of the namespace whose title matches
	// title without regard to case, with all its messages, and returns
	// it as it was, or gives an ENOTFOUND error.
	DeleteRoom(ctx context.Context, endpoint, title string) (Room, error)
}

// MaxRoomTitleLen is the longest room title, in characters.
const MaxRoomTitleLen = 32

// ValidateRoomTitle applies the room title rule: 1 to MaxRoomTitleLen
// ASCII letters, digits, '-' and '_', nothing trimmed. It returns an
// EINVALID error for any other title.
func ValidateRoomTitle(title string) error {
	if title == "" || len(title) > MaxRoomTitleLen {
		return Errorf(EINVALID, "a room title has 1 to %d characters", MaxRoomTitleLen)
	}
	for i := 0; i < len(title); i++ {
		c := title[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return Errorf(EINVALID, "a room title has only ASCII letters, digits, '-' and '_'")
		}
	}
	return nil
}

// MayCreateRoom reports whether a user with role r may add rooms to ns:
// a creator or admin, and in a namespace only admins may enter, an admin.
func (r Role) MayCreateRoom(ns Namespace) bool {
	return r.AtLeast(RoleCreator) && r.MayEnter(ns)
}

// MayDeleteRoom reports whether a user with role r may delete rooms:
// admins only.
func (r Role) MayDeleteRoom() bool { return r == RoleAdmin }
