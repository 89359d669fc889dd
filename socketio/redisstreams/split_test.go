package redisstreams

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestObjectFields(t *testing.T) {
	for _, tc := range []struct {
		in          string
		ok          bool
		opts, reqID string
	}{
		{`{"packet":{"type":2,"data":["m","}]\"{["],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`, true, `{"rooms":["r"],"except":[],"flags":{}}`, ""},
		{` { "opts" : [1, {"a": "b"}] , "requestId" : "x1" } `, true, `[1, {"a": "b"}]`, `"x1"`},
		{`{"opts":1,"opts":true}`, true, `true`, ""},
		{`{}`, true, "", ""},
		{`{"packet":null,"opts":-1.5e3}`, true, `-1.5e3`, ""},
		{``, false, "", ""},
		{`[]`, false, "", ""},
		{`{"opts":`, false, "", ""},
		{`{"opts":{"a":[}`, false, "", ""},
		{`{"opts":"unterminated}`, false, "", ""},
		{`{"opts":{} "x":1}`, false, "", ""},
		{`{"opts":{}} trailing`, false, "", ""},
		{`{opts:{}}`, false, "", ""},
		{`{"opts":}`, false, "", ""},
	} {
		vals, ok := objectFields(tc.in, "opts", "requestId")
		if ok != tc.ok {
			t.Errorf("objectFields(%q): ok %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if ok && (vals[0] != tc.opts || vals[1] != tc.reqID) {
			t.Errorf("objectFields(%q) = %q, want %q %q", tc.in, vals, tc.opts, tc.reqID)
		}
	}
}

// On any input objectFields neither panics nor disagrees with
// encoding/json about a valid object's fields (keys without escapes).
func FuzzObjectFields(f *testing.F) {
	for _, s := range []string{
		`{"packet":{"type":2,"data":["hello",1,{"a":[true,null]}],"nsp":"/"},"opts":{"rooms":["r1"],"except":["x"],"flags":{"volatile":true}}}`,
		`{"packet":{"type":2,"data":["ack"],"nsp":"/"},"requestId":"abc","opts":{"rooms":[],"except":[],"flags":{}}}`,
		`{"uid":"u","opts":"\"}\\","x":[[[]]]}`,
		`{}`, `{"a":1}`, `[1]`, `{"a":`, `{"a":"\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, ok := objectFields(s, "opts", "packet")
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &m) != nil || m == nil || strings.Contains(s, `\`) {
			return
		}
		if !ok {
			t.Fatalf("objectFields refused the valid object %q", s)
		}
		for k, key := range []string{"opts", "packet"} {
			if want := string(m[key]); vals[k] != want {
				t.Fatalf("objectFields(%q)[%s] = %q, encoding/json says %q", s, key, vals[k], want)
			}
		}
	})
}
