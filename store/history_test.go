package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

// post appends a message and fails the test on error.
func post(tb testing.TB, db *store.DB, u chat.User, ns, room, text string) chat.Message {
	tb.Helper()
	m, err := db.AppendMessage(context.Background(), chat.Message{Namespace: ns, Room: room, UserID: u.ID, Username: u.Name, Text: text})
	if err != nil {
		tb.Fatalf("append %q to %s %s: %v", text, ns, room, err)
	}
	return m
}

func ids(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func search(t *testing.T, db *store.DB, ns, room, query string) []int64 {
	t.Helper()
	msgs, err := db.SearchMessages(context.Background(), ns, room, chat.SearchWords(query), 50)
	if err != nil {
		t.Fatalf("search %q in %s %q: %v", query, ns, room, err)
	}
	return ids(msgs)
}

func TestMessagesBeforePages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "paula", chat.RoleUser)
		var all []int64
		for i := range 120 {
			all = append(all, post(t, db, u, "/user", "chat", fmt.Sprintf("m%d", i)).ID)
			if i%10 == 0 {
				post(t, db, u, "/user", "random", "elsewhere")
			}
		}
		for _, tc := range []struct {
			before int64
			limit  int
			want   []int64
		}{
			{all[100], 50, all[50:100]},
			{all[100], 1, all[99:100]},
			{all[10], 50, all[:10]},
			{all[0], 50, []int64{}},
			{all[119] + 1000, 100, all[20:120]},
		} {
			got, err := db.MessagesBefore(ctx, "/user", "chat", tc.before, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("before %d limit %d: ids %v, want %v", tc.before, tc.limit, ids(got), tc.want)
			}
			for _, m := range got {
				if m.Namespace != "/user" || m.Room != "chat" || m.Username != "paula" || m.UserID != u.ID || m.Time == 0 || m.Edited != 0 {
					t.Fatalf("message %+v", m)
				}
			}
		}
		if got, err := db.MessagesBefore(ctx, "/user", "nope", all[100], 50); err != nil || got == nil || len(got) != 0 {
			t.Errorf("unknown room: %v, %v", got, err)
		}
		if got, err := db.MessagesBefore(ctx, "/admin", "chat", all[100], 50); err != nil || len(got) != 0 {
			t.Errorf("room of another namespace: %v, %v", got, err)
		}
	})
}

func TestEditMessage(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "edna", chat.RoleUser)
		m := post(t, db, u, "/user", "chat", "the old words")
		edited, err := db.EditMessage(ctx, m.ID, "<i>brand new</i> words", 1234)
		if err != nil {
			t.Fatal(err)
		}
		want := m
		want.Text, want.Edited = "<i>brand new</i> words", 1234
		if edited != want {
			t.Errorf("edited = %+v, want %+v", edited, want)
		}
		if got, err := db.FindMessage(ctx, m.ID); err != nil || got != want {
			t.Errorf("FindMessage = %+v, %v", got, err)
		}
		if last, err := db.LastMessages(ctx, "/user", "chat", 50); err != nil || len(last) != 1 || last[0] != want {
			t.Errorf("LastMessages = %+v, %v", last, err)
		}
		if got := search(t, db, "/user", "", "old"); len(got) != 0 {
			t.Errorf("search for the old text found %v", got)
		}
		if got := search(t, db, "/user", "", "brand"); !slices.Equal(got, []int64{m.ID}) {
			t.Errorf("search for the new text found %v", got)
		}
		if _, err := db.EditMessage(ctx, m.ID+100, "x", 1); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("edit of an unknown message: %v", err)
		}
		if _, err := db.FindMessage(ctx, m.ID+100); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("FindMessage of an unknown message: %v", err)
		}
	})
}

