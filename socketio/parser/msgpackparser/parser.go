package msgpackparser

import (
	"errors"
	"fmt"
	"math"

	"github.com/chatd/chatd/socketio/parser"
)

// Defaults of the Parser limits.
const (
	// DefaultMaxBinaries is the default Parser.MaxBinaries.
	DefaultMaxBinaries = 1000
	// DefaultMaxDepth is the default Parser.MaxDepth.
	DefaultMaxDepth = 1000
)

// Parser is the msgpack parser. The zero value is ready to use, with the
// default limits; it is safe for concurrent use.
type Parser struct {
	// MaxBinaries is the largest number of binary values a decoded
	// packet may hold. Defaults to DefaultMaxBinaries.
	MaxBinaries int
	// MaxDepth is the deepest nesting of arrays and maps a decoded
	// packet may have. Defaults to DefaultMaxDepth.
	MaxDepth int
}

var _ parser.Parser = Parser{}

// Packet types of the msgpack wire: BINARY_EVENT and BINARY_ACK do not
// exist there, binary values travel inside EVENT and ACK packets.
const maxWireType = parser.ConnectError

// ErrTextMessage: a text message reached the msgpack parser, whose packets
// are binary messages.
var ErrTextMessage = errors.New("socket.io msgpack parser: text message")

// NewDecoder implements parser.Parser. The decoder keeps no state: each
// message is one packet.
func (p Parser) NewDecoder() parser.Decoder { return decoderOf{p} }

type decoderOf struct{ p Parser }

func (d decoderOf) Add(data []byte, binary bool) (parser.Packet, [][]byte, bool, error) {
	if !binary {
		return parser.Packet{}, nil, false, ErrTextMessage
	}
	pkt, atts, err := d.p.Decode(data)
	if err != nil {
		return parser.Packet{}, nil, false, err
	}
	return pkt, atts, true, nil
}

// Decode decodes one message: the msgpack map of a packet. The packet's
// Data is JSON with a placeholder for each binary value, and the binary
// values are returned as attachments, in order; for an EVENT or an ACK
// with binary values the packet's type is BinaryEvent or BinaryAck. Neither
// aliases b.
//
// It checks what the reference decoder checks: b is one msgpack map (with
// nothing after it) whose "type" is an integer from 0 to 4 and "nsp" a
// string; "data" is absent or a map for CONNECT, absent for DISCONNECT, a
// string or a map for CONNECT_ERROR, an array for EVENT and ACK; "id" is
// absent or an integer. Besides, an id must be in [0, 2^64), and an
// EVENT's array must start with a string that is not a reserved event name
// (parser.IsReservedEvent) or a number, as the default parser requires.
// Other keys of the map are ignored. An ACK may come without an id. An
// empty nsp is the main namespace, "/".
//
// Decode never panics, whatever b holds.
func (p Parser) Decode(b []byte) (parser.Packet, [][]byte, error) {
	d := decoder{b: b, maxDepth: p.MaxDepth, maxBins: p.MaxBinaries}
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxDepth
	}
	if d.maxBins <= 0 {
		d.maxBins = DefaultMaxBinaries
	}
	pkt, err := d.packet()
	if err != nil {
		return parser.Packet{}, nil, err
	}
	if d.i != len(b) {
		return parser.Packet{}, nil, d.malformed("trailing bytes")
	}
	return pkt, d.atts, nil
}

