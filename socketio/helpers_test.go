package socketio_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/socketiotest"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func itoa(i int) string                   { return strconv.Itoa(i) }

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func expectReasons(t *testing.T, ch chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-ch:
			if got != w {
				t.Fatalf("got %q, want %q", got, w)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("timed out waiting for %q", w)
		}
	}
}

func dialURL(t testing.TB, u string) *socketiotest.Conn {
	t.Helper()
	return socketiotest.Dial(t, u, nil)
}
