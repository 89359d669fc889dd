package templates_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/web/templates"
)

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestChatPageEscapesData(t *testing.T) {
	html := render(t, templates.ChatPage(templates.ChatView{
		User: chat.User{ID: 1, Name: "zed", Role: chat.RoleCreator},
		Namespaces: []chat.Namespace{
			{ID: 1, Title: `<img src=x onerror=alert(1)>`, Img: "/static/img/user.svg", Endpoint: "/user"},
			{ID: 2, Title: "Creators", Img: `"><script>`, Endpoint: "/creator"},
		},
	}))
	if strings.Contains(html, "<img src=x") || strings.Contains(html, `"><script>`) {
		t.Errorf("data rendered as markup:\n%s", html)
	}
	for _, want := range []string{
		`data-testid="conn-status"`, `data-testid="namespace-list"`, `data-testid="room-list"`,
		`data-testid="messages"`, `data-testid="message-form"`, `data-testid="message-input"`,
		`<label for="message-input"`, `data-endpoint="/creator"`, `data-role="creator"`,
		`data-testid="search-form"`, `<label for="search-input"`, `data-testid="member-panel"`,
		`data-testid="members-toggle"`, `data-testid="rooms-toggle"`, `data-testid="typing"`,
		`data-testid="room-form"`, `<label for="room-new"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("chat page lacks %s", want)
		}
	}
	if strings.Contains(html, `data-testid="admin-link"`) {
		t.Error("a creator sees the admin link")
	}
}

// Only creators and admins get the form that adds a room.
func TestChatPageRoomFormByRole(t *testing.T) {
	for role, want := range map[chat.Role]bool{chat.RoleUser: false, chat.RoleCreator: true, chat.RoleAdmin: true} {
		html := render(t, templates.ChatPage(templates.ChatView{User: chat.User{ID: 1, Name: "zed", Role: role}}))
		if got := strings.Contains(html, `data-testid="room-form"`); got != want {
			t.Errorf("%s: room form shown %v, want %v", role, got, want)
		}
	}
}

func TestAuthFormShowsError(t *testing.T) {
	html := render(t, templates.LoginPage(templates.AuthForm{Username: "a&b", Error: "wrong <password>"}))
	for _, want := range []string{`value="a&amp;b"`, `wrong &lt;password&gt;`, `role="alert"`, `aria-describedby="form-error"`, `action="/login"`} {
		if !strings.Contains(html, want) {
			t.Errorf("login page lacks %s:\n%s", want, html)
		}
	}
	html = render(t, templates.SignupPage(templates.AuthForm{}))
	if strings.Contains(html, `data-testid="form-error"`) || !strings.Contains(html, `autocomplete="new-password"`) {
		t.Errorf("fresh sign-up page:\n%s", html)
	}
}

func TestAdminUsersPage(t *testing.T) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	me := chat.User{ID: 1, Name: "root", Role: chat.RoleAdmin, Created: created}
	html := render(t, templates.AdminUsersPage(templates.AdminUsersView{
		Me:     me,
		Users:  []chat.User{me, {ID: 2, Name: "ann<b>", Role: chat.RoleCreator, Created: created}},
		Roles:  []chat.Role{chat.RoleUser, chat.RoleCreator, chat.RoleAdmin},
		Notice: "ann is now <creator>",
		Error:  "no such user",
	}))
	for _, want := range []string{
		`data-testid="admin-notice">ann is now &lt;creator&gt;`, `data-testid="form-error">no such user`,
		`data-username="root" data-role="admin"`, `admin (you)`, `data-username="ann&lt;b&gt;"`,
		`<option value="creator" selected>creator</option>`, `<option value="user">user</option>`,
		`datetime="2026-03-04T05:06:07Z"`, `>2026-03-04</time>`, `data-testid="role-submit"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("admin page lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<b>") {
		t.Errorf("a user name rendered as markup:\n%s", html)
	}
	if strings.Count(html, `data-testid="role-select"`) != 1 {
		t.Errorf("want a role form for the other user only:\n%s", html)
	}
	plain := render(t, templates.AdminUsersPage(templates.AdminUsersView{Me: me, Users: []chat.User{me}}))
	if strings.Contains(plain, `data-testid="admin-notice"`) || strings.Contains(plain, `data-testid="form-error"`) {
		t.Errorf("notice or error shown without one:\n%s", plain)
	}
}

func TestErrorPage(t *testing.T) {
	html := render(t, templates.ErrorPage(templates.ErrorView{Status: 404, Title: "Not found", Message: "no <such> page"}))
	for _, want := range []string{`<title>`, `Not found`, `data-testid="error-message">no &lt;such&gt; page`, `href="/login"`} {
		if !strings.Contains(html, want) {
			t.Errorf("error page lacks %s:\n%s", want, html)
		}
	}
}

// A page whose request was cancelled is not rendered: the context's
// error comes back instead.
func TestRenderingStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	me := chat.User{ID: 1, Name: "root", Role: chat.RoleAdmin}
	for name, c := range map[string]templ.Component{
		"chat":   templates.ChatPage(templates.ChatView{User: me}),
		"item":   templates.NamespaceItem(chat.Namespace{ID: 1, Title: "Users", Endpoint: "/user"}),
		"login":  templates.LoginPage(templates.AuthForm{}),
		"signup": templates.SignupPage(templates.AuthForm{}),
		"admin":  templates.AdminUsersPage(templates.AdminUsersView{Me: me}),
		"error":  templates.ErrorPage(templates.ErrorView{Title: "t"}),
		"layout": templates.Layout("t", "c"),
	} {
		var b strings.Builder
		if err := c.Render(ctx, &b); !errors.Is(err, context.Canceled) || b.Len() != 0 {
			t.Errorf("%s with a cancelled context: %v and %d bytes, want context.Canceled and nothing", name, err, b.Len())
		}
	}
}

