package eio

import (
	"bytes"
	"errors"
	"testing"
)

func TestUTF16Len(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{
		{"", 0}, {"abc", 3}, {"é", 1}, {"€", 1}, {"😀", 2}, {"a😀é", 4}, {"\xff", 1},
	} {
		if got := UTF16Len([]byte(c.s)); got != c.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", c.s, got, c.want)
		}
	}
}

func TestPayloadV3Encode(t *testing.T) {
	pkts := []Packet{
		TextMessage([]byte("héllo😀")),
		{Type: PacketPing},
		BinaryMessage([]byte{1, 2, 3}),
	}
	// "4héllo😀" is 1+5+2 = 8 UTF-16 units; "b4AQID" is 6.
	want := "8:4héllo😀1:26:b4AQID"
	if got := string(AppendPayloadV3(nil, pkts)); got != want {
		t.Fatalf("AppendPayloadV3 = %q, want %q", got, want)
	}
	if got := string(AppendPayloadV3(nil, nil)); got != "0:" {
		t.Fatalf("empty payload = %q", got)
	}
	back, err := DecodePayloadV3([]byte(want), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || string(back[0].Data) != "héllo😀" || back[1].Type != PacketPing ||
		!back[2].Binary || !bytes.Equal(back[2].Data, []byte{1, 2, 3}) {
		t.Fatalf("decoded %+v", back)
	}
}

func TestPayloadV3Decode(t *testing.T) {
	got, err := DecodePayloadV3([]byte("0:"), 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("0: = %v, %v", got, err)
	}
	got, err = DecodePayloadV3([]byte("6:2probe1:5"), 0)
	if err != nil || len(got) != 2 || string(got[0].Data) != "probe" || got[1].Type != PacketUpgrade {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{
		"", ":4a", "x:4a", "2:4", "2", "3:4a", "1:", "-1:4", " 1:4",
		"12345678901:4", "2:9a", "2:b5", "5:b4!!!", "2:4😀", // a length ending inside a surrogate pair
		"1:41:", "2:4a3",
	} {
		if _, err := DecodePayloadV3([]byte(bad), 0); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodePayloadV3(%q) err = %v, want ErrInvalidPacket", bad, err)
		}
	}
	if _, err := DecodePayloadV3([]byte("2:4a"), 3); err != ErrPayloadTooLarge {
		t.Errorf("over max: %v", err)
	}
}

func TestBinaryPayloadV3(t *testing.T) {
	pkts := []Packet{TextMessage([]byte("héllo")), BinaryMessage([]byte{0xff, 0})}
	b := AppendBinaryPayloadV3(nil, pkts)
	want := append([]byte{0, 7, 0xff}, "4héllo"...)
	want = append(want, 1, 3, 0xff, 4, 0xff, 0)
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendBinaryPayloadV3 = %v, want %v", b, want)
	}
	if n := BinaryPayloadLenV3(pkts); n != len(b) {
		t.Fatalf("BinaryPayloadLenV3 = %d, want %d", n, len(b))
	}
	back, err := DecodeBinaryPayloadV3(b, 0)
	if err != nil || len(back) != 2 || string(back[0].Data) != "héllo" || !back[1].Binary || !bytes.Equal(back[1].Data, []byte{0xff, 0}) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	for _, bad := range [][]byte{
		{}, {2, 1, 0xff, '4'}, {0, 0xff, '4'}, {0, 2, 0xff, '4'}, {0, 1}, {0, 10, 0xff, '4'},
		{1, 1, 0xff, 3}, {0, 2, 0xff, '4', 0xff}, {0, 0, 0xff},
	} {
		if _, err := DecodeBinaryPayloadV3(bad, 0); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodeBinaryPayloadV3(%v) err = %v", bad, err)
		}
	}
}

func TestBinaryPacketV3(t *testing.T) {
	p, err := DecodeBinaryPacketV3([]byte{4, 1, 2})
	if err != nil || !p.Binary || !bytes.Equal(p.Data, []byte{1, 2}) {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range [][]byte{{}, {3, 1}, {'4', 1}} {
		if _, err := DecodeBinaryPacketV3(bad); err == nil {
			t.Errorf("DecodeBinaryPacketV3(%v) accepted", bad)
		}
	}
}

// FuzzDecodePayloadV3 checks that the v3 text payload decoder never
// panics and that what it accepts encodes back to an equivalent payload.
func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{"0:", "1:2", "6:2probe1:5", "8:4héllo😀1:26:b4AQID", "3:b4A", "2:4😀", "x:1", "10:4aaaaaaaaa"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := DecodePayloadV3(b, 1<<20)
		if err != nil {
			return
		}
		enc := AppendPayloadV3(nil, pkts)
		again, err := DecodePayloadV3(enc, 0)
		if err != nil {
			t.Fatalf("re-encoded payload %q does not decode: %v", enc, err)
		}
		if len(again) != len(pkts) {
			t.Fatalf("%d packets, then %d", len(pkts), len(again))
		}
		for i := range pkts {
			if again[i].Type != pkts[i].Type || again[i].Binary != pkts[i].Binary || !bytes.Equal(again[i].Data, pkts[i].Data) {
				t.Fatalf("packet %d: %+v, then %+v", i, pkts[i], again[i])
			}
		}
	})
}

// FuzzDecodeBinaryPayloadV3 checks the v3 binary payload decoder the same
// way.
func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	f.Add(AppendBinaryPayloadV3(nil, []Packet{TextMessage([]byte("héllo")), BinaryMessage([]byte{0xff, 0})}))
	f.Add([]byte{0, 1, 0xff, '2'})
	f.Add([]byte{1, 3, 0xff, 4, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := DecodeBinaryPayloadV3(b, 1<<20)
		if err != nil {
			return
		}
		again, err := DecodeBinaryPayloadV3(AppendBinaryPayloadV3(nil, pkts), 0)
		if err != nil || len(again) != len(pkts) {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
	})
}
