package templates

import (
	"context"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

// The forms the pages are made of render on their own, escaping what
// they are given.
func TestFormsRenderAlone(t *testing.T) {
	var b strings.Builder
	u := chat.User{ID: 7, Name: "<ann>", Role: chat.RoleCreator}
	if err := roleForm(u, []chat.Role{chat.RoleUser, chat.RoleCreator, chat.RoleAdmin}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "&lt;ann&gt;") || strings.Contains(b.String(), "<ann>") {
		t.Errorf("role form:\n%s", b.String())
	}
	b.Reset()
	if err := authForm("/login", "login-form", "Log in", "current-password", AuthForm{Username: "<bob>", Error: "no <way>"}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`action="/login"`, "&lt;bob&gt;", "no &lt;way&gt;"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("auth form lacks %s:\n%s", want, b.String())
		}
	}
}
