package chat_test

import (
	"go/build"
	"strings"
	"testing"
)

// Package chat is the domain: it imports no transport (docs: "The chat
// domain apart from its transport"); chat/live maps it onto Socket.IO.
func TestChatImportsNoTransport(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "net/http" || strings.HasPrefix(imp, "net/http/") ||
			strings.Contains(imp, "/socketio") || strings.HasSuffix(imp, "/store") || strings.HasSuffix(imp, "/web") {
			t.Errorf("package chat imports %s", imp)
		}
	}
}
