package chat

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HistoryStore is the part of MessageStore behind history pages, edits,
// deletions and search (docs/protocol.md, "History pages", "Editing,
// deleting, moderation", "Search"). A deletion is a hard delete: the
// message leaves every later read and the search index.
type HistoryStore interface {
	// MessagesBefore returns the newest limit messages of a room whose
	// ids are below beforeID, oldest first; never nil. An unknown room
	// has no messages.
	MessagesBefore(ctx context.Context, namespace, room string, beforeID int64, limit int) ([]Message, error)

	// FindMessage returns the message with the given id, or an
	// ENOTFOUND error.
	FindMessage(ctx context.Context, id int64) (Message, error)

	// EditMessage replaces the text of the message with the given id,
	// sets its Edited time (ms) and returns it as stored, or gives an
	// ENOTFOUND error. The search index follows the new text.
	EditMessage(ctx context.Context, id int64, text string, edited int64) (Message, error)

	// DeleteMessage removes the message with the given id and returns
	// it as it was, or gives an ENOTFOUND error. When by is not its
	// author, a Deletion is written first, in the same transaction.
	DeleteMessage(ctx context.Context, id int64, by User) (Message, error)

	// SearchMessages returns up to limit messages of the namespace (of
	// its room named room, when not empty) whose text holds every one
	// of words as a word, newest first; never nil. An unknown room gives
	// an ENOTFOUND error.
	SearchMessages(ctx context.Context, namespace, room string, words []string, limit int) ([]Message, error)
}

// Deletion is the audit record of a message deleted by someone other
// than its author.
type Deletion struct {
	MessageID int64
	Namespace string
	Room      string
	AuthorID  int64
	Author    string
	DeleterID int64
	Deleter   string
	Text      string
	Posted    int64 // the message's time, ms
	Deleted   int64 // ms
}

// The limits of a history page (loadHistory).
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// The limits of a search (searchMessages).
const (
	SearchLimit    = 50  // the most messages of an answer
	MaxSearchLen   = 200 // the longest query, in characters
	MaxSearchWords = 16  // the most words of a query
)

// Page returns the newest limit (1..MaxPageSize) messages of room with
// ids below beforeID (at least 1), oldest first; never nil. It reads the
// store, not the cached history.
func (m *Messages) Page(ctx context.Context, room RoomID, beforeID int64, limit int) ([]Message, error) {
	if beforeID < 1 {
		return nil, Errorf(EINVALID, "beforeId must be a positive integer")
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, Errorf(EINVALID, "limit must be 1 to %d", MaxPageSize)
	}
	msgs, err := m.store.MessagesBefore(ctx, room.Namespace, room.Room, beforeID, limit)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return msgs, nil
}

// found returns the message with the given id if it is in namespace, or
// an ENOTFOUND error (a message of another namespace is not found here).
func (m *Messages) found(ctx context.Context, namespace string, id int64) (Message, error) {
	msg, err := m.store.FindMessage(ctx, id)
	if err == nil && msg.Namespace != namespace {
		err = Errorf(ENOTFOUND, "no message %d here", id)
	}
	return msg, err
}

// Edit replaces the text of the message id of namespace by its author
// and returns it as stored. The text rule and the rate limit of Post
// apply (EINVALID, ERATELIMITED); a message that is not in namespace (or
// no longer exists) gives ENOTFOUND, one of someone else EFORBIDDEN.
func (m *Messages) Edit(ctx context.Context, author User, namespace string, id int64, text string) (Message, error) {
	text, err := ValidateText(text)
	if err != nil {
		return Message{}, err
	}
	old, err := m.found(ctx, namespace, id)
	if err != nil {
		return Message{}, err
	}
	if old.UserID != author.ID {
		return Message{}, Errorf(EFORBIDDEN, "only its author may edit a message")
	}
	if !m.opts.Limiter.Allow(author.ID) {
		return Message{}, Errorf(ERATELIMITED, "too many messages; slow down")
	}
	edited := max(m.opts.Now().UnixMilli(), old.Edited+1, 1)
	msg, err := m.store.EditMessage(ctx, id, text, edited)
	if err != nil {
		return Message{}, err
	}
	m.ObserveEdit(msg)
	return msg, nil
}

