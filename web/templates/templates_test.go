package templates_test

import (
	"context"
	"strings"
	"testing"

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
	} {
		if !strings.Contains(html, want) {
			t.Errorf("chat page lacks %s", want)
		}
	}
	if strings.Contains(html, `data-testid="admin-link"`) {
		t.Error("a creator sees the admin link")
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
