// Command siofixture is the server the official Engine.IO v4 and Socket.IO
// v5 protocol test suites drive (see docs/conformance.md). One process
// serves two independent endpoints on one port:
//
//   - /engine.io/: a bare Engine.IO server that sends every message back
//     on the same session, text as text and binary as binary;
//   - /socket.io/: a Socket.IO server whose main namespace and /custom
//     emit "auth" with the CONNECT payload on connection, and whose main
//     namespace answers "message" with "message-back" (same arguments) and
//     acknowledges "message-with-ack" with its arguments.
//
// Both use the suites' timings: pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1000000, and a 1000 ms connectTimeout on /socket.io/.
//
// With -parser msgpack, /socket.io/ speaks the msgpack parser
// (socket.io-msgpack-parser) instead of the default one.
//
// Usage:
//
//	siofixture [-addr 127.0.0.1:3000] [-parser json|msgpack]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/serve"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "siofixture:", err)
		os.Exit(1)
	}
}

// run serves the fixture until ctx is cancelled; it prints "listening on
// http://HOST:PORT" to stdout once it accepts connections and logs to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("siofixture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address (host:port)")
	verbose := fs.Bool("v", false, "log debug messages")
	parserName := fs.String("parser", "json", "Socket.IO parser of /socket.io/: json or msgpack")
	eio3 := fs.Bool("eio3", false, "accept Engine.IO v3 / Socket.IO v4-protocol clients (socket.io-client 2.x) on both endpoints (AllowEIO3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var p parser.Parser
	switch *parserName {
	case "json":
	case "msgpack":
		p = msgpackparser.Parser{}
	default:
		return fmt.Errorf("unknown parser %q (want json or msgpack)", *parserName)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	eio, sio := newHandlers(logger, p, *eio3)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve.Run(ctx, ln, mux, stdout, sio.Close, eio.Close)
}

// fixtureEngineOptions are the option values the protocol suites expect.
func fixtureEngineOptions(logger *slog.Logger) engine.Options {
	return engine.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1_000_000,
		CORS:         &engine.CORS{Origins: []string{"*"}},
		Logger:       logger,
	}
}

// newHandlers builds the two endpoints; p is the parser of /socket.io/
// (nil for the default one); eio3 turns AllowEIO3 on for both.
func newHandlers(logger *slog.Logger, p parser.Parser, eio3 bool) (*engine.Server, *socketio.Server) {
	eopts := fixtureEngineOptions(logger)
	eopts.AllowEIO3 = eio3
	eio := engine.NewServer(echo{}, &eopts)

	sio := socketio.NewServer(&socketio.Options{
		ConnectTimeout: time.Second,
		Parser:         p,
		AllowEIO3:      eio3,
		Engine:         fixtureEngineOptions(logger),
		Logger:         logger,
	})
	sio.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(args socketio.Args) {
			_ = s.Emit("message-back", args.Forward()...)
		})
		s.On("message-with-ack", func(args socketio.Args, ack socketio.Ack) {
			_ = ack(args.Forward()...)
		})
	})
	sio.Of("/custom").OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
	})
	return eio, sio
}

// echo is the /engine.io/ application: every message goes back unchanged.
type echo struct{}

func (echo) OnOpen(*engine.Session) engine.Conn { return echo{} }

func (echo) OnMessage(s *engine.Session, data []byte, binary bool) {
	s.Send(append([]byte(nil), data...), binary)
}

func (echo) OnClose(*engine.Session, engine.Reason) {}
