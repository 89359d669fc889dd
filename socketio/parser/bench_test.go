package parser

import "testing"

var benchEvent = Packet{Type: Event, Namespace: "/user", ID: 42, HasID: true,
	Data: []byte(`["message",{"room":"chat","text":"hello there, how is everyone doing today?","time":1700000000000}]`)}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = benchEvent.Encode()
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = AppendPacket(append(buf[:0], '4'), &benchEvent)
	}
}

func BenchmarkDecode(b *testing.B) {
	in := benchEvent.Encode()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	in := []byte(`52-/user,7["upload",{"name":"a.png","data":` + ph0 + `},` + ph1 + `]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeData(b *testing.B) {
	args := []any{"message", map[string]any{"room": "chat", "text": "hello there", "time": 1700000000000}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := EncodeData(args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDataBinary(b *testing.B) {
	img := make([]byte, 4096)
	args := []any{"upload", map[string]any{"name": "a.png", "data": img}, []byte{1, 2, 3}}
	b.ReportAllocs()
	for b.Loop() {
		if _, att, err := EncodeData(args); err != nil || len(att) != 2 {
			b.Fatal(err)
		}
	}
}
