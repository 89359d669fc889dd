package jsvalue

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := `["ev",{"_placeholder":true,"num":0},{"a":[1,-2,3.5,"x\"y",null,true],"b":{"_placeholder":true,"num":1}},18446744073709551615]`
	atts := [][]byte{{1, 2, 3}, {}}
	tree, err := FromJSON([]byte(in), atts)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	out, gotAtts, err := JSON(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Fatalf("JSON\n got %s\nwant %s", out, in)
	}
	if len(gotAtts) != 2 || !bytes.Equal(gotAtts[0], atts[0]) || len(gotAtts[1]) != 0 {
		t.Fatalf("attachments %v", gotAtts)
	}
	o := back.([]any)[2].(*Object)
	if o.Len() != 2 || o.Keys()[0] != "a" {
		t.Fatalf("object keys %v", o.Keys())
	}
	if _, ok := o.GetString("a"); ok {
		t.Fatal("GetString of an array")
	}
}

func TestErrors(t *testing.T) {
	if _, err := FromJSON([]byte(`[{"_placeholder":true,"num":1}]`), nil); err == nil {
		t.Fatal("placeholder without attachment accepted")
	}
	if _, err := FromJSON([]byte(`[1] 2`), nil); err == nil {
		t.Fatal("trailing data accepted")
	}
	// An array announcing more elements than bytes left.
	if _, err := Unmarshal([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}); err == nil {
		t.Fatal("short array accepted")
	}
}

// FuzzUnmarshal checks that no MessagePack input makes the decoder panic
// or allocate without bound, and that what it decodes converts to JSON
// that FromJSON reads back.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`["ev",{"_placeholder":true,"num":0}]`,
		`{"packet":{"type":2,"data":["a",1.5,null],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`,
	} {
		tree, err := FromJSON([]byte(s), [][]byte{{7}})
		if err != nil {
			f.Fatal(err)
		}
		b, _ := Marshal(tree)
		f.Add(b)
	}
	f.Add([]byte{0xd6, 0xff, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b)
		if err != nil {
			return
		}
		text, atts, err := JSON(v)
		if err != nil {
			return // keys that are not strings cannot all be written
		}
		if _, err := FromJSON(text, atts); err != nil {
			t.Fatalf("JSON %s of decoded value does not parse back: %v", text, err)
		}
	})
}
