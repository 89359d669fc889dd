// Package testutil holds the helpers the tests of this module share, so
// that each is written once. Goroutine leaks are checked by
// internal/leakcheck; wire-level Socket.IO clients are in
// socketio/socketiotest; a recording adapter.Emitter is in
// socketio/adapter/adaptertest.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Poll is how often Eventually and Within evaluate their condition.
const Poll = 5 * time.Millisecond

// Eventually evaluates cond every Poll until it holds, and fails t with
// "timed out waiting for what" once timeout has passed. Call it from the
// test's goroutine (it calls t.Fatalf).
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(timeout, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Within evaluates cond every Poll until it holds, and reports whether it
// did before timeout passed: for a test that explains a failure itself.
func Within(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(Poll)
	}
	return true
}

// Buffer is a bytes.Buffer safe for concurrent writers and readers: the
// standard output of a server run in-process, which the test reads while
// the server writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
