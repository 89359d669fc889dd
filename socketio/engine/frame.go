package engine

import (
	"encoding/base64"
	"sync"

	"github.com/chatd/chatd/socketio/internal/eio"
)

// Frame is one Engine.IO packet encoded once, ready to be queued on any
// number of sessions. The WebSocket payload is computed by NewFrame; the
// long-polling form of a binary message ('b' + base64) and the compressed
// WebSocket payload (permessage-deflate) are computed on first use and
// shared. A Frame is immutable and safe for concurrent use.
type Frame struct {
	typ        PacketType
	binary     bool
	noCompress bool   // never compressed (NewUncompressedFrame)
	ws         []byte // WebSocket payload: "<type><data>" for text, raw bytes for binary

	once sync.Once
	poll []byte // polling form

	v3Once sync.Once
	poll3  []byte // v3 polling payload element: "<len>:" + polling form ("b4"+base64 for binary)

	deflateOnce sync.Once
	deflated    []byte // compressed WebSocket payload; nil when it would not be smaller
}

// NewFrame encodes a message packet. For text, the WebSocket payload and
// the polling form are "4"+data; for binary, the WebSocket payload is data
// itself (the caller must not modify it afterwards) and the polling form is
// "b"+base64(data).
func NewFrame(data []byte, binary bool) *Frame {
	if binary {
		return &Frame{typ: PacketMessage, binary: true, ws: data}
	}
	return newTextFrame(PacketMessage, data)
}

// NewUncompressedFrame is NewFrame for a message that is never
// compressed: it goes out on WebSocket without permessage-deflate, and a
// polling response made only of such messages is not HTTP-compressed
// (the reference's compress: false).
func NewUncompressedFrame(data []byte, binary bool) *Frame {
	f := NewFrame(data, binary)
	f.noCompress = true
	return f
}

// Compressible reports whether f may be compressed (it was not created by
// NewUncompressedFrame).
func (f *Frame) Compressible() bool { return !f.noCompress }

// deflatedPayload returns the compressed WebSocket payload, computed once
// with c for every session the frame is queued on, or nil when the frame
// is not to be compressed or compression would not make it smaller.
func (f *Frame) deflatedPayload(c *deflateConfig) []byte {
	if f.noCompress || len(f.ws) < c.threshold || len(f.ws) == 0 {
		return nil
	}
	f.deflateOnce.Do(func() { f.deflated = c.compress(f.ws) })
	return f.deflated
}

func newTextFrame(t PacketType, data []byte) *Frame {
	b := make([]byte, 1+len(data))
	b[0] = byte(t)
	copy(b[1:], data)
	return &Frame{typ: t, ws: b, poll: b}
}

// Binary reports whether f is a binary message.
func (f *Frame) Binary() bool { return f.binary }

// Len is the size of the WebSocket payload, the amount a frame adds to a
// session's outbound queue.
func (f *Frame) Len() int { return len(f.ws) }

// pollBytes is the packet in its long-polling form.
func (f *Frame) pollBytes() []byte {
	if !f.binary {
		return f.ws
	}
	f.once.Do(func() {
		b := make([]byte, 1+base64.StdEncoding.EncodedLen(len(f.ws)))
		b[0] = 'b'
		base64.StdEncoding.Encode(b[1:], f.ws)
		f.poll = b
	})
	return f.poll
}

// pollBytesV3 is the packet in its Engine.IO v3 text payload form,
// length prefix included.
func (f *Frame) pollBytesV3() []byte {
	f.v3Once.Do(func() {
		p := Packet{Type: f.typ, Binary: f.binary}
		if f.binary {
			p.Data = f.ws
		} else {
			p.Data = f.ws[1:]
		}
		f.poll3 = eio.AppendFramedV3(nil, eio.AppendPacketV3(nil, p))
	})
	return f.poll3
}

// v3BinaryPrefix is the type byte that starts a binary message on a v3
// WebSocket.
var v3BinaryPrefix = []byte{byte(PacketMessage - '0')}

// Shared control frames.
var (
	framePing  = newTextFrame(PacketPing, nil)
	frameNoop  = newTextFrame(PacketNoop, nil)
	frameClose = newTextFrame(PacketClose, nil)
	frameProbe = newTextFrame(PacketPong, []byte("probe"))
	framePong  = newTextFrame(PacketPong, nil)
)
