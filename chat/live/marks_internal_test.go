package live

import (
	"encoding/json"
	"testing"

	"github.com/chatd/chatd/chat"
)

// newestID reads the id of the last message of a history as
// chat.Messages encodes it, whatever the texts hold.
func TestNewestID(t *testing.T) {
	for _, msgs := range [][]chat.Message{
		{},
		{{ID: 7, Text: `x`}},
		{{ID: 3, Text: `{"id":99}`}, {ID: 12, Text: `{"id":100, "a": "}"}`, Username: "u"}},
		{{ID: 1}, {ID: 9223372036854775807, Text: "\u2028{\"id\":5}"}},
	} {
		b, err := json.Marshal(msgs)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		if len(msgs) > 0 {
			want = msgs[len(msgs)-1].ID
		}
		if got := newestID(b); got != want {
			t.Errorf("newestID(%s) = %d, want %d", b, got, want)
		}
	}
}
