package chat

import "context"

// Messages is the service behind posting and reading messages: it applies
// the text rule and the per-user rate limit, then appends to the store.
// It is safe for concurrent use.
type Messages struct {
	store   MessageStore
	limiter *RateLimiter
}

// NewMessages returns the service over store; limiter may be nil (no
// limit).
func NewMessages(store MessageStore, limiter *RateLimiter) *Messages {
	return &Messages{store: store, limiter: limiter}
}

// Post stores a message of author in room and returns it as stored (with
// its id and time). The text is validated first (ValidateText: EINVALID),
// then the author's rate limit is applied (ERATELIMITED; invalid texts do
// not count), then the message is appended; it is durably stored when
// Post returns without error. An unknown room gives ENOTFOUND.
func (m *Messages) Post(ctx context.Context, author User, room RoomID, text string) (Message, error) {
	text, err := ValidateText(text)
	if err != nil {
		return Message{}, err
	}
	if !m.limiter.Allow(author.ID) {
		return Message{}, Errorf(ERATELIMITED, "too many messages; slow down")
	}
	return m.store.AppendMessage(ctx, Message{
		Namespace: room.Namespace, Room: room.Room,
		UserID: author.ID, Username: author.Name, Text: text,
	})
}

// History returns the last limit messages of room, oldest first; never
// nil.
func (m *Messages) History(ctx context.Context, room RoomID, limit int) ([]Message, error) {
	msgs, err := m.store.LastMessages(ctx, room.Namespace, room.Room, limit)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return msgs, nil
}
