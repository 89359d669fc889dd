package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// TestJSONParser checks the default parser through the Parser interface:
// a binary event is a text message and its attachments, and its decoder
// gives back the packet once the last attachment has arrived.
func TestJSONParser(t *testing.T) {
	p := Packet{Type: Event, Namespace: "/n", ID: 3, HasID: true, Data: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`)}
	att := []byte{1, 2, 3}
	msgs, err := JSON.Encode(nil, &p, [][]byte{att})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Binary || string(msgs[0].Data) != `51-/n,3["e",{"_placeholder":true,"num":0}]` || !msgs[1].Binary || !bytes.Equal(msgs[1].Data, att) {
		t.Fatalf("messages %v", msgs)
	}
	d := JSON.NewDecoder()
	for i, m := range msgs {
		data := bytes.Clone(m.Data)
		got, atts, done, err := d.Add(data, m.Binary)
		if err != nil {
			t.Fatal(err)
		}
		if done != (i == len(msgs)-1) {
			t.Fatalf("message %d: done %v", i, done)
		}
		clear(data) // nothing returned aliases it
		if done {
			if got.Type != BinaryEvent || got.Namespace != "/n" || got.ID != 3 || !got.HasID || got.Attachments != 1 ||
				string(got.Data) != string(p.Data) || len(atts) != 1 || !bytes.Equal(atts[0], att) {
				t.Fatalf("decoded %+v %q", got, atts)
			}
		}
	}
	msgs, _ = JSON.Encode(nil, &Packet{Type: Disconnect, Namespace: "/"}, nil)
	if len(msgs) != 1 || string(msgs[0].Data) != "1" {
		t.Fatalf("disconnect: %v", msgs)
	}
}

func TestJSONDecoderErrors(t *testing.T) {
	if _, _, _, err := JSON.NewDecoder().Add([]byte{1}, true); !errors.Is(err, ErrInvalidAttachments) {
		t.Errorf("binary first: %v", err)
	}
	d := JSON.NewDecoder()
	if _, _, done, err := d.Add([]byte(`51-["e",{"_placeholder":true,"num":0}]`), false); err != nil || done {
		t.Fatalf("header: %v %v", done, err)
	}
	if _, _, _, err := d.Add([]byte(`2["e"]`), false); !errors.Is(err, ErrInvalidAttachments) {
		t.Errorf("text instead of an attachment: %v", err)
	}
	if _, _, _, err := JSON.NewDecoder().Add([]byte(`2{}`), false); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("2{}: %v", err)
	}
	lim := JSONParser{Options: DecodeOptions{MaxAttachments: 1}}.NewDecoder()
	if _, _, _, err := lim.Add([]byte(`52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), false); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("2 attachments, limit 1: %v", err)
	}
}