// packet reads the packet map.
func (d *decoder) packet() (parser.Packet, error) {
	h, err := d.readHeader()
	if err != nil {
		return parser.Packet{}, err
	}
	if h.kind != kindMap {
		if err := d.skipBody(h, 0); err != nil {
			return parser.Packet{}, err
		}
		return parser.Packet{}, fmt.Errorf("%w: the packet is not a map", parser.ErrInvalidType)
	}
	if h.n > math.MaxUint64/2 {
		return parser.Packet{}, d.malformed("truncated")
	}
	if err := d.need(2 * h.n); err != nil {
		return parser.Packet{}, err
	}
	var (
		typ, nsp, id value // kindUndefined until seen
		data         kind  // kindUndefined until seen
		first        value // an EVENT's first element
		dataLen      int   // elements of an array data
	)
	for range h.n {
		k, err := d.scalar(1)
		if err != nil {
			return parser.Packet{}, err
		}
		name := ""
		if k.kind == kindString {
			name = k.str
		}
		switch name {
		case "type":
			typ, err = d.scalar(1)
		case "nsp":
			nsp, err = d.scalar(1)
		case "id":
			id, err = d.scalar(1)
		case "data":
			// The last one counts, as in JavaScript.
			d.buf, d.atts = d.buf[:0], d.atts[:0]
			data, first, dataLen, err = d.data()
		default:
			var v header
			if v, err = d.readHeader(); err == nil {
				err = d.skipBody(v, 1)
			}
		}
		if err != nil {
			return parser.Packet{}, err
		}
	}

	var pkt parser.Packet
	t, ok := integer(typ)
	if !ok || t > uint64(maxWireType) {
		return parser.Packet{}, fmt.Errorf("%w: type must be an integer from 0 to 4", parser.ErrInvalidType)
	}
	pkt.Type = parser.Type(t)
	if nsp.kind != kindString {
		return parser.Packet{}, fmt.Errorf("%w: nsp must be a string", parser.ErrInvalidNamespace)
	}
	pkt.Namespace = nsp.str
	if pkt.Namespace == "" {
		pkt.Namespace = "/"
	}
	if err := checkData(pkt.Type, data, first, dataLen); err != nil {
		return parser.Packet{}, err
	}
	if id.kind != kindUndefined {
		n, ok := integer(id)
		if !ok {
			return parser.Packet{}, fmt.Errorf("%w: id must be a non-negative integer", parser.ErrInvalidAckID)
		}
		pkt.ID, pkt.HasID = n, true
	}
	if data != kindUndefined {
		pkt.Data = d.buf
	}
	if len(d.atts) > 0 {
		pkt.Attachments = len(d.atts)
		if pkt.Type == parser.Event {
			pkt.Type = parser.BinaryEvent
		} else {
			pkt.Type = parser.BinaryAck
		}
	} else {
		d.atts = nil
	}
	return pkt, nil
}

// data transcodes the packet's data to JSON in d.buf, and reports its
// kind and, for an array, its length and first element.
func (d *decoder) data() (k kind, first value, n int, err error) {
	start := d.i
	h, _, err := d.transcode(1)
	switch {
	case err != nil || h.kind != kindArray:
		return h.kind, value{}, 0, err
	case isExt(h.code): // [type, bin]
		return kindArray, intValue(int64(h.ext)), 2, nil
	case h.n == 0:
		return kindArray, value{}, 0, nil
	}
	// Read the first element again, for the event name.
	end := d.i
	d.i = start
	if _, err = d.readHeader(); err == nil {
		first, err = d.scalar(2)
	}
	d.i = end
	return kindArray, first, int(h.n), err
}

// checkData checks the shape of the data against the packet type.
func checkData(t parser.Type, data kind, first value, n int) error {
	switch t {
	case parser.Connect:
		if data != kindUndefined && data != kindMap {
			return fmt.Errorf("%w: CONNECT data must be a map", parser.ErrInvalidPayload)
		}
	case parser.Disconnect:
		if data != kindUndefined {
			return fmt.Errorf("%w: DISCONNECT carries no data", parser.ErrInvalidPayload)
		}
	case parser.ConnectError:
		if data != kindString && data != kindMap {
			return fmt.Errorf("%w: CONNECT_ERROR data must be a string or a map", parser.ErrInvalidPayload)
		}
	case parser.Event, parser.Ack:
		if data != kindArray {
			return fmt.Errorf("%w: %s data must be an array", parser.ErrInvalidPayload, t)
		}
		if t == parser.Ack {
			return nil
		}
		if n == 0 {
			return fmt.Errorf("%w: empty event array", parser.ErrInvalidPayload)
		}
		switch {
		case first.kind == kindString:
			if parser.IsReservedEvent(first.str) {
				return fmt.Errorf("%w: %q is a reserved event name", parser.ErrInvalidPayload, first.str)
			}
		case first.kind == kindNumber && !math.IsNaN(first.num) && !math.IsInf(first.num, 0):
		default:
			return fmt.Errorf("%w: event name must be a string or a number", parser.ErrInvalidPayload)
		}
	}
	return nil
}

// integer returns v as a non-negative integer, if it is one (an integer
// code, or a float with an integral value below 2^64).
func integer(v value) (uint64, bool) {
	switch {
	case v.kind != kindNumber:
		return 0, false
	case v.isUint:
		return v.u, true
	case v.isInt:
		return 0, false // negative
	case v.num >= 0 && v.num < 1<<64 && v.num == math.Trunc(v.num):
		return uint64(v.num), true
	}
	return 0, false
}
