package live_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/store"
)

// benchEnv is a chat server driven in-process over Engine.IO long-polling
// (no TCP), so that a room can hold thousands of real sockets cheaply.
type benchEnv struct {
	tb      testing.TB
	io      *socketio.Server
	db      *store.DB
	cookies []string
}

func newBenchEnv(tb testing.TB, accounts int) *benchEnv {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(tb.TempDir(), "chat.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	acc := chat.NewAccounts(db, db, chat.AccountsOptions{Password: fastParams})
	io := socketio.NewServer(&socketio.Options{Engine: engine.Options{
		PingInterval: time.Hour, PingTimeout: time.Hour, MaxQueuedBytes: 64 << 20,
	}})
	msgs := chat.NewMessages(db, chat.MessagesOptions{})
	cs := live.NewServer(live.Options{Auth: acc, Namespaces: db, Reads: chat.NewReadMarkers(db, msgs, chat.ReadMarkersOptions{}), Messages: msgs})
	if err := cs.Register(ctx, io); err != nil {
		tb.Fatal(err)
	}
	e := &benchEnv{tb: tb, io: io, db: db}
	for i := range accounts {
		name := fmt.Sprintf("user%05d", i)
		if _, err := acc.CreateUser(ctx, name, "password-123", chat.RoleUser); err != nil {
			tb.Fatal(err)
		}
		login, err := acc.LogIn(ctx, name, "password-123")
		if err != nil {
			tb.Fatal(err)
		}
		e.cookies = append(e.cookies, chat.SessionCookieName+"="+login.Token)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		cs.Close()
		_ = db.Close()
	})
	return e
}

// pollConn is one Engine.IO polling session with its socket on /user.
type pollConn struct {
	e      *benchEnv
	sid    string
	cookie string
}

func (e *benchEnv) do(method, target, cookie, body string) string {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.Header.Set("Cookie", cookie)
	w := httptest.NewRecorder()
	e.io.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		e.tb.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
	return w.Body.String()
}

// connect opens a session for account i, connects /user and reads
// nsRoomLoad.
func (e *benchEnv) connect(i int) *pollConn {
	cookie := e.cookies[i%len(e.cookies)]
	open := e.do("GET", "/socket.io/?EIO=4&transport=polling", cookie, "")
	at := strings.Index(open, `"sid":"`) + len(`"sid":"`)
	c := &pollConn{e: e, sid: open[at : at+strings.IndexByte(open[at:], '"')], cookie: cookie}
	c.post("40/user,")
	c.until(`42/user,["nsRoomLoad"`)
	return c
}

func (c *pollConn) post(packets ...string) {
	c.e.do("POST", "/socket.io/?EIO=4&transport=polling&sid="+c.sid, c.cookie, strings.Join(packets, "\x1e"))
}

// until polls until a packet starting with prefix arrives.
func (c *pollConn) until(prefix string) {
	for {
		for _, p := range strings.Split(c.e.do("GET", "/socket.io/?EIO=4&transport=polling&sid="+c.sid, c.cookie, ""), "\x1e") {
			if strings.HasPrefix(p, prefix) {
				return
			}
		}
	}
}

// join joins room and waits for its historyUpdate.
func (c *pollConn) join(room string, id int) {
	c.post(fmt.Sprintf(`42/user,%d["joinRoom","%s"]`, id, room))
	c.until(`42/user,["historyUpdate"`)
}

// BenchmarkJoin: one socket moving between a room of N members and an
// empty one. Each operation is a join of the big room (ack with the
// count, history) and a join of the other; the cost must not grow with N.
func BenchmarkJoin(b *testing.B) {
	for _, members := range []int{100, 10000} {
		b.Run(fmt.Sprintf("room=%d", members), func(b *testing.B) {
			e := newBenchEnv(b, min(members, 500))
			for i := range members {
				e.connect(i).join("chat", 1)
			}
			c := e.connect(0)
			b.ResetTimer()
			for i := range b.N {
				c.join("chat", 2*i)
				c.join("random", 2*i+1)
			}
		})
	}
}

// BenchmarkPost: a message posted to a room whose history holds N
// messages: validated, stored, broadcast to the room (its one member) and
// acknowledged; the cost must not grow with N.
func BenchmarkPost(b *testing.B) {
	for _, stored := range []int{100, 10000} {
		b.Run(fmt.Sprintf("history=%d", stored), func(b *testing.B) {
			e := newBenchEnv(b, 1)
			ctx := context.Background()
			for i := range stored {
				if _, err := e.db.AppendMessage(ctx, chat.Message{Namespace: "/user", Room: "chat", UserID: 1, Username: "user00000", Text: fmt.Sprint("message ", i)}); err != nil {
					b.Fatal(err)
				}
			}
			c := e.connect(0)
			c.join("chat", 1)
			b.ResetTimer()
			for i := range b.N {
				id := 2 + i
				c.post(fmt.Sprintf(`42/user,%d["newMsg2Server",{"text":"hello %d"}]`, id, i))
				c.until(fmt.Sprintf(`43/user,%d[`, id))
			}
		})
	}
}
