// Package clientfiles serves the official Socket.IO browser client.
//
// The eight browser bundles of the npm package socket.io-client (the
// unminified, minified, ES module and msgpack builds and their source maps)
// are vendored unmodified in third_party/socket.io-client and embedded into
// the binary, so a Go program can offer them without any Node tooling at run
// time, as the Node Socket.IO server does under its path:
//
//	/socket.io/socket.io.js
//	/socket.io/socket.io.js.map
//	/socket.io/socket.io.min.js
//	/socket.io/socket.io.min.js.map
//	/socket.io/socket.io.esm.min.js
//	/socket.io/socket.io.esm.min.js.map
//	/socket.io/socket.io.msgpack.min.js
//	/socket.io/socket.io.msgpack.min.js.map
//
// A Socket.IO server that serves the client strips its path prefix, asks
// [Has] whether the remaining name is one of the eight files and, if so,
// calls [ServeFile]; every other request under the path belongs to
// Engine.IO. [Handler] does the same for a standalone mount point.
//
// Responses carry Content-Type "application/javascript; charset=utf-8"
// ("application/json; charset=utf-8" for source maps), Cache-Control
// "public, max-age=0", an ETag equal to the quoted client version (for
// example "4.8.4") and Vary: Accept-Encoding. A request whose If-None-Match
// holds that tag, strong or weak (W/"4.8.4"), gets 304 Not Modified. Bodies
// are compressed with br, gzip or deflate when Accept-Encoding allows it;
// each file is compressed at most once per encoding, on first use, and the
// result is kept for the life of the process. Query strings are ignored.
// Only GET and HEAD are answered; other methods get 405.
//
// The vendored files are refreshed with `make vendor-client` (see
// third_party/socket.io-client/README.md); [Version] reports which release
// is embedded.
package clientfiles
