// Package static holds the browser assets of chatd (style sheet, the chat
// page's script, namespace images), embedded into the binary so the server
// needs no files and no CDN at run time.
//
// Package web serves FS under /static/. The Socket.IO client bundle is not
// here: the Socket.IO server serves it at /socket.io/socket.io.min.js.
package static

import "embed"

// FS holds app.js, style.css and img/*.svg.
//
//go:embed app.js style.css img/*.svg
var FS embed.FS
