package chat_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/chat"
)

func TestSearchWords(t *testing.T) {
	for q, want := range map[string][]string{
		"":                      nil,
		"   \t\n":               nil,
		`"" * - ( ) :`:          nil,
		"fox":                   {"fox"},
		"  Quick   fox  ":       {"Quick", "fox"},
		"fox FOX Fox":           {"fox"},
		`"NOT" OR title:x fox*`: {`"NOT"`, "OR", "title:x", "fox*"},
		"köln 42 ünïcödé":       {"köln", "42", "ünïcödé"},
		"NEAR(a b) c++ -d":      {"NEAR(a", "b)", "c++", "-d"},
	} {
		if got := chat.SearchWords(q); !slices.Equal(got, want) {
			t.Errorf("SearchWords(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestValidateRoomTitle(t *testing.T) {
	for _, ok := range []string{"a", "Lobby", "war_room", "x-1", strings.Repeat("z", 32), "CHAT"} {
		if err := chat.ValidateRoomTitle(ok); err != nil {
			t.Errorf("ValidateRoomTitle(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", " a", "a ", "a b", "lobby!", "lobbé", strings.Repeat("z", 33), "a/b", "a.b", "\x00"} {
		if err := chat.ValidateRoomTitle(bad); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("ValidateRoomTitle(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestRoomRoles(t *testing.T) {
	user := chat.Namespace{Endpoint: "/user", MinRole: chat.RoleUser}
	creator := chat.Namespace{Endpoint: "/creator", MinRole: chat.RoleCreator}
	admin := chat.Namespace{Endpoint: "/admin", MinRole: chat.RoleAdmin}
	for _, tc := range []struct {
		role   chat.Role
		ns     chat.Namespace
		create bool
	}{
		{chat.RoleUser, user, false},
		{chat.RoleCreator, user, true},
		{chat.RoleAdmin, user, true},
		{chat.RoleUser, creator, false},
		{chat.RoleCreator, creator, true},
		{chat.RoleAdmin, creator, true},
		{chat.RoleCreator, admin, false},
		{chat.RoleAdmin, admin, true},
		{"", user, false},
	} {
		if got := tc.role.MayCreateRoom(tc.ns); got != tc.create {
			t.Errorf("%q.MayCreateRoom(%s) = %v", tc.role, tc.ns.Endpoint, got)
		}
	}
	for role, want := range map[chat.Role]bool{chat.RoleUser: false, chat.RoleCreator: false, chat.RoleAdmin: true, "": false} {
		if got := role.MayDeleteRoom(); got != want {
			t.Errorf("%q.MayDeleteRoom() = %v", role, got)
		}
	}
}
