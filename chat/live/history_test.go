package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// request emits event with arg and an ack id to nsp and returns the ack's
// argument and the events that came before it.
func request(t *testing.T, c *socketiotest.Conn, nsp string, id int64, event string, arg any) (json.RawMessage, []socketiotest.Event) {
	t.Helper()
	if arg == nil {
		c.Emit(nsp, id, event)
	} else {
		c.Emit(nsp, id, event, arg)
	}
	var before []socketiotest.Event
	for {
		ev := c.ReadEvent()
		if ev.Name == "" && ev.ID == id && ev.Namespace == nsp {
			if len(ev.Args) != 1 {
				t.Fatalf("%s ack %s", event, ev.Args)
			}
			return ev.Args[0], before
		}
		before = append(before, ev)
	}
}

// wantError fails unless ack is { error: non-empty string } alone.
func wantError(t *testing.T, what string, ack json.RawMessage) {
	t.Helper()
	var body map[string]any
	if json.Unmarshal(ack, &body) != nil || len(body) != 1 {
		t.Fatalf("%s: ack %s, want an error", what, ack)
	}
	if s, ok := body["error"].(string); !ok || s == "" {
		t.Fatalf("%s: ack %s, want an error", what, ack)
	}
}

// wantOK fails unless ack is exactly { ok: true }.
func wantOK(t *testing.T, what string, ack json.RawMessage) {
	t.Helper()
	if string(ack) != `{"ok":true}` {
		t.Fatalf("%s: ack %s, want {\"ok\":true}", what, ack)
	}
}

// messagesOf decodes a { messages } ack, checking the key set of each.
func messagesOf(t *testing.T, what string, ack json.RawMessage) []chat.Message {
	t.Helper()
	var raw struct {
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(ack, &raw); err != nil || raw.Messages == nil {
		t.Fatalf("%s: ack %s, want { messages }", what, ack)
	}
	for _, m := range raw.Messages {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"edited", "id", "namespace", "room", "text", "time", "username"}; !slices.Equal(keys, want) {
			t.Fatalf("%s: message keys %v, want %v", what, keys, want)
		}
	}
	var body struct{ Messages []chat.Message }
	_ = json.Unmarshal(ack, &body)
	return body.Messages
}

