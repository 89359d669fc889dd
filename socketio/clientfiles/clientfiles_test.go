package clientfiles

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// TestMain fails the run when goroutines started by the tests outlive them.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			fmt.Fprintf(os.Stderr, "goroutine leak: %d before, %d after\n%s\n",
				before, n, buf[:runtime.Stack(buf, true)])
			code = 1
		}
	}
	os.Exit(code)
}

// allNames are the eight dist files of socket.io-client 4.8.4 and their sizes.
var allNames = map[string]int{
	"socket.io.js":                 153519,
	"socket.io.js.map":             307898,
	"socket.io.min.js":             47295,
	"socket.io.min.js.map":         194361,
	"socket.io.esm.min.js":         40759,
	"socket.io.esm.min.js.map":     191545,
	"socket.io.msgpack.min.js":     50630,
	"socket.io.msgpack.min.js.map": 205108,
}

// onDisk reads a vendored file straight from the source tree.
func onDisk(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vendorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// get runs one request against Handler and returns the recorded response.
func get(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	return w
}

func TestVersion(t *testing.T) {
	if got := Version(); got != "4.8.4" {
		t.Fatalf("Version() = %q, want 4.8.4", got)
	}
	if got := ETag(); got != `"4.8.4"` {
		t.Fatalf("ETag() = %q", got)
	}
	// The bundles announce their own version in their banner.
	for _, name := range []string{"socket.io.js", "socket.io.min.js", "socket.io.esm.min.js", "socket.io.msgpack.min.js"} {
		head := onDisk(t, name)[:200]
		if !bytes.Contains(head, []byte("Socket.IO v"+Version())) {
			t.Errorf("%s banner does not name v%s: %q", name, Version(), head)
		}
	}
}

func TestNamesAndHas(t *testing.T) {
	got := Names()
	if len(got) != len(allNames) {
		t.Fatalf("Names() = %v", got)
	}
	for _, n := range got {
		if _, ok := allNames[n]; !ok {
			t.Errorf("unexpected name %q", n)
		}
		if !Has(n) {
			t.Errorf("Has(%q) = false", n)
		}
	}
	got[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names returns the internal array")
	}
	for _, n := range []string{"", "socket.io.esm.js", "socket.io.min.map", "socket.io.msgpack.js",
		"/socket.io.js", "socket.io.js?x=1", "VERSION", "LICENSE", "README.md", "SOCKET.IO.JS"} {
		if Has(n) {
			t.Errorf("Has(%q) = true", n)
		}
	}
}

func TestBytesMatchVendoredFiles(t *testing.T) {
	for name, size := range allNames {
		b, ok := Bytes(name)
		if !ok {
			t.Fatalf("Bytes(%q) missing", name)
		}
		if len(b) != size {
			t.Errorf("%s: %d bytes, want %d", name, len(b), size)
		}
		if !bytes.Equal(b, onDisk(t, name)) {
			t.Errorf("%s differs from the vendored file", name)
		}
		b[0] ^= 0xff
		if again, _ := Bytes(name); !bytes.Equal(again, onDisk(t, name)) {
			t.Errorf("%s: Bytes exposes the embedded buffer", name)
		}
	}
	if _, ok := Bytes("socket.io.esm.js"); ok {
		t.Error("Bytes of an unknown name succeeded")
	}
}

func TestServesIdenticalBytesAndHeaders(t *testing.T) {
	for name := range allNames {
		w := get(t, http.MethodGet, "/"+name, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", name, w.Code)
		}
		if !bytes.Equal(w.Body.Bytes(), onDisk(t, name)) {
			t.Errorf("%s: served bytes differ from the vendored file", name)
		}
		wantType := "application/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".map") {
			wantType = "application/json; charset=utf-8"
		}
		h := w.Result().Header
		for k, want := range map[string]string{
			"Content-Type":     wantType,
			"Cache-Control":    "public, max-age=0",
			"Etag":             `"4.8.4"`,
			"Vary":             "Accept-Encoding",
			"Content-Length":   strconv.Itoa(allNames[name]),
			"Content-Encoding": "",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
	}
}

func TestMinifiedBundleChecksum(t *testing.T) {
	w := get(t, http.MethodGet, "/socket.io.min.js", nil)
	sum := sha256.Sum256(w.Body.Bytes())
	const want = "d5d79a35039e860b32bdef4795528b05c2f788d4b2d9dacc913120e2878f7b3f"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("sha256(socket.io.min.js) = %s, want %s", got, want)
	}
}

func TestQueryStringIgnored(t *testing.T) {
	w := get(t, http.MethodGet, "/socket.io.min.js?v=1&EIO=4", nil)
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), onDisk(t, "socket.io.min.js")) {
		t.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
	}
}

func TestNotModified(t *testing.T) {
	for _, inm := range []string{`"4.8.4"`, `W/"4.8.4"`, `"other", W/"4.8.4"`, `*`} {
		w := get(t, http.MethodGet, "/socket.io.js", http.Header{"If-None-Match": {inm}, "Accept-Encoding": {"gzip"}})
		if w.Code != http.StatusNotModified {
			t.Errorf("If-None-Match %s: status %d, want 304", inm, w.Code)
		}
		if w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: 304 with a body", inm)
		}
		if got := w.Result().Header.Get("ETag"); got != `"4.8.4"` {
			t.Errorf("If-None-Match %s: ETag %q", inm, got)
		}
		if got := w.Result().Header.Get("Content-Encoding"); got != "" {
			t.Errorf("If-None-Match %s: Content-Encoding %q on 304", inm, got)
		}
	}
	for _, inm := range []string{`"4.8.3"`, `4.8.4`, `W/"4.8.3"`, `"4.8.4 "`} {
		w := get(t, http.MethodGet, "/socket.io.js", http.Header{"If-None-Match": {inm}})
		if w.Code != http.StatusOK {
			t.Errorf("If-None-Match %s: status %d, want 200", inm, w.Code)
		}
	}
}