// The parts the pages are made of render on their own too.
func TestPartsRenderAlone(t *testing.T) {
	item := render(t, templates.NamespaceItem(chat.Namespace{ID: 3, Title: "<Admins>", Img: "/static/img/admin.svg", Endpoint: "/admin"}))
	for _, want := range []string{`data-endpoint="/admin"`, `&lt;Admins&gt;`, `/static/img/admin.svg`} {
		if !strings.Contains(item, want) {
			t.Errorf("namespace item lacks %s:\n%s", want, item)
		}
	}
	page := render(t, templates.Layout("A <title>", "page-x"))
	for _, want := range []string{`<title>A &lt;title&gt;`, `class="page-x"`} {
		if !strings.Contains(page, want) {
			t.Errorf("layout lacks %s:\n%s", want, page)
		}
	}
}

// errShortWrite is what failingWriter returns once its budget is spent.
var errShortWrite = errors.New("the client went away")

// failingWriter accepts n bytes, then fails every write.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errShortWrite
	}
	w.n -= len(p)
	return len(p), nil
}

// A write that fails (a client that went away mid-page) ends the
// rendering with that error, wherever it happens.
func TestRenderingStopsOnWriteError(t *testing.T) {
	me := chat.User{ID: 1, Name: "root", Role: chat.RoleAdmin}
	other := chat.User{ID: 2, Name: "ann", Role: chat.RoleUser}
	for name, c := range map[string]templ.Component{
		"chat":   templates.ChatPage(templates.ChatView{User: me}),
		"login":  templates.LoginPage(templates.AuthForm{Username: "ann", Error: "bad"}),
		"signup": templates.SignupPage(templates.AuthForm{Error: "taken"}),
		"admin":  templates.AdminUsersPage(templates.AdminUsersView{Me: me, Users: []chat.User{me, other}, Notice: "done", Error: "oops"}),
		"error":  templates.ErrorPage(templates.ErrorView{Status: 500, Title: "t", Message: "m"}),
	} {
		var full strings.Builder
		if err := c.Render(context.Background(), &full); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for cut := 0; cut < full.Len(); cut++ {
			if err := c.Render(context.Background(), &failingWriter{n: cut}); !errors.Is(err, errShortWrite) {
				t.Fatalf("%s cut at byte %d of %d: %v, want the write error", name, cut, full.Len(), err)
			}
		}
	}
}

// flipCtx is a context cancelled after its Err has been asked n times:
// a request that goes away while its page renders.
type flipCtx struct {
	context.Context
	n int
}

func (c *flipCtx) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// A request cancelled midway through its page (between the page and one
// of its parts) ends the rendering with the context's error.
func TestRenderingStopsWhenCancelledMidway(t *testing.T) {
	me := chat.User{ID: 1, Name: "root", Role: chat.RoleAdmin}
	other := chat.User{ID: 2, Name: "ann", Role: chat.RoleUser}
	for name, c := range map[string]templ.Component{
		"login":  templates.LoginPage(templates.AuthForm{Username: "ann"}),
		"signup": templates.SignupPage(templates.AuthForm{}),
		"admin":  templates.AdminUsersPage(templates.AdminUsersView{Me: me, Users: []chat.User{me, other}}),
		"chat":   templates.ChatPage(templates.ChatView{User: me}),
		"error":  templates.ErrorPage(templates.ErrorView{Status: 500, Title: "t"}),
	} {
		cancelled := 0
		for n := 0; ; n++ {
			var b strings.Builder
			err := c.Render(&flipCtx{Context: context.Background(), n: n}, &b)
			if err == nil {
				break // n checks were enough to render it all
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s cancelled after %d checks: %v", name, n, err)
			}
			cancelled++
			if n > 100 {
				t.Fatalf("%s: still cancelled after %d checks", name, n)
			}
		}
		if cancelled == 0 {
			t.Errorf("%s: never cancelled", name)
		}
	}
}
