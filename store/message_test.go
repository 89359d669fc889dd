package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/store"
)

// waitLimit bounds every wait of these tests for something that must
// happen; reaching it is a failure, not a pause.
const waitLimit = 30 * time.Second

// writerGate controls the group commit of a DB through its test hooks:
// every batch the writer takes waits for a value on proceed (or for
// proceed to be closed) before it is stored.
type writerGate struct {
	queued  chan struct{} // a value per queued append
	sizes   chan int      // the size of each batch, as the writer takes it
	closing chan struct{} // a value once Close has stopped new appends
	proceed chan struct{}
}

func gateWriter(db *store.DB) *writerGate {
	g := &writerGate{
		queued:  make(chan struct{}, 1000),
		sizes:   make(chan int, 1000),
		closing: make(chan struct{}, 1),
		proceed: make(chan struct{}),
	}
	db.SetAppendHooks(store.AppendHooks{
		Queued:  func() { g.queued <- struct{}{} },
		Batch:   func(n int) { g.sizes <- n; <-g.proceed },
		Closing: func() { g.closing <- struct{}{} },
	})
	return g
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s within %v", what, waitLimit)
		panic("unreachable")
	}
}

// waitQueued waits until n more appends are queued.
func (g *writerGate) waitQueued(t *testing.T, n int) {
	t.Helper()
	for range n {
		recv(t, g.queued, "queued append")
	}
}

// batches returns the sizes of the batches taken so far.
func (g *writerGate) batches() []int {
	var out []int
	for {
		select {
		case n := <-g.sizes:
			out = append(out, n)
		default:
			return out
		}
	}
}

type appended struct {
	msg chat.Message
	err error
}

// appendAsync appends a message with the given text in a new goroutine
// and returns the channel of its result.
func appendAsync(ctx context.Context, db *store.DB, u chat.User, room, text string) <-chan appended {
	ch := make(chan appended, 1)
	go func() {
		m, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: room, UserID: u.ID, Username: u.Name, Text: text})
		ch <- appended{m, err}
	}()
	return ch
}

// roomTexts returns the messages of a room as id → text.
func roomTexts(t *testing.T, db *store.DB, room string) map[int64]string {
	t.Helper()
	msgs, err := db.LastMessages(context.Background(), "/user", room, 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int64]string, len(msgs))
	for _, m := range msgs {
		out[m.ID] = m.Text
	}
	return out
}

// Appends queued while a commit runs share the next ones, at most MaxBatch
// per transaction; each caller gets its own, distinct ID, and its message
// is stored.
func TestGroupCommitSharesCommits(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "ines", chat.RoleUser)
		g := gateWriter(db)
		before := db.MessageCommits()
		ctx := context.Background()

		first := appendAsync(ctx, db, u, "chat", "first")
		g.waitQueued(t, 1)
		if n := recv(t, g.sizes, "first batch"); n != 1 {
			t.Fatalf("first batch has %d messages, want 1", n)
		}
		// The writer holds the first message; these queue meanwhile.
		const n = 2*store.MaxBatch + 44
		results := make([]<-chan appended, n)
		for i := range n {
			results[i] = appendAsync(ctx, db, u, "chat", fmt.Sprint("msg ", i))
		}
		g.waitQueued(t, n)
		close(g.proceed)

		r0 := recv(t, first, "first result")
		if r0.err != nil {
			t.Fatal(r0.err)
		}
		want := map[int64]string{r0.msg.ID: "first"}
		for i, ch := range results {
			r := recv(t, ch, "result")
			if r.err != nil {
				t.Fatalf("append %d: %v", i, r.err)
			}
			if r.msg.ID <= r0.msg.ID {
				t.Errorf("append %d queued after the first got ID %d, not above %d", i, r.msg.ID, r0.msg.ID)
			}
			if _, dup := want[r.msg.ID]; dup {
				t.Errorf("ID %d given twice", r.msg.ID)
			}
			if r.msg.Text != fmt.Sprint("msg ", i) || r.msg.Time == 0 {
				t.Errorf("append %d returned %+v", i, r.msg)
			}
			want[r.msg.ID] = r.msg.Text
		}
		if got := g.batches(); !slices.Equal(got, []int{store.MaxBatch, store.MaxBatch, 44}) {
			t.Errorf("batches after the first: %v, want [%d %d 44]", got, store.MaxBatch, store.MaxBatch)
		}
		if c := db.MessageCommits() - before; c != 4 {
			t.Errorf("%d appends took %d commits, want 4", n+1, c)
		}
		if got := roomTexts(t, db, "chat"); !mapsEqual(got, want) {
			t.Errorf("stored %d messages, want the %d returned", len(got), len(want))
		}
	})
}