func TestDeleteMessageAndAudit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		author := mustCreateUser(t, db, "dora", chat.RoleUser)
		admin := mustCreateUser(t, db, "mod", chat.RoleAdmin)
		own := post(t, db, author, "/user", "chat", "mine to remove")
		other := post(t, db, author, "/user", "chat", "moderated remark")
		kept := post(t, db, author, "/user", "chat", "stays here remark")

		if got, err := db.DeleteMessage(ctx, own.ID, author); err != nil || got.ID != own.ID || got.Text != own.Text || got.Room != "chat" || got.Namespace != "/user" {
			t.Fatalf("delete by the author = %+v, %v", got, err)
		}
		if d, err := db.Deletions(ctx, 10); err != nil || len(d) != 0 {
			t.Errorf("deletions after the author's own: %+v, %v", d, err)
		}
		if _, err := db.DeleteMessage(ctx, other.ID, admin); err != nil {
			t.Fatal(err)
		}
		d, err := db.Deletions(ctx, 10)
		if err != nil || len(d) != 1 {
			t.Fatalf("deletions = %+v, %v", d, err)
		}
		x := d[0]
		if x.MessageID != other.ID || x.Namespace != "/user" || x.Room != "chat" || x.AuthorID != author.ID || x.Author != "dora" ||
			x.DeleterID != admin.ID || x.Deleter != "mod" || x.Text != "moderated remark" || x.Posted != other.Time || x.Deleted == 0 {
			t.Errorf("audit row %+v", x)
		}
		for _, id := range []int64{own.ID, other.ID} {
			if _, err := db.FindMessage(ctx, id); chat.ErrorCode(err) != chat.ENOTFOUND {
				t.Errorf("FindMessage of deleted %d: %v", id, err)
			}
			if _, err := db.DeleteMessage(ctx, id, admin); chat.ErrorCode(err) != chat.ENOTFOUND {
				t.Errorf("second delete of %d: %v", id, err)
			}
			if _, err := db.EditMessage(ctx, id, "again", 1); chat.ErrorCode(err) != chat.ENOTFOUND {
				t.Errorf("edit of deleted %d: %v", id, err)
			}
		}
		if d, _ := db.Deletions(ctx, 10); len(d) != 1 {
			t.Errorf("a failed delete wrote an audit row: %+v", d)
		}
		if last, err := db.LastMessages(ctx, "/user", "chat", 50); err != nil || !slices.Equal(ids(last), []int64{kept.ID}) {
			t.Errorf("LastMessages = %v, %v", ids(last), err)
		}
		if page, err := db.MessagesBefore(ctx, "/user", "chat", kept.ID+1, 50); err != nil || !slices.Equal(ids(page), []int64{kept.ID}) {
			t.Errorf("MessagesBefore = %v, %v", ids(page), err)
		}
		if got := search(t, db, "/user", "", "remark"); !slices.Equal(got, []int64{kept.ID}) {
			t.Errorf("search after deletions = %v", got)
		}
	})
}

func TestCreateAndDeleteRooms(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "rita", chat.RoleCreator)
		r, err := db.CreateRoom(ctx, "/user", "Lobby_1")
		if err != nil || r.ID == 0 || r.Title != "Lobby_1" || r.Namespace != "/user" || r.Private {
			t.Fatalf("CreateRoom = %+v, %v", r, err)
		}
		rooms, _ := db.ListRooms(ctx, "/user")
		if len(rooms) != 4 || rooms[3] != r {
			t.Errorf("rooms = %+v", rooms)
		}
		for _, title := range []string{"lobby_1", "LOBBY_1", "Lobby_1", "CHAT", "chat"} {
			if _, err := db.CreateRoom(ctx, "/user", title); chat.ErrorCode(err) != chat.ECONFLICT {
				t.Errorf("CreateRoom %q: %v, want conflict", title, err)
			}
		}
		if other, err := db.CreateRoom(ctx, "/creator", "lobby_1"); err != nil || other.ID == r.ID {
			t.Errorf("same title in another namespace: %+v, %v", other, err)
		}
		if _, err := db.CreateRoom(ctx, "/nope", "x"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("unknown namespace: %v", err)
		}
		m := post(t, db, u, "/user", "Lobby_1", "hello lobby")
		keep := post(t, db, u, "/user", "chat", "hello chat")

		gone, err := db.DeleteRoom(ctx, "/user", "LOBBY_1")
		if err != nil || gone != r {
			t.Fatalf("DeleteRoom = %+v, %v; want %+v", gone, err, r)
		}
		if _, err := db.DeleteRoom(ctx, "/user", "lobby_1"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("second DeleteRoom: %v", err)
		}
		if _, err := db.FindMessage(ctx, m.ID); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("a message of the deleted room: %v", err)
		}
		if got := search(t, db, "/user", "", "hello"); !slices.Equal(got, []int64{keep.ID}) {
			t.Errorf("search after the room's deletion = %v", got)
		}
		if _, err := db.FindRoom(ctx, "/creator", "lobby_1"); err != nil {
			t.Errorf("the other namespace's room went too: %v", err)
		}
		// The title is free again; the new room has none of the old
		// room's messages.
		again, err := db.CreateRoom(ctx, "/user", "lobby_1")
		if err != nil || again.ID == r.ID {
			t.Fatalf("CreateRoom again = %+v, %v", again, err)
		}
		if last, err := db.LastMessages(ctx, "/user", "lobby_1", 50); err != nil || len(last) != 0 {
			t.Errorf("history of the new room = %+v, %v", last, err)
		}
	})
}

