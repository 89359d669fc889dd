package chat_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

func TestValidateText(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"hello", "hello", true},
		{"  hi there \n\t", "hi there", true},
		{"\u00a0\u2003x\u3000", "x", true}, // Unicode spaces are trimmed too
		{"<script>alert(1)</script>", "<script>alert(1)</script>", true},
		{"a  b", "a  b", true},
		{"", "", false},
		{" \t\r\n\u2003 ", "", false},
		{strings.Repeat("x", 2000), strings.Repeat("x", 2000), true},
		{strings.Repeat("é", 2000), strings.Repeat("é", 2000), true}, // counted in code points, not bytes
		{"  " + strings.Repeat("😀", 2000) + "  ", strings.Repeat("😀", 2000), true},
		{strings.Repeat("x", 2001), "", false},
		{strings.Repeat("😀", 2001), "", false},
		{"\xff\xfe", "", false},
		{"a\x00b", "", false},
		{"\x00", "", false},
	}
	for _, tt := range tests {
		got, err := chat.ValidateText(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("ValidateText(%.20q) = %.20q, %v; want %.20q", tt.in, got, err, tt.want)
			}
			continue
		}
		if chat.ErrorCode(err) != chat.EINVALID || chat.ErrorMessage(err) == "" {
			t.Errorf("ValidateText(%.20q) err = %v, want invalid with a message", tt.in, err)
		}
	}
}

func TestValidateUsernameAndPassword(t *testing.T) {
	for _, name := range []string{"abc", "A_b-9", strings.Repeat("z", 32)} {
		if err := chat.ValidateUsername(name); err != nil {
			t.Errorf("ValidateUsername(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "ab", strings.Repeat("z", 33), "has space", "ünï", "a.b", "a/b", "<b>"} {
		if err := chat.ValidateUsername(name); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("ValidateUsername(%q) = %v, want invalid", name, err)
		}
	}
	for _, pw := range []string{"12345678", "pässwörd", strings.Repeat("p", 1024)} {
		if err := chat.ValidatePassword(pw); err != nil {
			t.Errorf("ValidatePassword(%q) = %v", pw, err)
		}
	}
	for _, pw := range []string{"", "1234567", "ééééééé", strings.Repeat("p", 1025)} {
		if err := chat.ValidatePassword(pw); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("ValidatePassword(%q) = %v, want invalid", pw, err)
		}
	}
}

func TestRoles(t *testing.T) {
	for in, want := range map[string]chat.Role{"user": chat.RoleUser, " Creator ": chat.RoleCreator, "ADMIN": chat.RoleAdmin} {
		got, err := chat.ParseRole(in)
		if err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "root", "users"} {
		if _, err := chat.ParseRole(in); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("ParseRole(%q) err = %v", in, err)
		}
	}
	userNS := chat.Namespace{Endpoint: "/user", MinRole: chat.RoleUser}
	creatorNS := chat.Namespace{Endpoint: "/creator", MinRole: chat.RoleCreator}
	adminNS := chat.Namespace{Endpoint: "/admin", MinRole: chat.RoleAdmin}
	tests := []struct {
		role chat.Role
		want [3]bool
	}{
		{chat.RoleUser, [3]bool{true, false, false}},
		{chat.RoleCreator, [3]bool{true, true, false}},
		{chat.RoleAdmin, [3]bool{true, true, true}},
		{"", [3]bool{false, false, false}},
		{"root", [3]bool{false, false, false}},
	}
	for _, tt := range tests {
		got := [3]bool{tt.role.MayEnter(userNS), tt.role.MayEnter(creatorNS), tt.role.MayEnter(adminNS)}
		if got != tt.want {
			t.Errorf("role %q may enter user/creator/admin = %v, want %v", tt.role, got, tt.want)
		}
	}
	if chat.RoleAdmin.MayEnter(chat.Namespace{MinRole: "bogus"}) {
		t.Error("a namespace with an invalid min role is enterable")
	}
}

func TestJSONShapes(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{chat.Namespace{ID: 1, Title: "Users", Img: "/static/img/user.svg", Endpoint: "/user", MinRole: chat.RoleUser},
			`{"id":1,"nsTitle":"Users","img":"/static/img/user.svg","endpoint":"/user"}`},
		{chat.Room{ID: 2, Title: "chat", Namespace: "/user", Private: false},
			`{"roomId":2,"roomTitle":"chat","namespace":"/user","privateRoom":false}`},
		{chat.Message{ID: 3, Namespace: "/user", Room: "chat", Username: "bob", Text: "<i>x</i>", Time: 1700000000000, UserID: 9},
			`{"id":3,"namespace":"/user","room":"chat","username":"bob","text":"\u003ci\u003ex\u003c/i\u003e","time":1700000000000,"edited":0}`},
		{chat.Message{ID: 4, Namespace: "/user", Room: "chat", Username: "bob", Text: "y", Time: 1700000000000, Edited: 1700000000500},
			`{"id":4,"namespace":"/user","room":"chat","username":"bob","text":"y","time":1700000000000,"edited":1700000000500}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("json of %T = %s\nwant %s", tt.v, b, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	e := chat.Errorf(chat.EFORBIDDEN, "no entry to %s", "/admin")
	wrapped := fmt.Errorf("join: %w", e)
	if chat.ErrorCode(wrapped) != chat.EFORBIDDEN || chat.ErrorMessage(wrapped) != "no entry to /admin" {
		t.Errorf("wrapped: code %q message %q", chat.ErrorCode(wrapped), chat.ErrorMessage(wrapped))
	}
	plain := errors.New("disk on fire at /var/secret")
	if chat.ErrorCode(plain) != chat.EINTERNAL || chat.ErrorMessage(plain) != "internal error" {
		t.Errorf("plain: code %q message %q", chat.ErrorCode(plain), chat.ErrorMessage(plain))
	}
	if chat.ErrorCode(nil) != "" || chat.ErrorMessage(nil) != "" {
		t.Error("nil error has a code or message")
	}
	if !strings.Contains(e.Error(), "forbidden") {
		t.Errorf("Error() = %q", e.Error())
	}
}
