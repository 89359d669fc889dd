package chat

import (
	"time"
	"unicode/utf8"
)

// User is an account.
type User struct {
	ID      int64
	Name    string // as chosen at sign-up; unique without regard to case
	Role    Role
	Created time.Time
}

// Limits of user names and passwords.
const (
	UsernameMinLen = 3
	UsernameMaxLen = 32
	PasswordMinLen = 8    // in characters (Unicode code points)
	PasswordMaxLen = 1024 // in bytes; bounds the hashing work per request
)

// ValidateUsername checks the sign-up rule for names: 3 to 32 of ASCII
// letters, digits, '_' and '-'. It returns an EINVALID error otherwise.
func ValidateUsername(name string) error {
	if len(name) < UsernameMinLen || len(name) > UsernameMaxLen {
		return Errorf(EINVALID, "username must be %d to %d characters long", UsernameMinLen, UsernameMaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return Errorf(EINVALID, "username may contain only ASCII letters, digits, '_' and '-'")
		}
	}
	return nil
}

// ValidatePassword checks the password rule: at least 8 characters (and at
// most 1024 bytes). It returns an EINVALID error otherwise.
func ValidatePassword(password string) error {
	if utf8.RuneCountInString(password) < PasswordMinLen {
		return Errorf(EINVALID, "password must be at least %d characters long", PasswordMinLen)
	}
	if len(password) > PasswordMaxLen {
		return Errorf(EINVALID, "password must be at most %d bytes long", PasswordMaxLen)
	}
	return nil
}
