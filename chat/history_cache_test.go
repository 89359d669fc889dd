package chat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chatd/chatd/chat"
)

// The cached history follows edits (in place, without a read) and
// deletions (read again, refilled to HistorySize), also those observed
// from another node.
func TestCachedHistoryFollowsEditsAndDeletions(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	m := chat.NewMessages(st, chat.MessagesOptions{CacheHistory: true})
	other := chat.NewMessages(st, chat.MessagesOptions{}) // another node
	us := users(t, st, 2)
	alice, mod := us[0], chat.User{ID: us[1].ID, Name: us[1].Name, Role: chat.RoleAdmin}
	var posted []chat.Message
	for i := range chat.HistorySize + 5 {
		msg, err := m.Post(ctx, alice, chatRoom, fmt.Sprint("text ", i))
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, msg)
	}
	if _, err := m.History(ctx, chatRoom, chat.HistorySize); err != nil {
		t.Fatal(err)
	}
	reads := st.reads.Load()

	last := posted[len(posted)-1]
	edited, err := m.Edit(ctx, alice, "/user", last.ID, "  changed  ")
	if err != nil || edited.Text != "changed" || edited.Edited == 0 {
		t.Fatalf("Edit = %+v, %v", edited, err)
	}
	h, _ := m.History(ctx, chatRoom, chat.HistorySize)
	if got := h[len(h)-1]; got != edited || st.reads.Load() != reads {
		t.Fatalf("cached last message %+v (reads %d -> %d), want %+v", got, reads, st.reads.Load(), edited)
	}
	// An edit through another node, observed here.
	e2, err := other.Edit(ctx, alice, "/user", posted[10].ID, "from afar")
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveEdit(e2)
	h, _ = m.History(ctx, chatRoom, chat.HistorySize)
	if got := h[10-5]; got != e2 {
		t.Fatalf("cached message after an observed edit %+v, want %+v", got, e2)
	}

	// A moderator's deletion: the history is refilled from the store.
	if _, err := m.Delete(ctx, mod, "/user", posted[20].ID); err != nil {
		t.Fatal(err)
	}
	h, _ = m.History(ctx, chatRoom, chat.HistorySize)
	if len(h) != chat.HistorySize || h[0] != posted[4] || h[16].ID != posted[21].ID {
		t.Fatalf("history after a deletion: %d messages, first %+v", len(h), h[0])
	}
	// One through another node, observed here.
	gone, err := other.Delete(ctx, alice, "/user", posted[30].ID)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveDelete(chat.RoomID{Namespace: gone.Namespace, Room: gone.Room})
	h, _ = m.History(ctx, chatRoom, chat.HistorySize)
	if len(h) != chat.HistorySize || h[0] != posted[3] {
		t.Fatalf("history after an observed deletion: first %+v", h[0])
	}
	for _, msg := range h {
		if msg.ID == posted[20].ID || msg.ID == posted[30].ID {
			t.Fatalf("a deleted message in the history: %+v", msg)
		}
	}

	// Refusals.
	if _, err := m.Edit(ctx, mod, "/user", last.ID, "not mine"); chat.ErrorCode(err) != chat.EFORBIDDEN {
		t.Errorf("an admin's edit of another's message: %v", err)
	}
	if _, err := m.Edit(ctx, alice, "/creator", last.ID, "elsewhere"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("an edit from another namespace: %v", err)
	}
	if _, err := m.Delete(ctx, chat.User{ID: us[1].ID, Role: chat.RoleCreator}, "/user", last.ID); chat.ErrorCode(err) != chat.EFORBIDDEN {
		t.Errorf("a creator's deletion of another's message: %v", err)
	}
	if _, err := m.Page(ctx, chatRoom, 0, 10); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("Page before 0: %v", err)
	}
	if _, err := m.Search(ctx, "/user", "", " * "); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("Search without words: %v", err)
	}
}
