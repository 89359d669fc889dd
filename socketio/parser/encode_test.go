package parser

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// stdJSON is what encoding/json writes for v without HTML escaping.
func stdJSON(t testing.TB, v any) (string, error) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// scalarValues are values EncodeData writes without encoding/json, or
// that look like them and must fall back to it.
var scalarValues = []any{
	nil, true, false,
	"", "join", "bench", "hello, world", "<b>&amp;</b>", "~\x7f", " !#$%&'()*+,-./:;<=>?@[]^_`{|}",
	"é", "日本語", "emoji 😀", "\u2027\u202a", "\u2028", "a\u2029b", "\ufeff", "\uffff", "\U0010ffff",
	"quote \" inside", `back\slash`, "new\nline", "tab\t", "nul\x00", "\x1f", "\b\f\r",
	"\xff", "a\xc3", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x80", "ok\xe2\x80\xa8",
	0, 1, -1, 42, 255, 256, -256, math.MaxInt, math.MinInt,
	int64(math.MaxInt64), int64(math.MinInt64), int32(math.MinInt32), int32(7),
	uint(0), uint(math.MaxUint), uint64(math.MaxUint64), uint32(math.MaxUint32),
	0.0, math.Copysign(0, -1), 1.5, -1.5, 0.1, 1e-6, 9.99e-7, -1e-7, 1e20, 1e21, -1e21, 123456789.125,
	1e300, math.SmallestNonzeroFloat64, math.MaxFloat64, 1.0 / 3, 100.0, -0.000001,
	float32(0.1), float32(1e21), int8(-8), int16(300), uint8(200), uint16(60000), uintptr(9),
}

// TestEncodeDataScalars checks that every scalar is encoded byte for byte
// as encoding/json encodes it, alone, in an array and as a map value or
// key.
func TestEncodeDataScalars(t *testing.T) {
	for _, v := range scalarValues {
		want, err := stdJSON(t, v)
		if err != nil {
			t.Fatalf("encoding/json %#v: %v", v, err)
		}
		data, att, err := EncodeData([]any{v, []any{v}, map[string]any{"k": v}})
		if err != nil || att != nil {
			t.Errorf("EncodeData(%#v): %v, %d attachments", v, err, len(att))
			continue
		}
		if got, exp := string(data), "["+want+",["+want+"],{\"k\":"+want+"}]"; got != exp {
			t.Errorf("EncodeData(%#v) = %s, want %s", v, got, exp)
		}
		if s, ok := v.(string); ok {
			data, _, err := EncodeData([]any{map[string]any{s: 1}})
			if err != nil || string(data) != "[{"+want+":1}]" {
				t.Errorf("EncodeData(key %q) = %s, %v; want [{%s:1}]", s, data, err, want)
			}
		}
	}
}

// TestEncodeDataNonFinite checks that NaN and infinities are errors, as
// with encoding/json.
func TestEncodeDataNonFinite(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if data, _, err := EncodeData([]any{f}); err == nil {
			t.Errorf("EncodeData(%v) = %s, want an error", f, data)
		}
	}
}

// TestEncodeDataFastPaths checks that strings that need no escaping and
// numbers are written without encoding/json: the payload is the only
// allocation.
func TestEncodeDataFastPaths(t *testing.T) {
	for _, args := range [][]any{
		{"join", "bench"},
		{"msg", 42, -7, int64(1) << 60, 1.5, true, false, nil},
		{"unicode é 日本語 😀", map[string]any{"k": "v", "n": 1}},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, err := EncodeData(args); err != nil {
				t.Fatal(err)
			}
		})
		want := 1.0
		if _, ok := args[len(args)-1].(map[string]any); ok {
			want = 2 // the sorted keys
		}
		if allocs > want {
			t.Errorf("EncodeData(%#v): %.0f allocations, want %.0f", args, allocs, want)
		}
	}
}

func TestAppendData(t *testing.T) {
	dst := []byte("2/nsp,")
	got, att, err := AppendData(dst, []any{"ev", []byte{1}})
	if err != nil || len(att) != 1 {
		t.Fatalf("AppendData: %v, %d attachments", err, len(att))
	}
	if want := `2/nsp,["ev",` + ph0 + `]`; string(got) != want {
		t.Fatalf("AppendData = %s, want %s", got, want)
	}
	got, _, err = AppendData(dst, []any{make(chan int)})
	if err == nil || string(got) != "2/nsp," {
		t.Fatalf("AppendData of an unsupported value = %q, %v; want dst and an error", got, err)
	}
}

// FuzzEncodeDataScalars checks strings and numbers against encoding/json.
func FuzzEncodeDataScalars(f *testing.F) {
	for _, v := range scalarValues {
		switch x := v.(type) {
		case string:
			f.Add(x, int64(0), 0.0)
		case int:
			f.Add("", int64(x), float64(x))
		case float64:
			f.Add("a", int64(x), x)
		}
	}
	f.Fuzz(func(t *testing.T, s string, i int64, x float64) {
		args := []any{s, i, x, uint64(i), map[string]any{s: s}}
		data, _, err := EncodeData(args)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		werr := enc.Encode(args)
		if (err == nil) != (werr == nil) {
			t.Fatalf("EncodeData(%#v): error %v, encoding/json error %v", args, err, werr)
		}
		if err == nil && string(data)+"\n" != b.String() {
			t.Fatalf("EncodeData(%#v) = %s, encoding/json %s", args, data, b.String())
		}
	})
}

func TestSplitValidArray(t *testing.T) {
	for _, in := range []string{`[]`, ` [ 1 , "a\"]" ] `, `["join","bench"]`, `[{"a":[1,{}]},null,-1e3]`} {
		want, err := SplitArray([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := SplitValidArray([]byte(in))
		if err != nil || len(got) != len(want) {
			t.Fatalf("SplitValidArray(%q) = %q, %v; want %q", in, got, err, want)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("SplitValidArray(%q) = %q, want %q", in, got, want)
			}
		}
	}
	// Not valid JSON: no panic, and an error where the array is cut short.
	for _, in := range []string{``, ` `, `{}`, `[`, `[1,`, `["a\`, `["a`, `[{"a":1`, `[1 `} {
		if got, err := SplitValidArray([]byte(in)); err == nil {
			t.Errorf("SplitValidArray(%q) = %q, want an error", in, got)
		}
	}
	for _, in := range []string{`[}`, `[1,,]`, `[,]`, `[1 2]`, `[]]`} {
		_, _ = SplitValidArray([]byte(in))
	}
}
