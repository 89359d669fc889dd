package lograte

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// Within a period only the first error is logged; the next line counts
// the suppressed ones.
func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	var r Limiter
	for range 3 {
		r.Warn(l, "publish failed", errors.New("down"))
	}
	if n := strings.Count(buf.String(), "publish failed"); n != 1 {
		t.Fatalf("%d lines within a period:\n%s", n, buf.String())
	}
	r.last = r.last.Add(-Period) // the period is over
	r.Warn(l, "publish failed", errors.New("down"))
	if !strings.Contains(buf.String(), "suppressed=2") {
		t.Fatalf("the second line does not count the suppressed ones:\n%s", buf.String())
	}
}
