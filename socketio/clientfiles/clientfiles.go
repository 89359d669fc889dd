package clientfiles

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"embed"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// vendorDir is the folder, relative to this package, that holds the
// unmodified socket.io-client files.
const vendorDir = "third_party/socket.io-client"

//go:embed third_party/socket.io-client/VERSION
//go:embed third_party/socket.io-client/socket.io.js
//go:embed third_party/socket.io-client/socket.io.js.map
//go:embed third_party/socket.io-client/socket.io.min.js
//go:embed third_party/socket.io-client/socket.io.min.js.map
//go:embed third_party/socket.io-client/socket.io.esm.min.js
//go:embed third_party/socket.io-client/socket.io.esm.min.js.map
//go:embed third_party/socket.io-client/socket.io.msgpack.min.js
//go:embed third_party/socket.io-client/socket.io.msgpack.min.js.map
var vendored embed.FS

// names lists the served files in a fixed order.
var names = [...]string{
	"socket.io.js",
	"socket.io.js.map",
	"socket.io.min.js",
	"socket.io.min.js.map",
	"socket.io.esm.min.js",
	"socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js",
	"socket.io.msgpack.min.js.map",
}

// Header values shared by every response.
const (
	contentTypeJS  = "application/javascript; charset=utf-8"
	contentTypeMap = "application/json; charset=utf-8"
	cacheControl   = "public, max-age=0"
)

// encoding is a content coding this package can produce.
type encoding int

// The content codings, in the server's order of preference (smallest
// output first); identity is the uncompressed file.
const (
	encBrotli encoding = iota
	encGzip
	encDeflate
	numEncodings
	identity encoding = -1
)

// tokens are the Accept-Encoding / Content-Encoding names of the codings.
var tokens = [numEncodings]string{"br", "gzip", "deflate"}

// Brotli qualities: the best for the bundles pages load; a faster level for
// the source maps, which only developer tools fetch and which are large
// enough for quality 11 to take most of a second per file.
const (
	brotliBundleQuality = brotli.BestCompression
	brotliMapQuality    = 9
)

// file is one embedded bundle and its lazily built compressed forms.
type file struct {
	raw         []byte
	contentType string
	brQuality   int
	compressed  [numEncodings]struct {
		once sync.Once
		data []byte
	}
}

// body returns the bytes of f in coding enc, compressing them on first use.
func (f *file) body(enc encoding) []byte {
	if enc == identity {
		return f.raw
	}
	c := &f.compressed[enc]
	c.once.Do(func() { c.data = compress(f.raw, enc, f.brQuality) })
	return c.data
}

var (
	version string
	etag    string
	files   map[string]*file
)

func init() {
	v, err := vendored.ReadFile(vendorDir + "/VERSION")
	if err != nil {
		panic("clientfiles: " + err.Error())
	}
	version = strings.TrimSpace(string(v))
	etag = `"` + version + `"`
	files = make(map[string]*file, len(names))
	for _, name := range names {
		raw, err := vendored.ReadFile(vendorDir + "/" + name)
		if err != nil {
			panic("clientfiles: " + err.Error())
		}
		f := &file{raw: raw, contentType: contentTypeJS, brQuality: brotliBundleQuality}
		if strings.HasSuffix(name, ".map") {
			f.contentType, f.brQuality = contentTypeMap, brotliMapQuality
		}
		files[name] = f
	}
}

// Version returns the socket.io-client release whose files are embedded,
// for example "4.8.4". The ETag of every served file is this version in
// double quotes.
func Version() string { return version }

// ETag returns the entity tag sent with every file: the quoted [Version].
func ETag() string { return etag }

// Names returns the base names of the served files, e.g. "socket.io.min.js".
func Names() []string {
	out := make([]string, len(names))
	copy(out, names[:])
	return out
}

// Has reports whether name (a base name such as "socket.io.min.js", without
// any path or query) is one of the served files. Names that are not served
// (for example "socket.io.esm.js") belong to whatever else is mounted at the
// same path, normally Engine.IO.
func Has(name string) bool {
	_, ok := files[name]
	return ok
}

// Bytes returns a copy of the uncompressed contents of the named file, and
// whether it exists.
func Bytes(name string) ([]byte, bool) {
	f, ok := files[name]
	if !ok {
		return nil, false
	}
	return bytes.Clone(f.raw), true
}

// ServeFile answers r with the named file (a base name as accepted by
// [Has]); r's own URL is not consulted, so query strings play no part.
// Unknown names get 404 Not Found and methods other than GET and HEAD get
// 405 Method Not Allowed. See the package documentation for the headers,
// conditional requests and compression.
func ServeFile(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Add("Vary", "Accept-Encoding")
	if notModified(r.Header.Values("If-None-Match")) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	enc := negotiate(r.Header.Values("Accept-Encoding"))
	body := f.body(enc)
	h.Set("Content-Type", f.contentType)
	if enc != identity {
		h.Set("Content-Encoding", tokens[enc])
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// Handler returns a handler serving the file named by the request path
// without its leading slash, so it is meant to be mounted behind
// [http.StripPrefix]:
//
//	mux.Handle("/socket.io/", http.StripPrefix("/socket.io/", clientfiles.Handler()))
//
// Any path that is not exactly one of the served names gets 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ServeFile(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	})
}

// notModified reports whether the If-None-Match header values name the
// current ETag, in strong or weak (W/) form, or are "*".
func notModified(values []string) bool {
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// negotiate picks the content coding for the Accept-Encoding header values:
// the coding with the highest quality value, ties going to br, then gzip,
// then deflate. A coding not listed takes the quality of "*" if present.
// Without an acceptable coding the file is sent uncompressed.
func negotiate(values []string) encoding {
	var q [numEncodings]float64
	var listed [numEncodings]bool
	star, hasStar := 0.0, false
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			weight := parseQ(params)
			if coding == "*" {
				star, hasStar = weight, true
				continue
			}
			for e, tok := range tokens {
				if coding == tok {
					q[e], listed[e] = weight, true
				}
			}
		}
	}
	best, bestQ := identity, 0.0
	for e := range numEncodings {
		w := q[e]
		if !listed[e] {
			if !hasStar {
				continue
			}
			w = star
		}
		if w > bestQ {
			best, bestQ = e, w
		}
	}
	return best
}

// parseQ returns the q parameter of an Accept-Encoding element (the text
// after its first ';'), 1 when absent and 0 when malformed.
func parseQ(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return 0
		}
		return f
	}
	return 1
}

// compress returns raw in coding enc: brotli at quality brQuality, gzip and
// deflate at their best level ("deflate" is the zlib format, as HTTP
// defines it).
func compress(raw []byte, enc encoding, brQuality int) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case encBrotli:
		w = brotli.NewWriterLevel(&buf, brQuality)
	case encGzip:
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	case encDeflate:
		w, _ = zlib.NewWriterLevel(&buf, zlib.BestCompression)
	default:
		panic("clientfiles: unknown encoding")
	}
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write(raw)
	_ = w.Close()
	return buf.Bytes()
}
