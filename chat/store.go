package chat

import (
	"context"
	"time"
)

// The storage interfaces the domain consumes. Package store implements all
// of them, on SQLite or PostgreSQL. Implementations return *Error values with ENOTFOUND or
// ECONFLICT where documented, and plain (internal) errors otherwise. Every
// method is safe for concurrent use.

// NamespaceStore reads the namespaces and rooms, which are data (seeded by a
// migration), not code.
type NamespaceStore interface {
	// ListNamespaces returns the namespaces a user with the given role may
	// enter, ordered by id. Pass RoleAdmin to list every namespace.
	ListNamespaces(ctx context.Context, role Role) ([]Namespace, error)

	// FindNamespace returns the namespace with the given endpoint (e.g.
	// "/user"), or an ENOTFOUND error.
	FindNamespace(ctx context.Context, endpoint string) (Namespace, error)

	// ListRooms returns the rooms of the namespace with the given endpoint,
	// ordered by id; an unknown namespace has no rooms.
	ListRooms(ctx context.Context, endpoint string) ([]Room, error)

	// FindRoom returns the room with the given title in the namespace with
	// the given endpoint, or an ENOTFOUND error.
	FindRoom(ctx context.Context, endpoint, title string) (Room, error)

	RoomAdminStore // rooms created and deleted live (rooms.go)
}

// MessageStore stores and reads chat messages.
type MessageStore interface {
	// AppendMessage stores msg and returns it with its new ID (and Time
	// set to now when it was zero). msg.Namespace, msg.Room, msg.UserID,
	// msg.Username and msg.Text must be set; the text is stored unchanged.
	// The message is committed durably before AppendMessage returns, so an
	// acknowledgement sent afterwards means "stored". An unknown room gives
	// an ENOTFOUND error. IDs grow with each message.
	AppendMessage(ctx context.Context, msg Message) (Message, error)

	// LastMessages returns the last limit messages of a room, oldest first
	// (by id). An unknown room has no messages.
	LastMessages(ctx context.Context, namespace, room string, limit int) ([]Message, error)

	HistoryStore // history pages, edits, deletions, search (history.go)
}

// UserStore stores accounts.
type UserStore interface {
	// CreateUser stores a new account with the given name, role and
	// encoded password hash and returns it with its ID and creation time.
	// A name already taken (without regard to case) gives an ECONFLICT
	// error.
	CreateUser(ctx context.Context, name string, role Role, passwordHash string) (User, error)

	// FindUserByName returns the account with the given name (without
	// regard to case), or an ENOTFOUND error.
	FindUserByName(ctx context.Context, name string) (User, error)

	// FindCredentials returns the account with the given name (without
	// regard to case) and its encoded password hash, or an ENOTFOUND error.
	FindCredentials(ctx context.Context, name string) (User, string, error)

	// SetUserRole changes the role of the named account and returns it,
	// or gives an ENOTFOUND error.
	SetUserRole(ctx context.Context, name string, role Role) (User, error)

	// SetPasswordHash replaces the password hash of the named account, or
	// gives an ENOTFOUND error.
	SetPasswordHash(ctx context.Context, name, passwordHash string) error

	// ListUsers returns every account, ordered by name without regard to
	// case.
	ListUsers(ctx context.Context) ([]User, error)
}

// LoginSession is a stored sign-in session. Only the SHA-256 hash of the token is
// stored; the token itself is known only to the client (in its cookie).
type LoginSession struct {
	TokenHash []byte
	UserID    int64
	Created   time.Time
	Expires   time.Time
}

// SessionStore stores sign-in sessions.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s LoginSession) error

	// FindSessionUser returns the user of the session with the given token
	// hash if that session exists and expires after now, or an ENOTFOUND
	// error.
	FindSessionUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error)

	// DeleteSession removes the session with the given token hash (no
	// error if there is none).
	DeleteSession(ctx context.Context, tokenHash []byte) error

	// DeleteExpiredSessions removes every session that expired at or
	// before now and returns how many were removed.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}
