// Command sioe2eserver is the Socket.IO server the end-to-end tests in e2e/
// drive with the official JavaScript client. It exposes one small behaviour
// per feature under test:
//
//   - namespaces "/", "/custom" and dynamic ones matching ^/dyn-\d+$;
//   - "/private": its middleware refuses a CONNECT whose auth has no
//     token "secret" with the message "not authorized" and data
//     {"reason":"bad token"};
//   - on connection every socket gets "welcome" with its namespace, socket
//     id and CONNECT auth;
//   - "echo" (any arguments, optional ack): emits "echo" back with the
//     same arguments and acks them;
//   - "join" (room, ack): joins the room, acks the room list size;
//   - "to-room" (room, ...args): emits "room-msg" with args to the room,
//     the sender excluded;
//   - "broadcast" (...args): emits "broadcast-msg" to every other socket of
//     the namespace;
//   - "ask" (event, timeoutMs, ...args, ack): emits event with an ack
//     request to this socket and acks the client's answer as
//     {"answer": [...]} or {"error": "..."} on timeout;
//   - "disconnect-me" (close): the server disconnects the socket
//     (with close, the whole connection);
//   - "last-reason" (ack): acks the disconnect reason of the socket that
//     disconnected last from this namespace;
//   - "rooms" (ack): acks the socket's rooms;
//   - "emit-plain" (...args): emits "plain" back with the same arguments,
//     never compressed (Compress(false));
//   - "broadcast-plain" (...args): as "broadcast", never compressed.
//
// With -recovery, connection state recovery is on (every event without an
// ack then carries an offset as its last argument), and "welcome" says
// whether the socket was recovered. With -parser msgpack, the server speaks
// the msgpack parser (socket.io-msgpack-parser) instead of the default one.
// With -per-message-deflate, WebSocket compression is negotiated
// (threshold -deflate-threshold bytes).
//
// Usage:
//
//	sioe2eserver [-addr 127.0.0.1:0] [-recovery] [-parser json|msgpack] [-per-message-deflate [-deflate-threshold 1024]]
//
// It prints "listening on http://HOST:PORT" once it listens.
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
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/benchevents"
	"github.com/chatd/chatd/internal/serve"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sioe2eserver:", err)
		os.Exit(1)
	}
}

// run serves the test server until ctx is cancelled; it prints "listening
// on http://HOST:PORT" to stdout once it accepts connections and logs to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sioe2eserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (host:port)")
	pingInterval := fs.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pingTimeout := fs.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	recovery := fs.Bool("recovery", false, "turn connection state recovery on")
	deflate := fs.Bool("per-message-deflate", false, "negotiate WebSocket compression (permessage-deflate)")
	threshold := fs.Int("deflate-threshold", 1024, "smallest WebSocket message compressed, in bytes (with -per-message-deflate)")
	verbose := fs.Bool("v", false, "log debug messages")
	parserName := fs.String("parser", "json", "Socket.IO parser: json or msgpack")
	wt := fs.Bool("webtransport", false, "offer WebTransport: an HTTP/3 listener on a free UDP port of the same host, with a fresh self-signed certificate; GET /webtransport.json gives its URL and certificate hash")
	eio3 := fs.Bool("eio3", false, "accept Engine.IO v3 / Socket.IO v4-protocol clients (socket.io-client 2.x, AllowEIO3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	opts := socketio.Options{Engine: engine.Options{
		PingInterval: *pingInterval,
		PingTimeout:  *pingTimeout,
		CORS:         &engine.CORS{Origins: []string{"*"}},
		Logger:       logger,
	}, Logger: logger, AllowEIO3: *eio3}
	if *wt {
		opts.Engine.Transports = []string{engine.TransportPolling, engine.TransportWebSocket, engine.TransportWebTransport}
	}
	if *recovery {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{}
	}
	if *deflate {
		opts.Engine.PerMessageDeflate = &engine.PerMessageDeflate{Threshold: *threshold}
	}
	switch *parserName {
	case "json":
	case "msgpack":
		opts.Parser = msgpackparser.Parser{}
	default:
		return fmt.Errorf("unknown parser %q (want json or msgpack)", *parserName)
	}
	sio := newServer(opts)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, testPage)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	closeAll := sio.Close
	if *wt {
		stopH3, err := serveWebTransport(sio, ln.Addr().(*net.TCPAddr).IP, mux, logger)
		if err != nil {
			_ = ln.Close()
			return err
		}
		closeAll = func(ctx context.Context) error {
			err := sio.Close(ctx)
			stopH3()
			return err
		}
	}
	return serve.Run(ctx, ln, mux, stdout, closeAll)
}

// testPage is an empty page on the server's origin for browser tests.
const testPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>socketio test page</title></head><body><p id="status">ready</p></body></html>`

func newServer(opts socketio.Options) *socketio.Server {
	io := socketio.NewServer(&opts)
	var mu sync.Mutex
	lastReason := map[string]string{}

	setup := func(s *socketio.Socket) {
		nsp := s.Namespace().Name()
		_ = s.Emit("welcome", map[string]any{"nsp": nsp, "id": s.ID(), "auth": s.Handshake().Auth, "recovered": s.Recovered()})
		s.OnDisconnect(func(r socketio.Reason) {
			mu.Lock()
			lastReason[nsp] = string(r)
			mu.Unlock()
		})
		s.On("echo", func(args socketio.Args, ack socketio.Ack) {
			_ = s.Emit("echo", args.Forward()...)
			_ = ack(args.Forward()...)
		})
		benchevents.Register(s) // "join" and "to-room", as cmd/chatbench speaks them
		s.On("broadcast", func(args socketio.Args) {
			_ = s.Broadcast().Emit("broadcast-msg", args.Forward()...)
		})
		s.On("emit-plain", func(args socketio.Args) {
			_ = s.Compress(false).Emit("plain", args.Forward()...)
		})
		s.On("broadcast-plain", func(args socketio.Args) {
			_ = s.Broadcast().Compress(false).Emit("broadcast-msg", args.Forward()...)
		})
		s.On("ask", func(args socketio.Args, ack socketio.Ack) {
			var event string
			var ms int
			_ = args.Decode(0, &event)
			_ = args.Decode(1, &ms)
			ctx, cancel := context.WithTimeout(s.Context(), time.Duration(ms)*time.Millisecond)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, event, args.Forward()[2:]...)
			if err != nil {
				_ = ack(map[string]string{"error": err.Error()})
				return
			}
			_ = ack(map[string]any{"answer": answer.Forward()})
		})
		s.On("disconnect-me", func(close bool) { s.Disconnect(close) })
		s.On("rooms", func(ack socketio.Ack) { _ = ack(s.Rooms()) })
		s.On("transport", func(ack socketio.Ack) { _ = ack(s.Transport()) })
		s.On("last-reason", func(ack socketio.Ack) {
			mu.Lock()
			r := lastReason[nsp]
			mu.Unlock()
			_ = ack(r)
		})
	}
	io.OnConnection(setup)
	io.Of("/custom").OnConnection(setup)
	io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(setup)
	io.Of("/private").Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		_ = jsonUnmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return socketio.NewConnectError("not authorized", map[string]string{"reason": "bad token"})
		}
		return nil
	}).OnConnection(setup)
	return io
}
