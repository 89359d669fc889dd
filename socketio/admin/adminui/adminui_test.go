package adminui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/socketio/admin/adminui"
)

func TestHandler(t *testing.T) {
	leakcheck.Check(t)
	if adminui.Version != "0.5.1" {
		t.Fatalf("version %q", adminui.Version)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin-ui/", http.StripPrefix("/admin-ui", adminui.Handler()))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/admin-ui/")
	if resp.StatusCode != 200 || !strings.Contains(body, "<title>Socket.IO Admin UI</title>") {
		t.Fatalf("index: %d %.200s", resp.StatusCode, body)
	}
	if resp.Header.Get("ETag") == "" {
		t.Error("index: no ETag")
	}
	resp, _ = get("/admin-ui/js/app.0d7d7845.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("app.js: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ = get("/admin-ui/nothing.js"); resp.StatusCode != 404 {
		t.Fatalf("missing file: %d", resp.StatusCode)
	}
}
