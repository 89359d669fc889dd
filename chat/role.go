package chat

import "strings"

// Role is the role of a user. Roles are ordered: RoleUser < RoleCreator <
// RoleAdmin, and a role may do everything a lower role may.
type Role string

// The roles, lowest first. New accounts get RoleUser.
const (
	RoleUser    Role = "user"
	RoleCreator Role = "creator"
	RoleAdmin   Role = "admin"
)

// Roles lists every role, lowest first.
var Roles = []Role{RoleUser, RoleCreator, RoleAdmin}

// ParseRole returns the role named s (case-insensitive, surrounding white
// space ignored), or an EINVALID error.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", Errorf(EINVALID, "unknown role %q (want user, creator or admin)", s)
	}
	return r, nil
}

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// rank orders the roles; 0 means not a role.
func (r Role) rank() int {
	switch r {
	case RoleUser:
		return 1
	case RoleCreator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r is min or a higher role. An invalid role is
// never at least anything.
func (r Role) AtLeast(min Role) bool {
	return r.Valid() && min.Valid() && r.rank() >= min.rank()
}

// MayEnter reports whether a user with role r may connect to ns.
func (r Role) MayEnter(ns Namespace) bool { return r.AtLeast(ns.MinRole) }

// String returns the role's name.
func (r Role) String() string { return string(r) }
