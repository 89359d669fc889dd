// Package adminui embeds the Socket.IO Admin UI dashboard (the ui/dist
// files of the npm package @socket.io/admin-ui, without their source
// maps; third-party, unmodified, MIT licensed: third_party/admin-ui/LICENSE)
// and serves it.
//
//	mux.Handle("/admin-ui/", http.StripPrefix("/admin-ui", adminui.Handler()))
//
// The dashboard is a single page: in its connection form the user gives
// the server's URL, the admin namespace (under "Advanced options") and
// the login; it then connects with the Socket.IO client it bundles. The
// page loads its fonts and icons from public CDNs; without them it works,
// with plainer looks. Refresh the files with `make vendor-admin-ui`.
package adminui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed third_party/admin-ui/dist third_party/admin-ui/VERSION
var files embed.FS

// Version is the vendored @socket.io/admin-ui release.
var Version = func() string {
	b, _ := files.ReadFile("third_party/admin-ui/VERSION")
	return strings.TrimSpace(string(b))
}()

// FS returns the dashboard's files (index.html at the root).
func FS() fs.FS {
	sub, err := fs.Sub(files, "third_party/admin-ui/dist")
	if err != nil {
		panic(err)
	}
	return sub
}

// Handler serves the dashboard's files, index.html for "/". Mount it
// under a prefix with http.StripPrefix; its links are relative. The
// files under js/ and css/ have content hashes in their names and are
// cached for a year; the others are revalidated with ETag "<version>".
func Handler() http.Handler {
	fsrv := http.FileServerFS(FS())
	etag := `"admin-ui-` + Version + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/js/") || strings.HasPrefix(r.URL.Path, "/css/") || strings.HasPrefix(r.URL.Path, "/img/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
			h.Set("ETag", etag)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}
