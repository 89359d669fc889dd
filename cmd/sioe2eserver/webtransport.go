package main

import (
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/h3"
)

// serveWebTransport starts an HTTP/3 listener for sio's WebTransport
// transport on a free UDP port of ip, with a self-signed certificate
// valid for a day (browsers accept it through serverCertificateHashes),
// and publishes its URL and certificate hash at /webtransport.json on
// mux. It returns the function that stops the listener.
func serveWebTransport(sio *socketio.Server, ip net.IP, mux *http.ServeMux, logger *slog.Logger) (func(), error) {
	cert, hash, err := h3.SelfSignedCertificate([]string{ip.String(), "localhost"}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		return nil, err
	}
	srv := h3.New(sio.Engine(), h3.Options{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Logger:    logger,
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(pc)
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	info, _ := json.Marshal(map[string]any{
		"url":      "https://" + net.JoinHostPort(ip.String(), strconv.Itoa(port)),
		"port":     port,
		"certHash": hash[:], // base64, as encoding/json writes bytes
	})
	mux.HandleFunc("/webtransport.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(info)
	})
	logger.Info("webtransport listening", "addr", pc.LocalAddr().String())
	return func() {
		_ = srv.Close()
		<-done
		_ = pc.Close()
	}, nil
}