func TestSearchMessages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "sam", chat.RoleUser)
		a := post(t, db, u, "/user", "chat", "The quick brown fox")
		b := post(t, db, u, "/user", "random", "a QUICK red fox, jumping")
		c := post(t, db, u, "/user", "chat", `quick "NOT" fox OR title:x NEAR(a b) * ^c -d`)
		d := post(t, db, u, "/admin", "general", "quick fox in admin")
		e := post(t, db, u, "/user", "help", "Grüße aus Köln, ünïcödé")

		for _, tc := range []struct {
			ns, room, query string
			want            []int64
		}{
			{"/user", "", "fox", []int64{c.ID, b.ID, a.ID}},
			{"/user", "", "quick FOX", []int64{c.ID, b.ID, a.ID}},
			{"/user", "", "fox brown", []int64{a.ID}},
			{"/user", "", "fox lazy", nil},
			{"/user", "chat", "fox", []int64{c.ID, a.ID}},
			{"/user", "random", "jumping", []int64{b.ID}},
			{"/admin", "", "fox", []int64{d.ID}},
			{"/user", "", "fox,", []int64{c.ID, b.ID, a.ID}},
			// Search syntax is text.
			{"/user", "", `NOT`, []int64{c.ID}},
			{"/user", "", `"NOT"`, []int64{c.ID}},
			{"/user", "", `fox OR`, []int64{c.ID}},
			{"/user", "", `NEAR(a b)`, []int64{c.ID}},
			{"/user", "", `title:x`, []int64{c.ID}},
			{"/user", "", `brown*`, []int64{a.ID}},
			{"/user", "", `-brown`, []int64{a.ID}},
			{"/user", "", `bro*`, nil},
			{"/user", "", `fox "`, []int64{c.ID, b.ID, a.ID}},
			{"/user", "", `köln grüße`, []int64{e.ID}},
			{"/user", "", `ÜNÏCÖDÉ`, []int64{e.ID}},
			{"/user", "", `unicode`, nil},
			{"/nope", "", "fox", nil},
		} {
			got := search(t, db, tc.ns, tc.room, tc.query)
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("search %q in %s %q = %v, want %v", tc.query, tc.ns, tc.room, got, tc.want)
			}
		}
		if _, err := db.SearchMessages(ctx, "/user", "nope", []string{"fox"}, 50); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("search in an unknown room: %v", err)
		}
		if _, err := db.SearchMessages(ctx, "/user", "general", []string{"fox"}, 50); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("search in a room of another namespace: %v", err)
		}
		// Newest first, at most limit.
		var want []int64
		for i := range 60 {
			want = append(want, post(t, db, u, "/user", "help", fmt.Sprintf("bulk item %d", i)).ID)
		}
		slices.Reverse(want)
		got, err := db.SearchMessages(ctx, "/user", "", []string{"bulk"}, 50)
		if err != nil || !slices.Equal(ids(got), want[:50]) {
			t.Errorf("bulk search = %v, %v", ids(got), err)
		}
		if got[0].Room != "help" || got[0].Namespace != "/user" || got[0].Username != "sam" || got[0].Text != "bulk item 59" {
			t.Errorf("search result %+v", got[0])
		}
	})
}

// Messages stored before migration 00003 are found by search once it is
// applied; rolling it back and applying it again keeps the data.
func TestSearchIndexesExistingMessages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "old", chat.RoleUser)
		if err := db.MigrateDownTo(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if v, _ := db.SchemaVersion(ctx); v != 2 {
			t.Fatalf("version %d after rolling back", v)
		}
		m := post(t, db, u, "/user", "chat", "written before search existed")
		if err := db.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		if got := search(t, db, "/user", "", "before existed"); !slices.Equal(got, []int64{m.ID}) {
			t.Errorf("search of a message older than the index = %v", got)
		}
		if got, err := db.FindMessage(ctx, m.ID); err != nil || got.Edited != 0 || got.Text != m.Text {
			t.Errorf("FindMessage = %+v, %v", got, err)
		}
	})
}

// The search reads the full-text index, not every message. PostgreSQL
// rightly scans a table this small (BenchmarkSearch shows it reading the
// index in a big one): there the plan is asked without sequential scans,
// which shows that the query matches the index.
func TestSearchUsesTextIndex(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "ix", chat.RoleUser)
		if err := db.InsertMessages(ctx, "/user", "chat", u.ID, 3000); err != nil {
			t.Fatal(err)
		}
		post(t, db, u, "/user", "chat", "a rare needle")
		ns, err := db.FindNamespace(ctx, "/user")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := db.ExplainSearch(ctx, ns.ID, []string{"needle"})
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		if strings.Contains(plan, "Scan") { // PostgreSQL
			ok = strings.Contains(plan, "Bitmap Index Scan on messages_search") && !strings.Contains(plan, "Seq Scan on messages")
		} else { // SQLite
			ok = strings.Contains(plan, "SCAN f VIRTUAL TABLE INDEX") && !strings.Contains(plan, "SCAN m") &&
				!strings.Contains(plan, "TEMP B-TREE")
		}
		if !ok {
			t.Errorf("plan of the search:\n%s", plan)
		}
	})
}
