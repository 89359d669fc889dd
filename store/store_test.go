package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// MustOpen opens a SQLite database in a new temporary directory and closes
// it when the test ends.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	return mustOpenPath(tb, storetest.SQLitePath(tb))
}

func mustOpenPath(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		tb.Fatalf("open %s: %v", store.Redact(path), err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

// forEachBackend runs test once per storage backend, as a subtest named
// after it; newDSN makes a fresh empty database of that backend.
func forEachBackend(t *testing.T, test func(t *testing.T, newDSN func(testing.TB) string)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { test(t, b.NewDSN) })
	}
}

// forEachDB runs test once per backend with a fresh open database.
func forEachDB(t *testing.T, test func(t *testing.T, db *store.DB)) {
	forEachBackend(t, func(t *testing.T, newDSN func(testing.TB) string) {
		test(t, mustOpenPath(t, newDSN(t)))
	})
}

func mustCreateUser(tb testing.TB, db *store.DB, name string, role chat.Role) chat.User {
	tb.Helper()
	u, err := db.CreateUser(context.Background(), name, role, "$argon2id$placeholder-"+name)
	if err != nil {
		tb.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func TestOpenMigrates(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := latestMigration(t); v != want {
			t.Errorf("schema version = %d, want %d", v, want)
		}
	})
}

