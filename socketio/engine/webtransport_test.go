package engine

import (
	"bytes"
	"errors"
	"testing"
)

// The WebTransport framing: the examples of engine.io-parser's encoder
// (short, 16-bit and 64-bit lengths; the binary flag) round-trip.
func TestWebTransportFraming(t *testing.T) {
	cases := []struct {
		payload []byte
		binary  bool
		header  []byte
	}{
		{[]byte("4hello"), false, []byte{0x06}},
		{[]byte{1, 2, 3}, true, []byte{0x83}},
		{bytes.Repeat([]byte("a"), 125), false, []byte{125}},
		{bytes.Repeat([]byte("a"), 126), false, []byte{126, 0, 126}},
		{bytes.Repeat([]byte{7}, 65535), true, []byte{0x80 | 126, 0xff, 0xff}},
		{bytes.Repeat([]byte{7}, 65536), true, []byte{0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, c := range cases {
		b := AppendWebTransportFrame(nil, c.payload, c.binary)
		if !bytes.HasPrefix(b, c.header) || len(b) != len(c.header)+len(c.payload) {
			t.Errorf("%d bytes binary=%v: header % x, want % x", len(c.payload), c.binary, b[:min(len(b), 9)], c.header)
		}
		for cut := range len(c.header) + 1 {
			if _, _, n, _, err := ParseWebTransportFrame(b[:cut], 0); n != 0 || err != nil {
				t.Errorf("partial frame (%d bytes): n=%d err=%v", cut, n, err)
			}
		}
		p, bin, n, _, err := ParseWebTransportFrame(append(b, 0x01, '4'), 0)
		if err != nil || n != len(b) || bin != c.binary || !bytes.Equal(p, c.payload) {
			t.Errorf("%d bytes: parsed n=%d bin=%v err=%v", len(c.payload), n, bin, err)
		}
	}
	_, _, _, need, _ := ParseWebTransportFrame([]byte{126, 1, 0, 'a'}, 0)
	if need != 3+256 {
		t.Errorf("need = %d, want %d", need, 3+256)
	}
	for _, bad := range [][]byte{{0x00}, {0x80}, {126, 0, 0}, {0x02, 0xff, 0xfe}, {127, 0xff, 0, 0, 0, 0, 0, 0, 1}} {
		if _, _, _, _, err := ParseWebTransportFrame(bad, 1e6); !errors.Is(err, errWTFrame) {
			t.Errorf("% x: err = %v, want a framing error", bad, err)
		}
	}
	if _, _, _, _, err := ParseWebTransportFrame([]byte{0x05, '4', 'a', 'b', 'c', 'd'}, 4); !errors.Is(err, errWTFrame) {
		t.Errorf("over max: err = %v", err)
	}
}

// FuzzWebTransportFrame: the parser never panics, a frame it accepts is
// re-encoded to the same bytes (up to a non-minimal length), and what it
// returns stays within its input.
func FuzzWebTransportFrame(f *testing.F) {
	f.Add([]byte{0x06, '4', 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x01, '0'})
	f.Add(append([]byte{0x10}, `0{"sid":"abcdef"}`[:16]...))
	f.Add([]byte{0x83, 1, 2, 3})
	f.Add([]byte{126, 0, 3, '4', 'a', 'b'})
	f.Add([]byte{127, 0, 0, 0, 0, 0, 0, 0, 2, '2', 'x'})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, bin, n, need, err := ParseWebTransportFrame(b, 1<<20)
		if err != nil {
			return
		}
		if n == 0 {
			if need != 0 && need <= len(b) {
				t.Fatalf("incomplete frame with need %d <= %d", need, len(b))
			}
			return
		}
		if n > len(b) || len(p) == 0 || len(p) > n {
			t.Fatalf("n=%d len(p)=%d len(b)=%d", n, len(p), len(b))
		}
		again := AppendWebTransportFrame(nil, p, bin)
		p2, bin2, n2, _, err := ParseWebTransportFrame(again, 1<<20)
		if err != nil || n2 != len(again) || bin2 != bin || !bytes.Equal(p2, p) {
			t.Fatalf("re-encoded frame parses as n=%d bin=%v err=%v", n2, bin2, err)
		}
		if len(again) == n && !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding % x differs from % x", again, b[:n])
		}
		_, _ = decodeWTPacket(p, bin)
	})
}
