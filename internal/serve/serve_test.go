package serve

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
)

// Run serves until its context ends, then calls the closers and shuts
// down; a listener that fails ends it with the error.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out testutil.Buffer
	closed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }), &out,
			func(context.Context) error { close(closed); return nil })
	}()
	testutil.Eventually(t, 5*time.Second, "the listening line", func() bool { return strings.Contains(out.String(), "listening on http://"+ln.Addr().String()) })
	res, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hi" {
		t.Fatalf("body %q", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	<-closed

	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	ln2.Close() // Serve fails at once
	if err := Run(context.Background(), ln2, http.NotFoundHandler(), io.Discard); err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Run on a closed listener: %v", err)
	}
}

// Pprof serves the profiling index.
func TestPprof(t *testing.T) {
	rec := httptest.NewRecorder()
	Pprof().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("%d %.100s", rec.Code, rec.Body.String())
	}
}
