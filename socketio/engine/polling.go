package engine

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/socketio/internal/eio"
)

// servePollingHandshake opens a session on the polling transport and
// answers with the open packet (and anything queued by OnOpen).
func (s *Server) servePollingHandshake(w http.ResponseWriter, r *http.Request, q reqQuery) {
	sess := s.register(r, TransportPolling, q)
	if sess == nil {
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	if ck := s.cookie(sess); ck != "" {
		w.Header().Add("Set-Cookie", ck)
	}
	s.obs().InitialHeaders(w.Header(), r)
	s.obs().Headers(w.Header(), r)
	var upgrades []string
	if !s.opts.DisableUpgrades {
		if s.opts.allows(TransportWebSocket) {
			upgrades = append(upgrades, TransportWebSocket)
		}
		if slices.Contains(s.opts.Transports, TransportWebTransport) {
			upgrades = append(upgrades, TransportWebTransport)
		}
	}
	if !s.open(sess, upgrades) {
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	s.pollGet(w, r, sess, q)
}

// servePolling handles a polling request carrying a sid.
func (s *Server) servePolling(w http.ResponseWriter, r *http.Request, sess *Session, q reqQuery) {
	s.obs().Headers(w.Header(), r)
	switch r.Method {
	case http.MethodGet:
		s.pollGet(w, r, sess, q)
	case http.MethodPost:
		s.pollPost(w, r, sess, q)
	default:
		s.fail(w, r, ErrorBadRequest, "")
	}
}

// pollGet serves a long-poll GET: it waits for data or for the session to
// end, then writes everything queued (up to MaxPayload) in one response.
func (s *Server) pollGet(w http.ResponseWriter, r *http.Request, sess *Session, q reqQuery) {
	sess.mu.Lock()
	switch {
	case sess.lingering:
		body := sess.takePayloadLocked()
		taken, drained, plain := sess.lastTaken, len(sess.queue) == 0, sess.lastPlain
		done := sess.endLingerIfDrainedLocked()
		sess.mu.Unlock()
		sess.observeFlush(taken, drained)
		if done {
			s.unregister(sess)
		}
		if body == nil {
			body = sess.fixedBody(frameNoop)
		}
		s.writePoll(w, r, q, body, plain)
		return
	case sess.closed:
		sess.mu.Unlock()
		s.fail(w, r, ErrorUnknownSID, "")
		return
	case sess.ws != nil:
		sess.mu.Unlock()
		s.fail(w, r, ErrorBadRequest, "")
		return
	case sess.probed && sess.poll == nil:
		// Upgrading: answer with a noop shortly, or with an error if the
		// upgrade completes first (as a GET after the upgrade would get).
		p := &pollWaiter{wake: make(chan struct{})}
		sess.poll = p
		sess.noopSoonLocked()
		sess.mu.Unlock()
		s.waitPoll(w, r, sess, q, p)
		return
	case sess.poll != nil:
		// A second GET while one is pending: the pending one gets a
		// close packet, this one an error.
		sess.mu.Unlock()
		sess.terminate(ReasonTransportError, closeAbort)
		s.fail(w, r, ErrorBadRequest, "")
		return
	case len(sess.queue) > 0 && sess.held == 0:
		body := sess.takePayloadLocked()
		taken, drained, plain := sess.lastTaken, len(sess.queue) == 0, sess.lastPlain
		sess.mu.Unlock()
		sess.observeFlush(taken, drained)
		s.writePoll(w, r, q, body, plain)
		return
	}
	p := &pollWaiter{wake: make(chan struct{})}
	sess.poll = p
	sess.mu.Unlock()
	s.waitPoll(w, r, sess, q, p)
}

// upgradeNoopDelay is how long a GET pending during an upgrade waits
// before it is answered with a noop. The delay lets an upgrade packet that
// is already on its way complete the upgrade first; the GET then gets the
// error any GET after the upgrade gets.
const upgradeNoopDelay = 50 * time.Millisecond

// noopSoonLocked answers the pending GET with a noop after
// upgradeNoopDelay, unless something else answers it first.
func (s *Session) noopSoonLocked() {
	p := s.poll
	if p == nil {
		return
	}
	time.AfterFunc(upgradeNoopDelay, func() {
		s.mu.Lock()
		if s.poll == p {
			s.wakePollLocked(s.fixedBody(frameNoop))
		}
		s.mu.Unlock()
	})
}

// waitPoll waits for the pending GET p to be woken (or aborted) and writes
// its response.
func (s *Server) waitPoll(w http.ResponseWriter, r *http.Request, sess *Session, q reqQuery, p *pollWaiter) {
	select {
	case <-p.wake:
	case <-r.Context().Done():
		sess.mu.Lock()
		aborted := sess.poll == p
		if aborted {
			sess.poll = nil
		}
		sess.mu.Unlock()
		if aborted {
			sess.terminate(ReasonTransportError, closeAbort)
			return
		}
	}
	body := p.fixed
	plain := false
	if body == nil {
		sess.mu.Lock()
		if sess.ws != nil { // upgraded meanwhile: the queue is the WebSocket's
			sess.mu.Unlock()
			s.fail(w, r, ErrorBadRequest, "")
			return
		}
		body = sess.takePayloadLocked()
		taken, drained := sess.lastTaken, len(sess.queue) == 0
		plain = sess.lastPlain
		if sess.lingering && sess.endLingerIfDrainedLocked() {
			defer s.unregister(sess)
		}
		sess.mu.Unlock()
		if body != nil {
			sess.observeFlush(taken, drained)
		}
		if body == nil {
			body = sess.fixedBody(frameNoop)
		}
	}
	s.writePoll(w, r, q, body, plain)
}

// writePoll writes a polling response body, as JSONP when the request has
// a j parameter, compressed when large and accepted, unless plain (every
// message of the body was created uncompressed).
func (s *Server) writePoll(w http.ResponseWriter, r *http.Request, q reqQuery, body []byte, plain bool) {
	h := w.Header()
	switch {
	case q.hasJ:
		body = jsonpWrap(q.j, body)
		h.Set("Content-Type", "text/javascript; charset=UTF-8")
	case len(body) > 0 && body[0] <= 1:
		// A v3 binary payload (a text payload, of either protocol,
		// starts with a digit).
		h.Set("Content-Type", "application/octet-stream")
	default:
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	}
	h.Set("Cache-Control", "no-store")
	if t := s.opts.CompressionThreshold; t >= 0 && len(body) >= t && !plain {
		if enc := chooseEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			var buf bytes.Buffer
			var zw io.WriteCloser
			if enc == "gzip" {
				zw = gzip.NewWriter(&buf)
			} else {
				zw = zlib.NewWriter(&buf)
			}
			_, _ = zw.Write(body)
			_ = zw.Close()
			body = buf.Bytes()
			h.Set("Content-Encoding", enc)
			h.Add("Vary", "Accept-Encoding")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// jsonpWrap returns ___eio[j]("<body as a JS string>");.
func jsonpWrap(j string, body []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString("___eio[")
	for i := 0; i < len(j); i++ {
		if j[i] >= '0' && j[i] <= '9' {
			buf.WriteByte(j[i])
		}
	}
	buf.WriteString("](")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(body))
	buf.Truncate(buf.Len() - 1) // the encoder's newline
	buf.WriteString(");")
	return buf.Bytes()
}

// chooseEncoding picks gzip or deflate from an Accept-Encoding header, by
// quality, gzip first on a tie; "" when neither is acceptable.
func chooseEncoding(accept string) string {
	if accept == "" {
		return ""
	}
	qGzip, qDeflate, qAny := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		qv := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				qv = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			qGzip = qv
		case "deflate":
			qDeflate = qv
		case "*":
			qAny = qv
		}
	}
	if qGzip < 0 {
		qGzip = qAny
	}
	if qDeflate < 0 {
		qDeflate = qAny
	}
	switch {
	case qGzip > 0 && qGzip >= qDeflate:
		return "gzip"
	case qDeflate > 0:
		return "deflate"
	}
	return ""
}

// pollPost handles a polling POST: decodes the payload and dispatches its
// packets in order, then answers "ok".
func (s *Server) pollPost(w http.ResponseWriter, r *http.Request, sess *Session, q reqQuery) {
	sess.mu.Lock()
	switch {
	case sess.closed:
		sess.mu.Unlock()
		s.fail(w, r, ErrorUnknownSID, "")
		return
	case sess.ws != nil:
		sess.mu.Unlock()
		s.fail(w, r, ErrorBadRequest, "")
		return
	case sess.posting:
		sess.mu.Unlock()
		sess.terminate(ReasonTransportError, closeAbort)
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	sess.posting = true
	sess.mu.Unlock()
	defer func() {
		sess.mu.Lock()
		sess.posting = false
		sess.mu.Unlock()
	}()

	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	binaryBody := ct == "application/octet-stream"
	if binaryBody && !sess.v3 {
		// v4 polling carries binary as base64 text only.
		sess.terminate(ReasonParseError, closeAbort)
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	max := s.opts.MaxPayload
	if q.hasJ {
		max = max*4 + 16 // form-encoding expands the payload
	}
	if r.ContentLength > max {
		s.tooLarge(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		sess.terminate(ReasonTransportError, closeAbort)
		return
	}
	if int64(len(body)) > max {
		s.tooLarge(w)
		return
	}
	if q.hasJ {
		body = jsonpData(body)
	}
	var pkts []Packet
	switch {
	case binaryBody:
		pkts, err = eio.DecodeBinaryPayloadV3(body, s.opts.MaxPayload)
	case sess.v3:
		pkts, err = eio.DecodePayloadV3(body, s.opts.MaxPayload)
	default:
		pkts, err = DecodePayload(body, s.opts.MaxPayload)
	}
	if err == ErrPayloadTooLarge {
		s.tooLarge(w)
		return
	}
	if err != nil {
		sess.terminate(ReasonParseError, closeAbort)
		s.fail(w, r, ErrorBadRequest, "")
		return
	}
	for _, p := range pkts {
		if !sess.onPacket(p) {
			break
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

func (s *Server) tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
}

// jsonpData extracts the payload of a JSONP POST: the form field d, where
// the client wrote newlines as \n and backslash-n as \\n.
func jsonpData(body []byte) []byte {
	vals, err := url.ParseQuery(string(body))
	if err != nil || !vals.Has("d") {
		return nil
	}
	d := vals.Get("d")
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		switch {
		case strings.HasPrefix(d[i:], `\\n`):
			b.WriteString(`\n`)
			i += 2
		case strings.HasPrefix(d[i:], `\n`):
			b.WriteByte('\n')
			i++
		default:
			b.WriteByte(d[i])
		}
	}
	return []byte(b.String())
}