func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "2",
	} {
		got, err := db.Pragma(ctx, pragma)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestOpenRejectsDSN(t *testing.T) {
	if _, err := store.Open(context.Background(), "file:x.db?mode=memory", store.Options{}); err == nil {
		t.Fatal("Open accepted a DSN")
	}
	if _, err := store.Open(context.Background(), "", store.Options{}); err == nil {
		t.Fatal("Open accepted an empty path")
	}
}

func TestSeededNamespacesAndRooms(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		all, err := db.ListNamespaces(ctx, chat.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		wantNS := []struct {
			endpoint string
			min      chat.Role
			rooms    []string
		}{
			{"/user", chat.RoleUser, []string{"chat", "random", "help"}},
			{"/creator", chat.RoleCreator, []string{"resources", "drafts"}},
			{"/admin", chat.RoleAdmin, []string{"general", "ops"}},
		}
		if len(all) != len(wantNS) {
			t.Fatalf("got %d namespaces, want %d: %+v", len(all), len(wantNS), all)
		}
		for i, w := range wantNS {
			ns := all[i]
			if ns.Endpoint != w.endpoint || ns.MinRole != w.min || ns.Title == "" {
				t.Errorf("namespace %d = %+v, want endpoint %s min role %s", i, ns, w.endpoint, w.min)
			}
			if ns.Img != "/static/img/"+w.endpoint[1:]+".svg" {
				t.Errorf("namespace %s img = %q", ns.Endpoint, ns.Img)
			}
			if i > 0 && ns.ID <= all[i-1].ID {
				t.Errorf("namespaces not ordered by id: %+v", all)
			}
			rooms, err := db.ListRooms(ctx, w.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, r := range rooms {
				titles = append(titles, r.Title)
				if r.Namespace != w.endpoint || r.Private || r.ID == 0 {
					t.Errorf("room %+v in %s", r, w.endpoint)
				}
			}
			if fmt.Sprint(titles) != fmt.Sprint(w.rooms) {
				t.Errorf("rooms of %s = %v, want %v", w.endpoint, titles, w.rooms)
			}
			found, err := db.FindNamespace(ctx, w.endpoint)
			if err != nil || found != ns {
				t.Errorf("FindNamespace(%s) = %+v, %v; want %+v", w.endpoint, found, err, ns)
			}
		}

		for role, want := range map[chat.Role]int{chat.RoleUser: 1, chat.RoleCreator: 2, chat.RoleAdmin: 3, "nobody": 0} {
			got, err := db.ListNamespaces(ctx, role)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != want {
				t.Errorf("role %s sees %d namespaces, want %d", role, len(got), want)
			}
		}

		if _, err := db.FindNamespace(ctx, "/"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("FindNamespace(/) err = %v, want not_found", err)
		}
		r, err := db.FindRoom(ctx, "/creator", "drafts")
		if err != nil || r.Title != "drafts" || r.Namespace != "/creator" {
			t.Errorf("FindRoom = %+v, %v", r, err)
		}
		if _, err := db.FindRoom(ctx, "/user", "drafts"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("FindRoom of a room in another namespace: err = %v, want not_found", err)
		}
		if rooms, err := db.ListRooms(ctx, "/nope"); err != nil || len(rooms) != 0 {
			t.Errorf("ListRooms(/nope) = %v, %v", rooms, err)
		}
	})
}

func TestUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		alice := mustCreateUser(t, db, "Alice", chat.RoleUser)
		if alice.ID == 0 || alice.Name != "Alice" || alice.Role != chat.RoleUser || alice.Created.IsZero() {
			t.Errorf("created %+v", alice)
		}
		for _, name := range []string{"Alice", "alice", "ALICE"} {
			if _, err := db.CreateUser(ctx, name, chat.RoleUser, "h"); chat.ErrorCode(err) != chat.ECONFLICT {
				t.Errorf("CreateUser(%s) err = %v, want conflict", name, err)
			}
		}
		got, err := db.FindUserByName(ctx, "aLiCe")
		if err != nil || got != alice {
			t.Errorf("FindUserByName = %+v, %v; want %+v", got, err, alice)
		}
		u, hash, err := db.FindCredentials(ctx, "ALICE")
		if err != nil || u != alice || hash != "$argon2id$placeholder-Alice" {
			t.Errorf("FindCredentials = %+v, %q, %v", u, hash, err)
		}
		if _, err := db.FindUserByName(ctx, "bob"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("FindUserByName(bob) err = %v", err)
		}
		if _, _, err := db.FindCredentials(ctx, "bob"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("FindCredentials(bob) err = %v", err)
		}

		up, err := db.SetUserRole(ctx, "alice", chat.RoleCreator)
		if err != nil || up.Role != chat.RoleCreator || up.ID != alice.ID {
			t.Errorf("SetUserRole = %+v, %v", up, err)
		}
		if _, err := db.SetUserRole(ctx, "bob", chat.RoleAdmin); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("SetUserRole(bob) err = %v", err)
		}
		if _, err := db.SetUserRole(ctx, "alice", "root"); err == nil {
			t.Error("SetUserRole accepted an unknown role")
		}
		if err := db.SetPasswordHash(ctx, "alice", "new"); err != nil {
			t.Fatal(err)
		}
		if _, hash, _ := db.FindCredentials(ctx, "alice"); hash != "new" {
			t.Errorf("hash after SetPasswordHash = %q", hash)
		}
		if err := db.SetPasswordHash(ctx, "bob", "x"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("SetPasswordHash(bob) err = %v", err)
		}

		mustCreateUser(t, db, "bob", chat.RoleUser)
		mustCreateUser(t, db, "Carol", chat.RoleAdmin)
		list, err := db.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range list {
			names = append(names, u.Name)
		}
		if fmt.Sprint(names) != "[Alice bob Carol]" {
			t.Errorf("ListUsers names = %v", names)
		}
	})
}

