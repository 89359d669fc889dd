package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen is the most characters (Unicode code points) a message may
// have after trimming.
const MaxTextLen = 2000

// ValidateText applies the message text rule of docs/protocol.md: leading
// and trailing Unicode white space is trimmed, and the rest must have 1 to
// MaxTextLen code points. It returns the trimmed text, or an EINVALID error.
// The text is otherwise unchanged: it is data, never markup.
func ValidateText(text string) (string, error) {
	t := strings.TrimFunc(text, unicode.IsSpace)
	if t == "" {
		return "", Errorf(EINVALID, "message is empty")
	}
	if !utf8.ValidString(t) {
		return "", Errorf(EINVALID, "message is not valid UTF-8")
	}
	if strings.ContainsRune(t, 0) {
		// Not storable in every database (PostgreSQL text), and never
		// meaningful in a chat message.
		return "", Errorf(EINVALID, "message contains a NUL character")
	}
	if n := utf8.RuneCountInString(t); n > MaxTextLen {
		return "", Errorf(EINVALID, "message is too long (%d characters, at most %d)", n, MaxTextLen)
	}
	return t, nil
}
