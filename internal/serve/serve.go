// Package serve runs the HTTP servers of the module's commands: a listener
// served until a context ends, then a graceful shutdown, and the profiling
// endpoints of net/http/pprof.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ShutdownTimeout bounds the shutdown of Run.
const ShutdownTimeout = 5 * time.Second

// Run serves h on ln and prints "listening on http://ADDR" to stdout. When
// ctx ends it calls each of closers (the Socket.IO servers, so that their
// long-lived connections end), then shuts the HTTP server down, within
// ShutdownTimeout. It returns the error that stopped the server, or nil
// after a shutdown.
func Run(ctx context.Context, ln net.Listener, h http.Handler, stdout io.Writer, closers ...func(context.Context) error) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	for _, c := range closers {
		_ = c(shutdown)
	}
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Pprof returns a handler of net/http/pprof's endpoints under
// /debug/pprof/.
func Pprof() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
