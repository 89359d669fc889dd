// Package templates holds the HTML pages of chatd as templ components
// (*.templ, compiled to the committed *_templ.go by `go tool templ
// generate`) and the view models they render.
//
// Elements that tests look for carry data-testid attributes; the chat
// page's dynamic parts are filled in by web/static/app.js, whose header
// comment lists every data-testid.
package templates

import "github.com/chatd/chatd/chat"

// AuthForm is the view model of the log-in and sign-up pages.
type AuthForm struct {
	Username string // echoed back after a failed attempt
	Error    string // shown above the form; empty on first display
}

// ChatView is the view model of the chat page.
type ChatView struct {
	User       chat.User
	Namespaces []chat.Namespace // the namespaces User may enter, by id
}

// AdminUsersView is the view model of the user administration page.
type AdminUsersView struct {
	Me     chat.User   // the signed-in admin (their own role is not editable)
	Users  []chat.User // every account, by name
	Roles  []chat.Role // the roles to choose from
	Notice string      // a confirmation shown above the table
	Error  string      // an error shown above the table
}

// ErrorView is the view model of a plain error page.
type ErrorView struct {
	Status  int
	Title   string
	Message string
}
