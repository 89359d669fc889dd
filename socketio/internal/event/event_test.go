package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func argsOf(t *testing.T, raw string, atts ...[]byte) Args {
	t.Helper()
	var r []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return NewArgs(r, atts)
}

func TestArgs(t *testing.T) {
	a := argsOf(t, `[1,"x",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}]}]`, []byte{1}, []byte{2})
	if a.Len() != 4 || string(a.Raw(1)) != `"x"` || a.Raw(4) != nil || a.Raw(-1) != nil {
		t.Fatal("Len/Raw")
	}
	if b, ok := a.Binary(2); !ok || !bytes.Equal(b, []byte{1}) {
		t.Fatal("Binary")
	}
	if _, ok := a.Binary(0); ok {
		t.Fatal("Binary of a number")
	}
	vals, err := a.Values()
	if err != nil {
		t.Fatal(err)
	}
	want := []any{1.0, "x", []byte{1}, map[string]any{"k": []any{[]byte{2}}}}
	if !reflect.DeepEqual(vals, want) {
		t.Fatalf("Values = %#v", vals)
	}
	var s string
	if err := a.Decode(2, &s); err == nil {
		t.Fatal("binary into a string")
	}
	if err := a.Decode(9, &s); err == nil {
		t.Fatal("missing argument")
	}
	if err := a.Decode(1, s); err == nil {
		t.Fatal("non-pointer")
	}
	if a.String() != `[1,"x",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}]}]` {
		t.Fatal(a.String())
	}
}

func TestNewHandler(t *testing.T) {
	type point struct{ X, Y int }
	var got []any
	ack := Ack(func(args ...any) error { got = append(got, "ack"); return nil })
	a := argsOf(t, `[{"X":1,"Y":2},"s",{"_placeholder":true,"num":0}]`, []byte("bin"))

	h := NewHandler("e", func(p point, s string, b []byte, ack Ack) { got = append(got, p, s, string(b)); ack() })
	if err := h(a, ack); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []any{point{1, 2}, "s", "bin", "ack"}) {
		t.Fatalf("got %v", got)
	}

	got = nil
	h = NewHandler("e", func(p point, s string, b []byte, extra int) { got = append(got, extra) })
	if err := h(a, ack); err != nil || !reflect.DeepEqual(got, []any{0}) {
		t.Fatalf("missing argument: %v %v", got, err)
	}

	h = NewHandler("e", func(n int) { t.Error("called with a bad argument") })
	var ae *ArgError
	if err := h(a, ack); !errors.As(err, &ae) || ae.Event != "e" || ae.Index != 0 {
		t.Fatalf("error %v", err)
	}

	calls := 0
	for _, fn := range []any{func() { calls++ }, func(Args) { calls++ }, func(Args, Ack) { calls++ }} {
		if err := NewHandler("e", fn)(a, ack); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 3 {
		t.Fatal(calls)
	}

	for _, bad := range []any{42, func() int { return 0 }, func(...int) {}, func(Ack, int) {}, func(int, Args) {}, func() (int, error) { return 0, nil }} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "handler for") {
					t.Errorf("%T: panic %v", bad, r)
				}
			}()
			NewHandler("e", bad)
		}()
	}
}

func TestNewFunc(t *testing.T) {
	a := argsOf(t, `["room",2]`)
	var got []any
	join := func(room string, n int, ack Ack) error { got = append(got, room, n); return ack("ok") }
	f := NewFunc("join", join)
	var acked []any
	if err := f.Call("join", a, func(args ...any) error { acked = args; return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []any{"room", 2}) || !reflect.DeepEqual(acked, []any{"ok"}) {
		t.Fatalf("got %v, acked %v", got, acked)
	}
	// The shape of a function type is found once: validating another
	// function of that type allocates nothing.
	other := func(room string, n int, ack Ack) error { return nil }
	if allocs := testing.AllocsPerRun(10, func() { _ = NewFunc("join", other) }); allocs != 0 {
		t.Fatalf("%v allocations validating a known function type", allocs)
	}
	if err := NewFunc("e", func(n int) {}).Call("e", a, nil); err == nil {
		t.Fatal("no error for an argument of the wrong type")
	}
	for _, bad := range []any{nil, 42, func(...int) {}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "handler for") {
					t.Errorf("%T: panic %v", bad, r)
				}
			}()
			NewFunc("e", bad)
		}()
	}
}

func TestForwardAndFirst(t *testing.T) {
	a := argsOf(t, `[{"b":2,"a":1},{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]`, []byte{7}, []byte{8})
	f := a.Forward()
	if string(f[0].(json.RawMessage)) != `{"b":2,"a":1}` {
		t.Fatalf("JSON kept raw: %v", f[0])
	}
	if !bytes.Equal(f[1].([]byte), []byte{7}) {
		t.Fatalf("binary: %v", f[1])
	}
	if !reflect.DeepEqual(f[2], map[string]any{"k": []byte{8}}) {
		t.Fatalf("nested binary: %#v", f[2])
	}
	if first := a.First(); first.Len() != 1 || string(first.Raw(0)) != `{"b":2,"a":1}` {
		t.Fatalf("First: %v", first)
	}
	if NewArgs(nil, nil).First().Len() != 0 {
		t.Fatal("First of nothing")
	}
}
