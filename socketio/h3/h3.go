// Package h3 serves the WebTransport transport of an Engine.IO server
// (package socketio/engine) over HTTP/3, with quic-go and
// webtransport-go. It runs beside the HTTP/1.1 listener that serves
// polling and WebSocket: the official client opens a WebTransport
// session at the same path (https://host:port/socket.io/?EIO=4&...) on
// the HTTP/3 port, and its first bidirectional stream carries the
// Engine.IO session (engine.Server.ServeWebTransport).
//
// The engine must list engine.TransportWebTransport in
// Options.Transports; the HTTP/3 listener can be on any UDP port, which
// the client learns from its own options (the reference's clients dial
// the same host and port as for the other transports, so production
// deployments serve HTTP/3 on the same port number, over UDP).
package h3

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chatd/chatd/socketio/engine"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
)

// Options configures a Server.
type Options struct {
	// Path is where WebTransport sessions are accepted: a request path
	// equal to it or under it (with a trailing slash). Defaults to
	// "/socket.io/", the path of the Socket.IO client.
	Path string
	// TLSConfig holds the server's certificate (HTTP/3 always uses TLS
	// 1.3). Required.
	TLSConfig *tls.Config
	// CheckOrigin accepts or refuses the Origin of a CONNECT request.
	// Defaults to the engine's CORS rule (engine.Server.CheckOrigin).
	CheckOrigin func(r *http.Request) bool
	// StreamTimeout bounds the wait for the client's bidirectional
	// stream after the session is established. Defaults to 10s.
	StreamTimeout time.Duration
	// Logger receives refused sessions at debug level. Defaults to none.
	Logger *slog.Logger
}

// Server is an HTTP/3 server that hands the WebTransport sessions opened
// at its path to an Engine.IO server. Other HTTP/3 requests get 404.
type Server struct {
	eng  *engine.Server
	opts Options
	wt   *webtransport.Server
	ctx  context.Context
	stop context.CancelFunc
}

// New returns a Server for eng. It panics when opts.TLSConfig is nil.
func New(eng *engine.Server, opts Options) *Server {
	if opts.TLSConfig == nil {
		panic("h3: Options.TLSConfig is required")
	}
	if opts.Path == "" {
		opts.Path = "/socket.io/"
	}
	if opts.CheckOrigin == nil {
		opts.CheckOrigin = eng.CheckOrigin
	}
	if opts.StreamTimeout <= 0 {
		opts.StreamTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: eng, opts: opts}
	s.ctx, s.stop = context.WithCancel(context.Background())
	h3 := &http3.Server{
		TLSConfig: http3.ConfigureTLSConfig(opts.TLSConfig.Clone()),
		Handler:   http.HandlerFunc(s.serveHTTP),
	}
	webtransport.ConfigureHTTP3Server(h3)
	s.wt = &webtransport.Server{H3: h3, CheckOrigin: opts.CheckOrigin}
	return s
}

// Serve accepts QUIC connections on pc until Close. It returns
// http.ErrServerClosed (or the error of the listener) once closed.
func (s *Server) Serve(pc net.PacketConn) error {
	return s.wt.Serve(pc)
}

// Close closes the listeners and every QUIC connection, ending their
// WebTransport sessions (the engine sees their transport close). Close
// the engine first to end its sessions gracefully.
func (s *Server) Close() error {
	s.stop()
	return s.wt.Close()
}

// pathMatches reports whether p is the server's path or under it.
func (s *Server) pathMatches(p string) bool {
	base := s.opts.Path
	if p == base || p+"/" == base {
		return true
	}
	return strings.HasSuffix(base, "/") && strings.HasPrefix(p, base)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect || !s.pathMatches(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	sess, err := s.wt.Upgrade(w, r)
	if err != nil {
		s.opts.Logger.Debug("h3: webtransport upgrade failed", "err", err, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.StreamTimeout)
	st, err := sess.AcceptStream(ctx)
	cancel()
	if err != nil {
		s.opts.Logger.Debug("h3: no webtransport stream", "err", err, "remote", r.RemoteAddr)
		_ = sess.CloseWithError(0, "")
		return
	}
	if err := s.eng.ServeWebTransport(stream{st: st, sess: sess}, r); err != nil {
		s.opts.Logger.Debug("h3: webtransport session refused", "err", err, "remote", r.RemoteAddr)
	}
}

// stream adapts a webtransport-go stream and its session to
// engine.WebTransportStream.
type stream struct {
	st   *webtransport.Stream
	sess *webtransport.Session
}

func (s stream) Read(b []byte) (int, error)         { return s.st.Read(b) }
func (s stream) Write(b []byte) (int, error)        { return s.st.Write(b) }
func (s stream) SetReadDeadline(t time.Time) error  { return s.st.SetReadDeadline(t) }
func (s stream) SetWriteDeadline(t time.Time) error { return s.st.SetWriteDeadline(t) }
func (s stream) CloseWrite() error                  { return s.st.Close() }
func (s stream) Close() error                       { return s.sess.CloseWithError(0, "") }

// SelfSignedCertificate makes an ECDSA P-256 certificate for hosts (DNS
// names or IP addresses), valid from a minute ago for validity, and
// returns it with the SHA-256 hash of its DER encoding. Browsers accept
// such a certificate without a trusted chain when the page passes the
// hash in WebTransport's serverCertificateHashes, provided validity is
// under 14 days; for development and tests.
func SelfSignedCertificate(hosts []string, validity time.Duration) (tls.Certificate, [32]byte, error) {
	if validity <= 0 || validity >= 14*24*time.Hour {
		return tls.Certificate{}, [32]byte{}, errors.New("h3: certificate validity must be positive and under 14 days")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, [32]byte{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, [32]byte{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity - time.Minute),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, [32]byte{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, sha256.Sum256(der), nil
}