func mapsEqual(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A lone append is stored at once, in a transaction of its own: nothing
// waits for company.
func TestGroupCommitLoneAppends(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "jack", chat.RoleUser)
		g := gateWriter(db)
		close(g.proceed)
		before := db.MessageCommits()
		var last int64
		for i := range 5 {
			m, err := db.AppendMessage(context.Background(), chat.Message{Namespace: "/user", Room: "chat", UserID: u.ID, Username: u.Name, Text: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			if m.ID <= last {
				t.Errorf("ID %d after %d", m.ID, last)
			}
			last = m.ID
		}
		if got := g.batches(); !slices.Equal(got, []int{1, 1, 1, 1, 1}) {
			t.Errorf("batches %v, want five of 1", got)
		}
		if c := db.MessageCommits() - before; c != 5 {
			t.Errorf("5 serial appends took %d commits", c)
		}
	})
}

// One bad message in a batch fails only its caller: an unknown room (the
// batch still shares one commit) or an unknown user (an error inside the
// transaction, which on PostgreSQL aborts it).
func TestGroupCommitBadMessageFailsOnlyItsCaller(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "kate", chat.RoleUser)
		for _, tc := range []struct {
			name        string
			bad         chat.Message
			wantCode    string // "" for any error
			wantCommits int64
		}{
			{"unknown room", chat.Message{Namespace: "/user", Room: "nope", UserID: u.ID, Username: u.Name, Text: "bad"}, chat.ENOTFOUND, 2},
			{"unknown namespace", chat.Message{Namespace: "/nope", Room: "chat", UserID: u.ID, Username: u.Name, Text: "bad"}, chat.ENOTFOUND, 2},
			// The batch is rolled back and its messages stored one by one.
			{"unknown user", chat.Message{Namespace: "/user", Room: "chat", UserID: u.ID + 1000, Username: "ghost", Text: "bad"}, "", 1 + 9},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				g := gateWriter(db)
				before := db.MessageCommits()
				stored := roomTexts(t, db, "chat")

				first := appendAsync(ctx, db, u, "chat", "first")
				g.waitQueued(t, 1)
				recv(t, g.sizes, "first batch")
				const n, badAt = 10, 4
				results := make([]<-chan appended, n)
				for i := range n {
					if i == badAt {
						ch := make(chan appended, 1)
						go func() {
							m, err := db.AppendMessage(ctx, tc.bad)
							ch <- appended{m, err}
						}()
						results[i] = ch
					} else {
						results[i] = appendAsync(ctx, db, u, "chat", fmt.Sprint(tc.name, i))
					}
					// One at a time, so that the bad one is in the
					// middle of the batch.
					g.waitQueued(t, 1)
				}
				close(g.proceed)

				if r := recv(t, first, "first result"); r.err != nil {
					t.Fatal(r.err)
				} else {
					stored[r.msg.ID] = "first"
				}
				for i, ch := range results {
					r := recv(t, ch, "result")
					if i == badAt {
						if r.err == nil || (tc.wantCode != "" && chat.ErrorCode(r.err) != tc.wantCode) {
							t.Errorf("bad message: %+v, %v; want a %q error", r.msg, r.err, tc.wantCode)
						}
						continue
					}
					if r.err != nil {
						t.Errorf("append %d beside the bad one: %v", i, r.err)
						continue
					}
					stored[r.msg.ID] = r.msg.Text
				}
				if got := g.batches(); !slices.Equal(got[:1], []int{n}) {
					t.Errorf("batches after the first: %v, want %d first", got, n)
				}
				if c := db.MessageCommits() - before; c != tc.wantCommits {
					t.Errorf("%d commits, want %d", c, tc.wantCommits)
				}
				if got := roomTexts(t, db, "chat"); !mapsEqual(got, stored) {
					t.Errorf("room holds %v, want %v", got, stored)
				}
			})
		}
	})
}

