package event

import (
	"encoding/json"
	"errors"
	"testing"
)

var plainStringInputs = []string{
	`""`, `"join"`, `"bench"`, `"a b c"`, `"é日本語😀"`, `"\u2028"`, "\"\u2028\"", `"<&>"`,
	`"a\"b"`, `"a\\b"`, `"\n"`, "\"\x01\"", "\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"",
	`"`, `x`, `"a"b"`, `null`, `1`, `{}`, `["a"]`, ` "a"`, `"a" `,
}

// TestPlainString checks PlainString against json.Unmarshal.
func TestPlainString(t *testing.T) {
	for _, in := range plainStringInputs {
		checkPlainString(t, []byte(in))
	}
}

func checkPlainString(t *testing.T, in []byte) {
	t.Helper()
	got, ok := PlainString(in)
	if !ok {
		return
	}
	var want string
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("PlainString(%q) = %q, true; json.Unmarshal: %v", in, got, err)
	}
	if got != want {
		t.Fatalf("PlainString(%q) = %q, json.Unmarshal %q", in, got, want)
	}
}

func FuzzPlainString(f *testing.F) {
	for _, in := range plainStringInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(checkPlainString)
}

// TestStringHandlers checks the handler shapes taking a string (called
// without reflection) against the same shapes through reflection.
func TestStringHandlers(t *testing.T) {
	type result struct {
		s      string
		called bool
		err    error
	}
	run := func(args Args, useAck bool) (fast, slow result) {
		ack := Ack(func(...any) error { return nil })
		var f Func
		if useAck {
			f = NewFunc("ev", func(s string, a Ack) { fast = result{s: s, called: a != nil} })
		} else {
			f = NewFunc("ev", func(s string) { fast = result{s: s, called: true} })
		}
		fast.err = f.Call("ev", args, ack)
		// An error result makes the shape go through reflection.
		if useAck {
			f = NewFunc("ev", func(s string, a Ack) error { slow = result{s: s, called: a != nil}; return nil })
		} else {
			f = NewFunc("ev", func(s string) error { slow = result{s: s, called: true}; return nil })
		}
		slow.err = f.Call("ev", args, ack)
		return fast, slow
	}
	if NewFunc("ev", func(string) {}).shape != nil || NewFunc("ev", func(string, Ack) {}).shape != nil {
		t.Fatal("string handlers go through reflection")
	}
	for _, raw := range []string{`[]`, `["room"]`, `["a\"b\u00e9"]`, `[null]`, `["x",1]`, `[1]`, `[{"a":1}]`, "[\"\xff\"]", `[{"_placeholder":true,"num":0}]`} {
		var r []json.RawMessage
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			// Invalid UTF-8 is accepted by json.Unmarshal; nothing else fails.
			t.Fatalf("%s: %v", raw, err)
		}
		args := NewArgs(r, [][]byte{{1}})
		for _, useAck := range []bool{false, true} {
			fast, slow := run(args, useAck)
			var fe, se *ArgError
			if fast.s != slow.s || fast.called != slow.called || errors.As(fast.err, &fe) != errors.As(slow.err, &se) {
				t.Errorf("%s (ack %v): without reflection %+v, with %+v", raw, useAck, fast, slow)
			}
			if fe != nil && (fe.Event != "ev" || fe.Index != 0 || fe.Err.Error() != se.Err.Error()) {
				t.Errorf("%s (ack %v): error %v, with reflection %v", raw, useAck, fe, se)
			}
		}
	}
}