// Delete removes the message id of namespace, by its author or by an
// admin (moderation, audited by the store), and returns it as it was. A
// message that is not in namespace (or no longer exists) gives ENOTFOUND,
// one of someone else deleted by a non-admin EFORBIDDEN.
func (m *Messages) Delete(ctx context.Context, by User, namespace string, id int64) (Message, error) {
	msg, err := m.found(ctx, namespace, id)
	if err != nil {
		return Message{}, err
	}
	if msg.UserID != by.ID && by.Role != RoleAdmin {
		return Message{}, Errorf(EFORBIDDEN, "only its author or an admin may delete a message")
	}
	msg, err = m.store.DeleteMessage(ctx, id, by)
	if err != nil {
		return Message{}, err
	}
	m.ObserveDelete(RoomID{Namespace: msg.Namespace, Room: msg.Room})
	return msg, nil
}

// Search returns the newest SearchLimit messages of namespace (of its
// room named room, when not empty) holding every word of query (see
// SearchWords). A query without words or longer than MaxSearchLen gives
// EINVALID, an unknown room ENOTFOUND.
func (m *Messages) Search(ctx context.Context, namespace, room, query string) ([]Message, error) {
	if n := utf8.RuneCountInString(query); n > MaxSearchLen {
		return nil, Errorf(EINVALID, "search query is too long (%d characters, at most %d)", n, MaxSearchLen)
	}
	words := SearchWords(query)
	if len(words) == 0 {
		return nil, Errorf(EINVALID, "search query has no words")
	}
	if len(words) > MaxSearchWords {
		return nil, Errorf(EINVALID, "search query has too many words (at most %d)", MaxSearchWords)
	}
	msgs, err := m.store.SearchMessages(ctx, namespace, room, words, SearchLimit)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return msgs, nil
}

// SearchWords splits a search query into its words: the pieces between
// white space that hold at least one letter or digit (the others, such
// as a lone "-" or "*", match nothing in either database's index and are
// left out), each once (without regard to case). A word is matched as
// text, never as search syntax: the store quotes it (an FTS5 string) or
// hands it to plainto_tsquery.
func SearchWords(query string) []string {
	var words []string
	seen := make(map[string]bool)
	for _, w := range strings.Fields(query) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
			continue
		}
		if k := strings.ToLower(w); !seen[k] {
			seen[k] = true
			words = append(words, w)
		}
	}
	return words
}

// ObserveEdit records the new text of an edited message (edited here or
// by another node) in the cached history of its room. It does nothing
// without CacheHistory.
func (m *Messages) ObserveEdit(msg Message) {
	if m.cache == nil {
		return
	}
	room := RoomID{Namespace: msg.Namespace, Room: msg.Room}
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.cache[room]
	if h == nil {
		return
	}
	if h.loading {
		// The load may have read the old text: the room is read again
		// next time.
		delete(m.cache, room)
		return
	}
	for i := range h.msgs {
		if h.msgs[i].ID == msg.ID {
			if msg.Edited >= h.msgs[i].Edited {
				h.msgs[i].Text, h.msgs[i].Edited = msg.Text, msg.Edited
				h.encoded = nil
			}
			return
		}
	}
}

// ObserveDelete tells that a message of room was deleted (here or by
// another node), or the room itself: its cached history is dropped, to be
// read again (and refilled to HistorySize) on the next read. It does
// nothing without CacheHistory.
func (m *Messages) ObserveDelete(room RoomID) {
	if m.cache == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// A load under way keeps its own entry, now detached: it answers
	// its reader and is not kept.
	delete(m.cache, room)
}
