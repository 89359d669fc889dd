// Package parser implements the Socket.IO protocol v5 packet codec: the text
// encoding of packets, and binary attachments carried as placeholders.
//
// A packet is written as
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// where the attachment count appears only for BinaryEvent and BinaryAck, the
// namespace only when it is not "/", and the binary attachments travel as
// separate binary messages right after the text packet. In the JSON payload
// each attachment is represented by {"_placeholder":true,"num":N}, numbered
// in depth-first order of appearance.
//
// Decode validates packets the way the reference JavaScript parser does
// (socket.io-parser 4.2), so that a server built on it closes the same
// malformed connections the reference server closes.
//
// The package is pure: it does no I/O and keeps no state, so every function
// is safe for concurrent use.
package parser