// decode undoes a Content-Encoding.
func decode(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	default:
		t.Fatalf("unexpected coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", coding, err)
	}
	return out
}

func TestCompressedBodiesDecodeToOriginal(t *testing.T) {
	for name := range allNames {
		for _, coding := range []string{"br", "gzip", "deflate"} {
			t.Run(name+"/"+coding, func(t *testing.T) {
				t.Parallel()
				w := get(t, http.MethodGet, "/"+name, http.Header{"Accept-Encoding": {coding}})
				h := w.Result().Header
				if w.Code != http.StatusOK || h.Get("Content-Encoding") != coding {
					t.Fatalf("status %d, Content-Encoding %q", w.Code, h.Get("Content-Encoding"))
				}
				if h.Get("Vary") != "Accept-Encoding" || h.Get("ETag") != `"4.8.4"` {
					t.Errorf("headers %v", h)
				}
				if got := h.Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
					t.Errorf("Content-Length %s for %d bytes", got, w.Body.Len())
				}
				if w.Body.Len() >= allNames[name] {
					t.Errorf("%d compressed bytes, original %d", w.Body.Len(), allNames[name])
				}
				if !bytes.Equal(decode(t, coding, w.Body.Bytes()), onDisk(t, name)) {
					t.Error("decoded body differs from the vendored file")
				}
			})
		}
	}
}

func TestCompressionCachedAndConcurrent(t *testing.T) {
	const n = 16
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/socket.io.esm.min.js", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			Handler().ServeHTTP(w, r)
			bodies[i] = w.Body.Bytes()
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("response %d differs", i)
		}
	}
	f := files["socket.io.esm.min.js"]
	first, second := f.body(encGzip), f.body(encGzip)
	if len(first) == 0 || &first[0] != &second[0] {
		t.Fatal("gzip body was not cached")
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		header string
		want   string
	}{
		{"", ""},
		{"identity", ""},
		{"gzip", "gzip"},
		{"deflate", "deflate"},
		{"br", "br"},
		{"gzip, deflate, br, zstd", "br"},
		{"GZIP", "gzip"},
		{"gzip;q=1.0, br;q=0.5", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		{"deflate;q=0.9, gzip;q=0.8", "deflate"},
		{"*", "br"},
		{"*;q=0.5, br;q=0", "gzip"},
		{"gzip;q=0.2, *;q=0.5", "br"},
		{"zstd, compress", ""},
		{"br;q=abc, gzip", "gzip"},
		{"br ; q=0.7 , gzip ; q = 0.6", "br"},
	}
	for _, c := range cases {
		w := get(t, http.MethodGet, "/socket.io.min.js", http.Header{"Accept-Encoding": {c.header}})
		if got := w.Result().Header.Get("Content-Encoding"); got != c.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", c.header, got, c.want)
		}
		if c.want == "" && !bytes.Equal(w.Body.Bytes(), onDisk(t, "socket.io.min.js")) {
			t.Errorf("Accept-Encoding %q: identity body differs", c.header)
		}
	}
	// Several header lines are one list.
	w := get(t, http.MethodGet, "/socket.io.min.js", http.Header{"Accept-Encoding": {"br;q=0.1", "deflate"}})
	if got := w.Result().Header.Get("Content-Encoding"); got != "deflate" {
		t.Errorf("two header lines: Content-Encoding %q", got)
	}
}

func TestUnknownNameNotServed(t *testing.T) {
	for _, p := range []string{"/", "/socket.io.esm.js", "/socket.io.min.map", "/VERSION", "/LICENSE",
		"/README.md", "/x/socket.io.js", "/third_party/socket.io-client/socket.io.js"} {
		w := get(t, http.MethodGet, p, nil)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, w.Code)
		}
		if w.Result().Header.Get("ETag") != "" {
			t.Errorf("%s: ETag on a 404", p)
		}
	}
	w := httptest.NewRecorder()
	ServeFile(w, httptest.NewRequest(http.MethodGet, "/socket.io.js", nil), "nope.js")
	if w.Code != http.StatusNotFound {
		t.Errorf("ServeFile unknown name: status %d", w.Code)
	}
}

func TestMethods(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		w := get(t, m, "/socket.io.js", nil)
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", m, w.Code)
		}
		if got := w.Result().Header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s: Allow %q", m, got)
		}
	}
	w := get(t, http.MethodHead, "/socket.io.min.js", http.Header{"Accept-Encoding": {"gzip"}})
	h := w.Result().Header
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("HEAD: status %d, %d body bytes", w.Code, w.Body.Len())
	}
	gz := get(t, http.MethodGet, "/socket.io.min.js", http.Header{"Accept-Encoding": {"gzip"}})
	if h.Get("Content-Length") != strconv.Itoa(gz.Body.Len()) || h.Get("Content-Encoding") != "gzip" {
		t.Errorf("HEAD headers %v, GET body %d bytes", h, gz.Body.Len())
	}
}

// TestOverHTTP checks a real server mounted under /socket.io/ with
// StripPrefix, including HEAD through the HTTP client and a 304 round trip.
func TestOverHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", http.StripPrefix("/socket.io/", Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()

	resp, err := client.Head(srv.URL + "/socket.io/socket.io.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != 153519 {
		t.Fatalf("HEAD: %d, body %d bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
	}

	resp, err = client.Get(srv.URL + "/socket.io/socket.io.min.js?t=123")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, onDisk(t, "socket.io.min.js")) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/socket.io/socket.io.min.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", resp.StatusCode)
	}
}
