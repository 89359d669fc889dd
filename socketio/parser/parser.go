package parser

import (
	"bytes"
	"fmt"
)

// Message is the payload of one Engine.IO message: text or binary.
type Message struct {
	Data   []byte
	Binary bool
}

// Parser turns Socket.IO packets into Engine.IO messages and back: the
// reference's "parser" option. Client and server must use the same one.
//
// Whatever the parser, a packet is handed to and received from it in the
// form this package defines: Data is the JSON payload, and the binary
// values of an event or an ack are attachments, represented in Data by
// placeholders {"_placeholder":true,"num":N} (see EncodeData). A parser
// with a different wire form (such as msgpack) converts between the two.
//
// A Parser is safe for concurrent use; a Decoder is not.
type Parser interface {
	// Encode appends to dst the messages that carry p and its
	// attachments, and returns the extended slice. The messages may
	// alias the attachments.
	Encode(dst []Message, p *Packet, attachments [][]byte) ([]Message, error)

	// NewDecoder returns a decoder for the messages of one connection.
	NewDecoder() Decoder
}

// Decoder decodes the messages of one connection, in order of arrival.
type Decoder interface {
	// Add decodes one message. When it completes a packet, Add returns
	// it with its attachments and done set; a binary packet of the
	// default parser needs several messages, the first of them leaving
	// done false. An error means the connection is not speaking the
	// protocol and must be closed; the Decoder is not usable afterwards.
	//
	// The packet and attachments returned never alias data, which the
	// caller may reuse once Add returns.
	Add(data []byte, binary bool) (p Packet, attachments [][]byte, done bool, err error)
}

// JSON is the default parser (socket.io-parser): each packet is one text
// message in the form of Encode and Decode, and its binary attachments
// follow it as binary messages, one each. Decoding applies DecodeOptions
// with the default MaxAttachments.
var JSON Parser = JSONParser{}

// JSONParser is the default parser with decoding options of its own.
type JSONParser struct {
	// Options apply to the decoders it makes.
	Options DecodeOptions
}

// Encode implements Parser: the text form of p, then one binary message
// per attachment.
func (j JSONParser) Encode(dst []Message, p *Packet, attachments [][]byte) ([]Message, error) {
	q := *p
	if len(attachments) > 0 {
		q.Attachments = len(attachments)
		switch q.Type {
		case Event:
			q.Type = BinaryEvent
		case Ack:
			q.Type = BinaryAck
		}
	}
	dst = append(dst, Message{Data: q.Encode()})
	for _, a := range attachments {
		dst = append(dst, Message{Data: a, Binary: true})
	}
	return dst, nil
}

// NewDecoder implements Parser.
func (j JSONParser) NewDecoder() Decoder {
	return &jsonDecoder{opts: j.Options}
}

// jsonDecoder reassembles the binary packets of the default parser.
type jsonDecoder struct {
	opts        DecodeOptions
	pending     *Packet // waiting for its attachments
	attachments [][]byte
}

// Add implements Decoder.
func (d *jsonDecoder) Add(data []byte, binary bool) (Packet, [][]byte, bool, error) {
	if binary {
		if d.pending == nil {
			return Packet{}, nil, false, fmt.Errorf("%w: unexpected binary message", ErrInvalidAttachments)
		}
		d.attachments = append(d.attachments, bytes.Clone(data))
		if len(d.attachments) < d.pending.Attachments {
			return Packet{}, nil, false, nil
		}
		p, atts := *d.pending, d.attachments
		d.pending, d.attachments = nil, nil
		return p, atts, true, nil
	}
	if d.pending != nil {
		return Packet{}, nil, false, fmt.Errorf("%w: text message while waiting for binary attachments", ErrInvalidAttachments)
	}
	p, err := Decode(bytes.Clone(data), &d.opts)
	if err != nil {
		return Packet{}, nil, false, err
	}
	if p.Type.IsBinary() && p.Attachments > 0 {
		d.pending = &p
		d.attachments = make([][]byte, 0, p.Attachments)
		return Packet{}, nil, false, nil
	}
	return p, nil, true, nil
}