// A caller that gives up while its message is queued gets ctx.Err() at
// once, and its message is not stored.
func TestAppendCancelledWhileQueued(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "liam", chat.RoleUser)
		g := gateWriter(db)
		bg := context.Background()

		first := appendAsync(bg, db, u, "chat", "first")
		g.waitQueued(t, 1)
		recv(t, g.sizes, "first batch")
		ctx, cancel := context.WithCancel(bg)
		gaveUp := appendAsync(ctx, db, u, "chat", "gave up")
		g.waitQueued(t, 1)
		after := appendAsync(bg, db, u, "chat", "after")
		g.waitQueued(t, 1)
		cancel()
		// Returns while the writer is still held.
		if r := recv(t, gaveUp, "result of the cancelled append"); !errors.Is(r.err, context.Canceled) {
			t.Errorf("cancelled append: %+v, %v; want context.Canceled", r.msg, r.err)
		}
		close(g.proceed)
		want := map[int64]string{}
		for _, ch := range []<-chan appended{first, after} {
			r := recv(t, ch, "result")
			if r.err != nil {
				t.Fatal(r.err)
			}
			want[r.msg.ID] = r.msg.Text
		}
		if got := g.batches(); !slices.Equal(got, []int{1}) {
			t.Errorf("batches after the first: %v, want [1] (the cancelled message skipped)", got)
		}
		if got := roomTexts(t, db, "chat"); !mapsEqual(got, want) {
			t.Errorf("room holds %v, want %v", got, want)
		}
		if _, err := db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "chat", UserID: u.ID, Username: u.Name, Text: "late"}); !errors.Is(err, context.Canceled) {
			t.Errorf("append with a done context: %v", err)
		}
	})
}

// A caller that gives up once its message is in a batch being stored gets
// ctx.Err(); the message is stored with the batch, once. The other caller
// of the batch has a context that never ends, or one that could (the
// transaction is cancelled only when both have given up).
func TestAppendCancelledWhileStored(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		u := mustCreateUser(t, db, "mona", chat.RoleUser)
		for _, tc := range []struct {
			room        string
			cancellable bool
		}{{"chat", false}, {"random", true}} {
			t.Run(fmt.Sprint("cancellable=", tc.cancellable), func(t *testing.T) {
				testAppendCancelledWhileStored(t, db, u, tc.room, tc.cancellable)
			})
		}
	})
}

func testAppendCancelledWhileStored(t *testing.T, db *store.DB, u chat.User, room string, cancellable bool) {
	g := gateWriter(db)
	bg := context.Background()

	first := appendAsync(bg, db, u, room, "first")
	g.waitQueued(t, 1)
	recv(t, g.sizes, "first batch")
	stays := bg
	if cancellable {
		var stop context.CancelFunc
		stays, stop = context.WithCancel(bg)
		defer stop()
	}
	ctx, cancel := context.WithCancel(bg)
	kept := appendAsync(stays, db, u, room, "kept")
	gaveUp := appendAsync(ctx, db, u, room, "gave up")
	g.waitQueued(t, 2)
	g.proceed <- struct{}{} // the first batch goes on
	if n := recv(t, g.sizes, "second batch"); n != 2 {
		t.Fatalf("second batch has %d messages, want 2", n)
	}
	cancel()
	if r := recv(t, gaveUp, "result of the cancelled append"); !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled append: %+v, %v; want context.Canceled", r.msg, r.err)
	}
	close(g.proceed)
	want := map[int64]string{}
	for _, ch := range []<-chan appended{first, kept} {
		r := recv(t, ch, "result")
		if r.err != nil {
			t.Fatal(r.err)
		}
		want[r.msg.ID] = r.msg.Text
	}
	got := roomTexts(t, db, room)
	var gaveUpCount int
	for id, text := range got {
		if text == "gave up" {
			gaveUpCount++
			want[id] = text
		}
	}
	if gaveUpCount != 1 || !mapsEqual(got, want) {
		t.Errorf("room holds %v; want %v and the message given up once", got, want)
	}
}