func TestSessionsStoreOnlyHashes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "dave", chat.RoleUser)
		now := time.Now()

		token := chat.NewToken()
		s := chat.LoginSession{TokenHash: chat.HashToken(token), UserID: u.ID, Created: now, Expires: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindSessionUser(ctx, s.TokenHash, now)
		if err != nil || got.ID != u.ID || got.Name != "dave" {
			t.Errorf("FindSessionUser = %+v, %v", got, err)
		}
		if _, err := db.FindSessionUser(ctx, []byte(token), now); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("session found by the raw token: err = %v", err)
		}
		stored, err := db.RawSessionKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || string(stored[0]) != string(chat.HashToken(token)) || string(stored[0]) == token {
			t.Errorf("stored session keys = %q, want only the hash of the token", stored)
		}

		// Expiry: not found at or after the expiry time; swept by DeleteExpiredSessions.
		if _, err := db.FindSessionUser(ctx, s.TokenHash, s.Expires); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("expired session found: err = %v", err)
		}
		old := chat.LoginSession{TokenHash: chat.HashToken(chat.NewToken()), UserID: u.ID, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
		if err := db.CreateSession(ctx, old); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteExpiredSessions(ctx, now)
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if _, err := db.FindSessionUser(ctx, s.TokenHash, now); err != nil {
			t.Errorf("live session gone after sweep: %v", err)
		}

		// Role changes are seen through the session at once.
		if _, err := db.SetUserRole(ctx, "dave", chat.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindSessionUser(ctx, s.TokenHash, now); got.Role != chat.RoleAdmin {
			t.Errorf("role through session = %s, want admin", got.Role)
		}

		if err := db.DeleteSession(ctx, s.TokenHash); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindSessionUser(ctx, s.TokenHash, now); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("deleted session found: err = %v", err)
		}
		if err := db.DeleteSession(ctx, s.TokenHash); err != nil {
			t.Errorf("deleting a missing session: %v", err)
		}
		if err := db.CreateSession(ctx, chat.LoginSession{UserID: u.ID}); err == nil {
			t.Error("CreateSession accepted an empty token hash")
		}
		if err := db.CreateSession(ctx, chat.LoginSession{TokenHash: []byte("x"), UserID: 9999, Expires: now}); err == nil {
			t.Error("CreateSession accepted an unknown user (foreign keys off?)")
		}
	})
}

func TestMessagesOrderAndLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "erin", chat.RoleUser)

		const total = 60
		var ids []int64
		for i := range total {
			m, err := db.AppendMessage(ctx, chat.Message{
				Namespace: "/user", Room: "chat", UserID: u.ID, Username: u.Name,
				Text: fmt.Sprintf("<b>msg %d</b>", i),
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.ID == 0 || m.Time == 0 {
				t.Fatalf("appended %+v: want ID and Time set", m)
			}
			if len(ids) > 0 && m.ID <= ids[len(ids)-1] {
				t.Fatalf("IDs not increasing: %d after %d", m.ID, ids[len(ids)-1])
			}
			ids = append(ids, m.ID)
		}
		// A message in another room does not show up.
		if _, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "random", UserID: u.ID, Username: u.Name, Text: "elsewhere", Time: 42}); err != nil {
			t.Fatal(err)
		}

		got, err := db.LastMessages(ctx, "/user", "chat", chat.HistorySize)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != chat.HistorySize {
			t.Fatalf("got %d messages, want %d", len(got), chat.HistorySize)
		}
		for i, m := range got {
			want := total - chat.HistorySize + i
			if m.ID != ids[want] || m.Text != fmt.Sprintf("<b>msg %d</b>", want) ||
				m.Namespace != "/user" || m.Room != "chat" || m.Username != "erin" || m.UserID != u.ID {
				t.Fatalf("message %d = %+v, want id %d", i, m, ids[want])
			}
		}
		other, err := db.LastMessages(ctx, "/user", "random", 50)
		if err != nil || len(other) != 1 || other[0].Text != "elsewhere" || other[0].Time != 42 {
			t.Errorf("random room = %+v, %v", other, err)
		}
		if none, err := db.LastMessages(ctx, "/user", "help", 50); err != nil || none == nil || len(none) != 0 {
			t.Errorf("empty room = %#v, %v; want empty non-nil slice", none, err)
		}
		if none, err := db.LastMessages(ctx, "/user", "chat", 0); err != nil || len(none) != 0 {
			t.Errorf("limit 0 = %v, %v", none, err)
		}
		if _, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "nope", UserID: u.ID, Username: u.Name, Text: "x"}); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("append to unknown room: err = %v, want not_found", err)
		}
		if _, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "chat", UserID: 12345, Username: "ghost", Text: "x"}); err == nil {
			t.Error("append by unknown user accepted (foreign keys off?)")
		}
	})
}

