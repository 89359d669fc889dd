// Package msgpackparser implements the msgpack parser of Socket.IO, wire
// compatible with the npm package socket.io-msgpack-parser 3.x (which
// writes msgpack with notepack.io), as a parser.Parser.
//
// Each Socket.IO packet is one binary Engine.IO message: the msgpack map
// {type, data, nsp, id}, where type is 0 to 4 (CONNECT, DISCONNECT, EVENT,
// ACK, CONNECT_ERROR: there is no BINARY_EVENT or BINARY_ACK), nsp is the
// namespace ("/" included), data the payload (left out when there is none)
// and id the ack id (left out when there is none). Binary values are
// native msgpack bin values inside data, without placeholders or separate
// messages.
//
// Packets are converted from and to the form of package parser, which the
// rest of the server works with: JSON data with a placeholder for each
// binary value, the values themselves as attachments. So the handlers and
// the adapters see the same arguments whichever parser a server uses.
//
// # From msgpack
//
// Decode reads msgpack values as notepack.io reads them in Node, then
// writes them as JSON.stringify would:
//
//   - nil, booleans, strings, arrays and maps as themselves; a string's
//     invalid UTF-8 sequences become U+FFFD;
//   - integers with their exact value (also those beyond 2^53), floats as
//     JavaScript prints them, NaN and the infinities as null;
//   - bin, and the extension of type 0 of variable length (ext 8/16/32:
//     notepack.io's ArrayBuffer), as binary values (attachments);
//   - the fixext 1 of type 0 (undefined): an array element becomes null,
//     a map member is left out, an undefined data or id is absent;
//   - the fixext 8 of type 0 (Date: milliseconds since the epoch) as its
//     ISO 8601 text, "2006-01-02T15:04:05.000Z", or null out of range;
//   - any other extension as the array [type, data], data being a binary
//     value, as notepack.io returns it;
//   - map keys that are numbers, booleans, nil or undefined as the text
//     JavaScript gives them ("1", "true", "null"); other keys (arrays,
//     maps, binaries) make the packet invalid. When a map repeats a key,
//     both members are written, and JSON decoders keep the last one, as
//     JavaScript does.
//
// A map of the form {"_placeholder": true, "num": N} reads as a binary
// placeholder, as it does with the default parser.
//
// # To msgpack
//
// Encode writes JSON objects as maps (members in order), arrays, strings,
// booleans and null as themselves, numbers with an integral value as the
// smallest integer code and other numbers as float 64 (as notepack.io
// writes a JavaScript number), and each attachment as a bin at the place
// of its placeholder. A Node client gets bin values as Buffer (an
// ArrayBuffer in browsers).
//
// # Validation
//
// Decode checks a packet as the reference decoder does (see Decode), and
// also refuses what the rest of the server would refuse from the default
// parser (an EVENT without a name, a reserved event name, a negative ack
// id), so that a malformed packet closes the connection that sent it.
// Parser.MaxBinaries and Parser.MaxDepth bound the work a packet can make.
package msgpackparser