func msgIDs(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// send posts text through c (in its current room of nsp) and returns the
// stored message, read from its comPeRoom.
func send(t *testing.T, c *socketiotest.Conn, nsp string, id int64, text string) chat.Message {
	t.Helper()
	ack, before := request(t, c, nsp, id, "newMsg2Server", map[string]string{"text": text})
	for _, ev := range before {
		if ev.Name == "comPeRoom" {
			var m chat.Message
			ev.Decode(t, 0, &m)
			if string(ack) == `{"id":`+itoa(m.ID)+`}` {
				return m
			}
		}
	}
	t.Fatalf("newMsg2Server %q: ack %s, events %v", text, ack, before)
	return chat.Message{}
}

func TestLoadHistoryPages(t *testing.T) {
	e := newChatEnv(t, nil)
	u := e.user("paul", chat.RoleUser)
	// The messages are written to the store directly, before the server
	// reads (and caches) the room.
	acct, err := e.db.FindUserByName(context.Background(), "paul")
	if err != nil {
		t.Fatal(err)
	}
	var all []int64
	for i := range 120 {
		m, err := e.db.AppendMessage(context.Background(), chat.Message{Namespace: "/user", Room: "chat", UserID: acct.ID, Username: acct.Name, Text: fmt.Sprintf("m%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m.ID)
	}
	if _, err := e.db.AppendMessage(context.Background(), chat.Message{Namespace: "/user", Room: "random", UserID: acct.ID, Username: acct.Name, Text: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	c := e.dial(u)
	c.Connect("/user", nil)
	c.ExpectEvent("/user", "nsRoomLoad")
	ack, _ := request(t, c, "/user", 1, "loadHistory", map[string]int{"beforeId": 10})
	wantError(t, "loadHistory in no room", ack)
	_, hist := join(t, c, "/user", "chat", 2)
	if !slices.Equal(msgIDs(hist), all[70:]) {
		t.Fatalf("historyUpdate %v", msgIDs(hist))
	}
	for i, tc := range []struct {
		arg  any
		want []int64
	}{
		{map[string]any{"beforeId": hist[0].ID}, all[20:70]},
		{map[string]any{"beforeId": all[20], "limit": 100}, all[:20]},
		{map[string]any{"beforeId": all[100], "limit": 1}, all[99:100]},
		{map[string]any{"beforeId": all[100], "limit": 100}, all[:100]},
		{map[string]any{"beforeId": all[0]}, []int64{}},
		{map[string]any{"beforeId": 1, "limit": nil}, []int64{}},
	} {
		ack, _ := request(t, c, "/user", int64(10+i), "loadHistory", tc.arg)
		got := messagesOf(t, "loadHistory", ack)
		if !slices.Equal(msgIDs(got), tc.want) {
			t.Errorf("loadHistory %v: %v, want %v", tc.arg, msgIDs(got), tc.want)
		}
		for _, m := range got {
			if m.Room != "chat" || m.Namespace != "/user" || m.Username != "paul" {
				t.Fatalf("page message %+v", m)
			}
		}
	}
	for i, arg := range []any{
		map[string]any{"beforeId": all[5], "limit": 0},
		map[string]any{"beforeId": all[5], "limit": 101},
		map[string]any{"beforeId": all[5], "limit": -1},
		map[string]any{"beforeId": all[5], "limit": 2.5},
		map[string]any{"beforeId": all[5], "limit": "5"},
		map[string]any{"beforeId": "10"},
		map[string]any{"beforeId": 10.5},
		map[string]any{"beforeId": 0},
		map[string]any{"limit": 5},
		map[string]any{},
		"10",
		42,
		nil,
	} {
		ack, _ := request(t, c, "/user", int64(30+i), "loadHistory", arg)
		wantError(t, fmt.Sprintf("loadHistory %v", arg), ack)
	}
	// Still usable.
	send(t, c, "/user", 50, "still here")
}

func TestEditAndDeleteMessages(t *testing.T) {
	e := newChatEnv(t, nil)
	alice := e.dial(e.user("alice", chat.RoleUser))
	bob := e.dial(e.user("bob", chat.RoleUser))
	root := e.dial(e.user("root", chat.RoleAdmin))
	root.Connect("/admin", nil)
	root.ExpectEvent("/admin", "nsRoomLoad")
	join(t, root, "/admin", "general", 5)
	g := send(t, root, "/admin", 6, "admins only")
	for _, c := range []*socketiotest.Conn{alice, bob, root} {
		c.Connect("/user", nil)
		c.ExpectEvent("/user", "nsRoomLoad")
		join(t, c, "/user", "chat", 1)
	}
	m1 := send(t, alice, "/user", 2, "first words")
	m2 := send(t, alice, "/user", 3, "second words")
	m3 := send(t, bob, "/user", 4, "bob's words")

	// Only the author edits, only in the message's namespace, and the
	// text rules apply.
	for i, tc := range []struct {
		c   *socketiotest.Conn
		arg any
	}{
		{bob, map[string]any{"id": m1.ID, "text": "bob was here"}},
		{root, map[string]any{"id": m1.ID, "text": "admins do not edit"}},
		{root, map[string]any{"id": g.ID, "text": "not from /user"}},
		{alice, map[string]any{"id": m1.ID, "text": "   "}},
		{alice, map[string]any{"id": m1.ID, "text": strings.Repeat("é", 2001)}},
		{alice, map[string]any{"id": m1.ID, "text": "nul\x00"}},
		{alice, map[string]any{"id": m1.ID + 1000, "text": "unknown"}},
		{alice, map[string]any{"id": fmt.Sprint(m1.ID), "text": "id as a string"}},
		{alice, map[string]any{"id": m1.ID}},
		{alice, map[string]any{"text": "no id"}},
		{alice, map[string]any{"id": m1.ID, "text": 5}},
		{alice, "text"},
		{alice, nil},
	} {
		ack, _ := request(t, tc.c, "/user", int64(10+i), "editMessage", tc.arg)
		wantError(t, fmt.Sprintf("editMessage %v", tc.arg), ack)
	}
	if got, _ := e.db.FindMessage(context.Background(), m1.ID); got.Text != "first words" || got.Edited != 0 {
		t.Fatalf("a refused edit changed the message: %+v", got)
	}

	// The author's edit: messageEdited to the room, sender included,
	// before the ack.
	ack, before := request(t, alice, "/user", 30, "editMessage", map[string]any{"id": m1.ID, "text": "  <b>new</b> words  "})
	wantOK(t, "editMessage", ack)
	type edited struct {
		ID     int64  `json:"id"`
		Room   string `json:"room"`
		Text   string `json:"text"`
		Edited int64  `json:"edited"`
	}
	var seen edited
	for _, ev := range before {
		if ev.Name == "messageEdited" {
			var keys map[string]any
			ev.Decode(t, 0, &keys)
			if len(keys) != 4 {
				t.Fatalf("messageEdited %s: want exactly id, room, text, edited", ev.Args[0])
			}
			ev.Decode(t, 0, &seen)
		}
	}
	if seen.ID != m1.ID || seen.Room != "chat" || seen.Text != "<b>new</b> words" || seen.Edited <= 0 {
		t.Fatalf("messageEdited %+v (events before the ack: %v)", seen, before)
	}
	for _, c := range []*socketiotest.Conn{bob, root} {
		ev, _ := c.ExpectEvent("/user", "messageEdited")
		var got edited
		ev.Decode(t, 0, &got)
		if got != seen {
			t.Fatalf("messageEdited %+v, want %+v", got, seen)
		}
	}
	// A newcomer's history has the edit (the cached history follows).
	carol := e.dial(e.user("carol", chat.RoleUser))
	carol.Connect("/user", nil)
	carol.ExpectEvent("/user", "nsRoomLoad")
	_, hist := join(t, carol, "/user", "chat", 1)
	if len(hist) != 3 || hist[0].Text != "<b>new</b> words" || hist[0].Edited != seen.Edited || hist[1] != m2 {
		t.Fatalf("history after the edit: %+v", hist)
	}

	// Deletions: not by another user, not from another namespace.
	for i, tc := range []struct {
		c   *socketiotest.Conn
		arg any
	}{
		{bob, map[string]any{"id": m1.ID}},
		{alice, map[string]any{"id": m3.ID}},
		{root, map[string]any{"id": g.ID}},
		{alice, map[string]any{"id": m1.ID + 1000}},
		{alice, map[string]any{"id": "1"}},
		{alice, map[string]any{}},
		{alice, 7},
	} {
		ack, _ := request(t, tc.c, "/user", int64(40+i), "deleteMessage", tc.arg)
		wantError(t, fmt.Sprintf("deleteMessage %v", tc.arg), ack)
	}
	// The author deletes: no audit. An admin deletes someone else's:
	// audited.
	ack, before = request(t, alice, "/user", 50, "deleteMessage", map[string]any{"id": m2.ID})
	wantOK(t, "deleteMessage", ack)
	if !slices.ContainsFunc(before, func(ev socketiotest.Event) bool {
		return ev.Name == "messageDeleted" && string(ev.Args[0]) == fmt.Sprintf(`{"id":%d,"room":"chat"}`, m2.ID)
	}) {
		t.Fatalf("no messageDeleted before the ack: %v", before)
	}
	ack, _ = request(t, root, "/user", 51, "deleteMessage", map[string]any{"id": m1.ID})
	wantOK(t, "moderator's deleteMessage", ack)
	for _, c := range []*socketiotest.Conn{bob, carol} {
		for _, id := range []int64{m2.ID, m1.ID} {
			ev, _ := c.ExpectEvent("/user", "messageDeleted")
			if string(ev.Args[0]) != fmt.Sprintf(`{"id":%d,"room":"chat"}`, id) {
				t.Fatalf("messageDeleted %s, want id %d", ev.Args[0], id)
			}
		}
	}
	audit, err := e.db.Deletions(context.Background(), 10)
	if err != nil || len(audit) != 1 || audit[0].MessageID != m1.ID || audit[0].Deleter != "root" || audit[0].Author != "alice" ||
		audit[0].Text != "<b>new</b> words" || audit[0].Room != "chat" || audit[0].Namespace != "/user" {
		t.Fatalf("audit = %+v, %v", audit, err)
	}
	for i, id := range []int64{m1.ID, m2.ID} {
		ack, _ := request(t, alice, "/user", int64(60+i), "deleteMessage", map[string]any{"id": id})
		wantError(t, "second deleteMessage", ack)
		ack, _ = request(t, alice, "/user", int64(70+i), "editMessage", map[string]any{"id": id, "text": "back"})
		wantError(t, "edit of a deleted message", ack)
	}
	// Gone from history, pages and search.
	dave := e.dial(e.user("dave", chat.RoleUser))
	dave.Connect("/user", nil)
	dave.ExpectEvent("/user", "nsRoomLoad")
	if _, hist := join(t, dave, "/user", "chat", 1); !slices.Equal(msgIDs(hist), []int64{m3.ID}) {
		t.Fatalf("history after deletions: %+v", hist)
	}
	ack, _ = request(t, dave, "/user", 2, "loadHistory", map[string]any{"beforeId": m3.ID + 1})
	if got := messagesOf(t, "loadHistory", ack); !slices.Equal(msgIDs(got), []int64{m3.ID}) {
		t.Fatalf("page after deletions: %+v", got)
	}
	ack, _ = request(t, dave, "/user", 3, "searchMessages", map[string]any{"query": "words"})
	if got := messagesOf(t, "searchMessages", ack); !slices.Equal(msgIDs(got), []int64{m3.ID}) {
		t.Fatalf("search after deletions: %+v", got)
	}
	// An admin's own message in /admin is deleted there, unaudited.
	ack, _ = request(t, root, "/admin", 80, "deleteMessage", map[string]any{"id": g.ID})
	wantOK(t, "deleteMessage in /admin", ack)
	if audit, _ := e.db.Deletions(context.Background(), 10); len(audit) != 1 {
		t.Fatalf("audit after an own deletion: %+v", audit)
	}
}

func TestSearchMessagesLive(t *testing.T) {
	e := newChatEnv(t, nil)
	c := e.dial(e.user("sara", chat.RoleCreator))
	c.Connect("/user", nil)
	c.ExpectEvent("/user", "nsRoomLoad")
	join(t, c, "/user", "chat", 1)
	a := send(t, c, "/user", 2, "The quick brown fox")
	join(t, c, "/user", "random", 3)
	b := send(t, c, "/user", 4, "a QUICK red fox")
	c.Connect("/creator", nil)
	c.ExpectEvent("/creator", "nsRoomLoad")
	join(t, c, "/creator", "drafts", 5)
	send(t, c, "/creator", 6, "quick fox of the creators")
	ack, _ := request(t, c, "/user", 7, "editMessage", map[string]any{"id": a.ID, "text": "The slow brown fox"})
	wantOK(t, "editMessage", ack)

	for i, tc := range []struct {
		arg  any
		want []int64
	}{
		{map[string]any{"query": "fox"}, []int64{b.ID, a.ID}},
		{map[string]any{"query": "FOX quick"}, []int64{b.ID}},
		{map[string]any{"query": "slow"}, []int64{a.ID}},
		{map[string]any{"query": "quick brown"}, []int64{}},
		{map[string]any{"query": "fox", "room": "chat"}, []int64{a.ID}},
		{map[string]any{"query": "fox", "room": nil}, []int64{b.ID, a.ID}},
		{map[string]any{"query": `fox" OR "NOT`}, []int64{}},
		{map[string]any{"query": `fox*`}, []int64{b.ID, a.ID}},
	} {
		ack, _ := request(t, c, "/user", int64(10+i), "searchMessages", tc.arg)
		got := messagesOf(t, fmt.Sprintf("searchMessages %v", tc.arg), ack)
		if !slices.Equal(msgIDs(got), tc.want) {
			t.Errorf("searchMessages %v: %v, want %v", tc.arg, msgIDs(got), tc.want)
		}
	}
	ack, _ = request(t, c, "/user", 30, "searchMessages", map[string]any{"query": "fox"})
	if got := messagesOf(t, "search", ack); got[1].Text != "The slow brown fox" || got[1].Edited == 0 || got[1].Room != "chat" || got[1].Namespace != "/user" {
		t.Errorf("search result %+v", got[1])
	}
	for i, arg := range []any{
		map[string]any{"query": ""},
		map[string]any{"query": "   "},
		map[string]any{"query": `"" * -`},
		map[string]any{"query": strings.Repeat("a", 201)},
		map[string]any{"query": "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17"},
		map[string]any{"query": "fox", "room": "nope"},
		map[string]any{"query": "fox", "room": "drafts"},
		map[string]any{"query": "fox", "room": ""},
		map[string]any{"query": "fox", "room": 5},
		map[string]any{"query": 5},
		map[string]any{},
		"fox",
		nil,
	} {
		ack, _ := request(t, c, "/user", int64(40+i), "searchMessages", arg)
		wantError(t, fmt.Sprintf("searchMessages %v", arg), ack)
	}
	send(t, c, "/user", 60, "still usable")
}

// roomTitles decodes an nsRoomLoad event into its room titles.
func roomTitles(t *testing.T, ev socketiotest.Event) []string {
	t.Helper()
	var rooms []chat.Room
	ev.Decode(t, 0, &rooms)
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = r.Title
	}
	return out
}

func TestCreateAndDeleteRoomsLive(t *testing.T) {
	e := newChatEnv(t, nil)
	user := e.dial(e.user("ursula", chat.RoleUser))
	creator := e.dial(e.user("cree", chat.RoleCreator))
	admin := e.dial(e.user("root", chat.RoleAdmin))
	for _, c := range []*socketiotest.Conn{user, creator, admin} {
		c.Connect("/user", nil)
		c.ExpectEvent("/user", "nsRoomLoad")
		c.ExpectEvent("/user", "unread") // before the next CONNECT answer
	}
	creator.Connect("/creator", nil)
	creator.ExpectEvent("/creator", "nsRoomLoad")
	admin.Connect("/admin", nil)
	admin.ExpectEvent("/admin", "nsRoomLoad")

	// Who may, and which titles.
	for i, tc := range []struct {
		c   *socketiotest.Conn
		nsp string
		arg any
	}{
		{user, "/user", map[string]any{"title": "mine"}},
		{creator, "/user", map[string]any{"title": "CHAT"}},
		{creator, "/user", map[string]any{"title": ""}},
		{creator, "/user", map[string]any{"title": " lobby"}},
		{creator, "/user", map[string]any{"title": "lob by"}},
		{creator, "/user", map[string]any{"title": "lobby!"}},
		{creator, "/user", map[string]any{"title": "lobbé"}},
		{creator, "/user", map[string]any{"title": strings.Repeat("a", 33)}},
		{creator, "/user", map[string]any{"title": 5}},
		{creator, "/user", map[string]any{}},
		{creator, "/user", "lobby"},
	} {
		ack, _ := request(t, tc.c, tc.nsp, int64(10+i), "createRoom", tc.arg)
		wantError(t, fmt.Sprintf("createRoom %v", tc.arg), ack)
	}
	ack, before := request(t, creator, "/user", 30, "createRoom", map[string]any{"title": "Lobby-" + strings.Repeat("x", 26)})
	title := "Lobby-" + strings.Repeat("x", 26)
	var created struct {
		Room map[string]any `json:"room"`
	}
	if err := json.Unmarshal(ack, &created); err != nil || created.Room["roomTitle"] != title || created.Room["namespace"] != "/user" ||
		created.Room["privateRoom"] != false || created.Room["roomId"] == nil || len(created.Room) != 4 {
		t.Fatalf("createRoom ack %s", ack)
	}
	if !slices.ContainsFunc(before, func(ev socketiotest.Event) bool {
		return ev.Name == "nsRoomLoad" && slices.Equal(roomTitles(t, ev), []string{"chat", "random", "help", title})
	}) {
		t.Fatalf("the creator's nsRoomLoad: %v", before)
	}
	for _, c := range []*socketiotest.Conn{user, admin} {
		ev, _ := c.ExpectEvent("/user", "nsRoomLoad")
		if got := roomTitles(t, ev); !slices.Equal(got, []string{"chat", "random", "help", title}) {
			t.Fatalf("nsRoomLoad %v", got)
		}
	}
	ack, _ = request(t, admin, "/user", 31, "createRoom", map[string]any{"title": strings.ToUpper(title)})
	wantError(t, "createRoom of a taken title in another case", ack)
	// A creator in /creator; only an admin in /admin.
	ack, _ = request(t, creator, "/creator", 32, "createRoom", map[string]any{"title": title})
	if !strings.Contains(string(ack), `"roomTitle":"`+title+`"`) {
		t.Fatalf("createRoom in /creator: %s", ack)
	}
	ack, _ = request(t, admin, "/admin", 33, "createRoom", map[string]any{"title": "war_room"})
	if !strings.Contains(string(ack), `"roomTitle":"war_room"`) {
		t.Fatalf("createRoom in /admin: %s", ack)
	}

	// The new room is joinable at once; people talk in it.
	join(t, user, "/user", title, 40)
	join(t, admin, "/user", title, 41)
	send(t, user, "/user", 42, "in the new room")

	for i, tc := range []struct {
		c   *socketiotest.Conn
		arg any
	}{
		{creator, map[string]any{"title": title}},
		{user, map[string]any{"title": title}},
		{admin, map[string]any{"title": "nope"}},
		{admin, map[string]any{"title": "drafts"}},
		{admin, map[string]any{"title": 5}},
		{admin, nil},
	} {
		ack, _ := request(t, tc.c, "/user", int64(50+i), "deleteRoom", tc.arg)
		wantError(t, fmt.Sprintf("deleteRoom %v", tc.arg), ack)
	}
	ack, before = request(t, admin, "/user", 60, "deleteRoom", map[string]any{"title": strings.ToUpper(title)})
	wantOK(t, "deleteRoom", ack)
	names := func(evs []socketiotest.Event) []string {
		var out []string
		for _, ev := range evs {
			if ev.Name == "roomDeleted" || ev.Name == "nsRoomLoad" {
				out = append(out, ev.Name+" "+string(ev.Args[0]))
			}
		}
		return out
	}
	rooms, _ := e.db.ListRooms(context.Background(), "/user")
	encoded, _ := json.Marshal(rooms)
	want := []string{`roomDeleted {"room":"` + title + `"}`, "nsRoomLoad " + string(encoded)}
	if got := names(before); !slices.Equal(got, want) {
		t.Fatalf("the admin heard %v, want %v", got, want)
	}
	ev, skipped := user.ExpectEvent("/user", "nsRoomLoad")
	if got := names(append(skipped, ev)); !slices.Equal(got, want) {
		t.Fatalf("the user heard %v, want %v", got, want)
	}
	ev, skipped = creator.ExpectEvent("/user", "nsRoomLoad")
	if got := names(append(skipped, ev)); !slices.Equal(got, want[1:]) {
		t.Fatalf("the creator (not in the room) heard %v, want %v", got, want[1:])
	}
	// In no room now; the room is gone; /creator's room of that title
	// stays.
	ack, _ = request(t, user, "/user", 61, "newMsg2Server", map[string]any{"text": "anyone?"})
	wantError(t, "newMsg2Server after the room's deletion", ack)
	ack, _ = request(t, user, "/user", 62, "joinRoom", title)
	wantError(t, "joinRoom of a deleted room", ack)
	if _, hist := join(t, creator, "/creator", title, 63); len(hist) != 0 {
		t.Fatalf("history of /creator's room: %+v", hist)
	}
	// A room of the same title again: empty, and nobody of the old one
	// is counted in it.
	ack, _ = request(t, creator, "/user", 64, "createRoom", map[string]any{"title": title})
	if !strings.Contains(string(ack), `"roomTitle":"`+title+`"`) {
		t.Fatalf("createRoom again: %s", ack)
	}
	if n, hist := join(t, creator, "/user", title, 65); n != 1 || len(hist) != 0 {
		t.Fatalf("the new room: members %d, history %+v", n, hist)
	}
}