func TestConcurrentAppends(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "frank", chat.RoleUser)
		const writers, each = 8, 20
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "chat", UserID: u.ID, Username: u.Name, Text: fmt.Sprintf("%d-%d", w, i)})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got, err := db.LastMessages(ctx, "/user", "chat", 1000)
		if err != nil || len(got) != writers*each {
			t.Errorf("stored %d messages, want %d (err %v)", len(got), writers*each, err)
		}
	})
}

func TestPersistenceAcrossReopen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(testing.TB) string) {
		ctx := context.Background()
		path := newDSN(t)
		db, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.CreateUser(ctx, "grace", chat.RoleCreator, "hash")
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.AppendMessage(ctx, chat.Message{Namespace: "/creator", Room: "drafts", UserID: u.ID, Username: u.Name, Text: "kept"})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db2 := mustOpenPath(t, path) // migrations run again: must be a no-op
		if v, err := db2.SchemaVersion(ctx); err != nil || v != latestMigration(t) {
			t.Errorf("schema version after reopen = %d, %v", v, err)
		}
		got, err := db2.FindUserByName(ctx, "GRACE")
		if err != nil || got.ID != u.ID || got.Role != chat.RoleCreator {
			t.Errorf("user after reopen = %+v, %v", got, err)
		}
		msgs, err := db2.LastMessages(ctx, "/creator", "drafts", 50)
		if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Text != "kept" || msgs[0].Time != m.Time {
			t.Errorf("messages after reopen = %+v, %v; want %+v", msgs, err, m)
		}
		all, err := db2.ListNamespaces(ctx, chat.RoleAdmin)
		if err != nil || len(all) != 3 {
			t.Errorf("namespaces after reopen = %d, %v (seed applied twice?)", len(all), err)
		}
	})
}

func TestConcurrentOpenOfOneDatabase(t *testing.T) {
	// Nodes of a cluster may start at once on one database: every Open
	// must succeed and the migrations must be applied exactly once.
	forEachBackend(t, func(t *testing.T, newDSN func(testing.TB) string) {
		path := newDSN(t)
		const n = 6
		var wg sync.WaitGroup
		errs := make(chan error, n)
		dbs := make(chan *store.DB, n)
		for range n {
			wg.Go(func() {
				db, err := store.Open(context.Background(), path, store.Options{})
				if err != nil {
					errs <- err
					return
				}
				dbs <- db
			})
		}
		wg.Wait()
		close(errs)
		close(dbs)
		for err := range errs {
			t.Error(err)
		}
		for db := range dbs {
			all, err := db.ListNamespaces(context.Background(), chat.RoleAdmin)
			if err != nil || len(all) != 3 {
				t.Errorf("namespaces = %d, %v", len(all), err)
			}
			db.Close()
		}
	})
}

func TestTwoConnectionsShareOneDatabase(t *testing.T) {
	// Two servers on one database (two nodes of a cluster) see each
	// other's writes at once: a message appended through one is in the
	// history read through the other, and a name taken through one is
	// taken for the other, without regard to case.
	forEachBackend(t, func(t *testing.T, newDSN func(testing.TB) string) {
		ctx := context.Background()
		path := newDSN(t)
		a, b := mustOpenPath(t, path), mustOpenPath(t, path)
		u := mustCreateUser(t, a, "Heidi", chat.RoleUser)
		if _, err := b.CreateUser(ctx, "HEIDI", chat.RoleUser, "h"); chat.ErrorCode(err) != chat.ECONFLICT {
			t.Errorf("second node CreateUser(HEIDI) err = %v, want conflict", err)
		}
		for i := range 5 {
			db := a
			if i%2 == 1 {
				db = b
			}
			if _, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "help", UserID: u.ID, Username: u.Name, Text: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, db := range []*store.DB{a, b} {
			msgs, err := db.LastMessages(ctx, "/user", "help", 10)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, m := range msgs {
				texts = append(texts, m.Text)
			}
			if strings.Join(texts, ",") != "0,1,2,3,4" {
				t.Errorf("history = %v, want 0..4 oldest first", texts)
			}
		}
	})
}
