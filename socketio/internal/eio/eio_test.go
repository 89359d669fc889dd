package eio

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDecodePayload(t *testing.T) {
	cases := []struct {
		in   string
		want []Packet
	}{
		{"4hello\x1ebAQIDBA==", []Packet{{Type: PacketMessage, Data: []byte("hello")}, {Type: PacketMessage, Data: []byte{1, 2, 3, 4}, Binary: true}}},
		{"4hello\x1e4world\x1e4!", []Packet{{Type: '4', Data: []byte("hello")}, {Type: '4', Data: []byte("world")}, {Type: '4', Data: []byte("!")}}},
		{"3", []Packet{{Type: PacketPong, Data: []byte{}}}},
		{"2probe", []Packet{{Type: PacketPing, Data: []byte("probe")}}},
		{"1", []Packet{{Type: PacketClose, Data: []byte{}}}},
		{"bAQID", []Packet{{Type: PacketMessage, Data: []byte{1, 2, 3}, Binary: true}}},
		{"b", []Packet{{Type: PacketMessage, Data: []byte{}, Binary: true}}},
		{"4€ unicode ✓", []Packet{{Type: '4', Data: []byte("€ unicode ✓")}}},
	}
	for _, c := range cases {
		got, err := DecodePayload([]byte(c.in), 1e6)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !packetsEqual(got, c.want) {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
		if enc := AppendPayload(nil, got); c.in != "bAQID" && string(enc) != c.in {
			t.Errorf("%q: encodes back to %q", c.in, enc)
		}
	}
	for _, bad := range []string{"", "abc", "4a\x1e", "\x1e4a", "b!!!", "7x", "4a\x1e\x1e4b", "bAQIDB"} {
		if _, err := DecodePayload([]byte(bad), 1e6); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%q: err %v, want ErrInvalidPacket", bad, err)
		}
	}
	if _, err := DecodePayload([]byte("4"+strings.Repeat("a", 100)), 50); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized payload: %v", err)
	}
}

func TestDecodePacketWebSocket(t *testing.T) {
	if _, err := DecodePacket([]byte("bAQID"), false); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("'b' is not a packet type on WebSocket: %v", err)
	}
	if p, err := DecodePacket([]byte("4x"), false); err != nil || p.Type != PacketMessage || string(p.Data) != "x" {
		t.Errorf("4x: %+v %v", p, err)
	}
}

func packetsEqual(a, b []Packet) bool {
	return slices.EqualFunc(a, b, func(x, y Packet) bool {
		return x.Type == y.Type && x.Binary == y.Binary && bytes.Equal(x.Data, y.Data)
	})
}

// FuzzDecodePayload: decoding never panics, and whatever decodes encodes
// to a payload that decodes to the same packets.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello\x1ebAQIDBA==", "4hello\x1e4world", "2probe", "3", "1", "6", "5", "bAQID", "b", "abc", "\x1e", "4\x1e4", "0{\"sid\":\"x\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pkts, err := DecodePayload(in, 1e6)
		if err != nil {
			return
		}
		enc := AppendPayload(nil, pkts)
		again, err := DecodePayload(enc, 0)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", enc, err)
		}
		if !packetsEqual(pkts, again) {
			t.Fatalf("round trip of %q: %+v != %+v", in, pkts, again)
		}
	})
}

func benchPayload() []byte {
	var pkts []Packet
	for i := range 50 {
		if i%5 == 0 {
			pkts = append(pkts, Packet{Type: PacketMessage, Data: bytes.Repeat([]byte{byte(i)}, 64), Binary: true})
		} else {
			pkts = append(pkts, Packet{Type: PacketMessage, Data: []byte(`42["message",{"text":"hello world","n":12345}]`)})
		}
	}
	return AppendPayload(nil, pkts)
}

func BenchmarkDecodePayload(b *testing.B) {
	p := benchPayload()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePayload(p, 1e6); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	pkts, _ := DecodePayload(benchPayload(), 1e6)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayload(buf[:0], pkts)
	}
	b.SetBytes(int64(len(buf)))
}
