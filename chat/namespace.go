package chat

// Namespace is a chat namespace (a Socket.IO namespace other than "/").
// Its JSON form is the Namespace shape of docs/protocol.md; MinRole, the
// lowest role allowed to connect, is not part of it.
type Namespace struct {
	ID       int64  `json:"id"`
	Title    string `json:"nsTitle"`
	Img      string `json:"img"`
	Endpoint string `json:"endpoint"`
	MinRole  Role   `json:"-"`
}

// Room is a room of a namespace. Its JSON form is the Room shape of
// docs/protocol.md. Private rooms are reserved for rooms not listed to
// non-members; every predefined room is public.
type Room struct {
	ID        int64  `json:"roomId"`
	Title     string `json:"roomTitle"`
	Namespace string `json:"namespace"` // the namespace's endpoint, e.g. "/user"
	Private   bool   `json:"privateRoom"`
}

// Message is a chat message. Its JSON form is the Message shape of
// docs/protocol.md. Time is in milliseconds since the Unix epoch.
type Message struct {
	ID        int64  `json:"id"`
	Namespace string `json:"namespace"` // endpoint, e.g. "/user"
	Room      string `json:"room"`      // room title, e.g. "chat"
	Username  string `json:"username"`
	Text      string `json:"text"`
	Time      int64  `json:"time"`
	Edited    int64  `json:"edited"` // when last edited, ms; 0 = never
	UserID    int64  `json:"-"`      // the author's account; not sent to clients
}

// HistorySize is the number of messages sent in historyUpdate.
const HistorySize = 50