// Close with appends queued stores them before it returns, fails appends
// made meanwhile with ErrClosed, and leaves no goroutine behind.
func TestCloseWithAppendsPending(t *testing.T) {
	leakcheck.Check(t)
	forEachBackend(t, func(t *testing.T, newDSN func(testing.TB) string) {
		bg := context.Background()
		dsn := newDSN(t)
		db, err := store.Open(bg, dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		u := mustCreateUser(t, db, "nina", chat.RoleUser)
		g := gateWriter(db)
		first := appendAsync(bg, db, u, "help", "first")
		g.waitQueued(t, 1)
		recv(t, g.sizes, "first batch")
		const n = 10
		results := []<-chan appended{first}
		for i := range n {
			results = append(results, appendAsync(bg, db, u, "help", fmt.Sprint("pending ", i)))
		}
		g.waitQueued(t, n)

		closed := make(chan error, 1)
		go func() { closed <- db.Close() }()
		recv(t, g.closing, "Close")
		if _, err := db.AppendMessage(bg, chat.Message{Namespace: "/user", Room: "help", UserID: u.ID, Username: u.Name, Text: "too late"}); !errors.Is(err, store.ErrClosed) {
			t.Errorf("append during Close: %v, want ErrClosed", err)
		}
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) while appends were pending", err)
		default:
		}
		close(g.proceed)
		var texts []string
		for _, ch := range results {
			r := recv(t, ch, "result")
			if r.err != nil {
				t.Fatalf("pending append: %v", r.err)
			}
			texts = append(texts, r.msg.Text)
		}
		if err := recv(t, closed, "end of Close"); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := db.AppendMessage(bg, chat.Message{Namespace: "/user", Room: "help", UserID: u.ID, Username: u.Name, Text: "after"}); !errors.Is(err, store.ErrClosed) {
			t.Errorf("append after Close: %v, want ErrClosed", err)
		}

		reopened := mustOpenPath(t, dsn)
		var stored []string
		for _, text := range roomTexts(t, reopened, "help") {
			stored = append(stored, text)
		}
		slices.Sort(stored)
		slices.Sort(texts)
		if !slices.Equal(stored, texts) {
			t.Errorf("stored after Close: %v, want %v", stored, texts)
		}
	})
}

// LastMessages reads the (room_id, id) index backwards and stops after
// limit rows, whatever the size of the room: no scan of the table, no sort
// of the room's messages, no scan of the primary key past the messages of
// other rooms (the small room "random" has the oldest messages, the big
// room "chat" the newest).
func TestLastMessagesUsesRoomIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newDSN func(testing.TB) string) {
		ctx := context.Background()
		db := mustOpenPath(t, newDSN(t))
		u := mustCreateUser(t, db, "olga", chat.RoleUser)
		for _, room := range []struct {
			title string
			n     int
		}{{"random", 100}, {"chat", 3000}} {
			if err := db.InsertMessages(ctx, "/user", room.title, u.ID, room.n); err != nil {
				t.Fatal(err)
			}
		}
		for _, room := range []string{"random", "chat"} {
			plan, err := db.ExplainLastMessages(ctx, "/user", room, 50)
			if err != nil {
				t.Fatal(err)
			}
			var ok bool
			if strings.Contains(plan, "Index Scan") || strings.Contains(plan, "Seq Scan") { // PostgreSQL
				ok = strings.Contains(plan, "Index Scan Backward using messages_room_id on messages") &&
					!strings.Contains(plan, "Seq Scan on messages") && !strings.Contains(plan, "messages_pkey") &&
					strings.Count(plan, "Sort Key") == 1 // only the final 50 rows
			} else { // SQLite
				ok = strings.Contains(plan, "SEARCH m USING INDEX messages_room_id (room_id=? AND id<?)") &&
					!strings.Contains(plan, "SCAN m") && strings.Count(plan, "TEMP B-TREE") == 1 // only the final 50 rows
			}
			if !ok {
				t.Errorf("plan of LastMessages in room %s:\n%s", room, plan)
			}
		}
	})
}
