package client

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/parser/msgpackparser"
)

// TestMsgpackParser runs the basic flows with the msgpack parser, against
// the reference server (socket.io-msgpack-parser) and against the server
// of this repository, over each transport mode.
func TestMsgpackParser(t *testing.T) {
	servers := []struct {
		name      string
		start     func(t *testing.T) string
		errorData string // of the refused /admin CONNECT
	}{
		{"reference", func(t *testing.T) string { return startRef(t, "0", "PARSER=msgpack").URL }, `{"code":401,"reason":"bad token"}`},
		{"own", func(t *testing.T) string {
			return startOwnServerOpts(t, socketio.Options{Parser: msgpackparser.Parser{}, Engine: engine.Options{
				PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}})
		}, `{"code":401}`},
	}
	for _, srv := range servers {
		for _, mode := range transportModes {
			t.Run(srv.name+"/"+mode.name, func(t *testing.T) {
				checkGoroutines(t)
				url := srv.start(t)
				opts := mode.opts
				opts.Parser = msgpackparser.Parser{}
				opts.Auth = map[string]any{"token": "t", "n": 5}
				s := dial(t, url, &opts)
				testutil.Eventually(t, 15*time.Second, "transport "+mode.final, func() bool { return s.Manager().Transport() == mode.final })
				w := askWhoami(t, s)
				if w.ID != s.ID() || w.Nsp != "/" || w.Transport != mode.final || w.Auth["token"] != "t" || w.Auth["n"] != 5.0 {
					t.Fatalf("whoami %+v, client id %q", w, s.ID())
				}

				// Acknowledgements, JSON values and binary both ways.
				blob := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)
				args, err := s.EmitWithAck(ctxT(t), "echo", "a", 1, 2.5, nil, true, blob, map[string]any{"b": []byte{3}, "c": []any{"x", -7}})
				if err != nil {
					t.Fatal(err)
				}
				vals, err := args.Values()
				if err != nil {
					t.Fatal(err)
				}
				want := []any{"a", 1.0, 2.5, nil, true, blob, map[string]any{"b": []byte{3}, "c": []any{"x", -7.0}}}
				if !reflect.DeepEqual(vals, want) {
					t.Fatalf("echo %#v", vals)
				}

				// An event from the server, and the server's ack request.
				got := make(chan []any, 1)
				s.On("echo", func(n float64, b []byte) { got <- []any{n, b} })
				if err := s.Emit("emit-back", "echo", 42, []byte("raw")); err != nil {
					t.Fatal(err)
				}
				if v := recv(t, got, "echo event"); v[0] != 42.0 || string(v[1].([]byte)) != "raw" {
					t.Fatalf("echo event = %v", v)
				}
				s.On("q", func(n int, b []byte, ack Ack) { _ = ack(n*2, append(b, 8)) })
				args, err = s.EmitWithAck(ctxT(t), "request-ack", "q", 21, []byte{7})
				if err != nil {
					t.Fatal(err)
				}
				var reply any
				if err := args.Decode(0, &reply); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(reply, map[string]any{"reply": []any{42.0, []byte{7, 8}}}) {
					t.Fatalf("reply %#v", reply)
				}

				// Namespaces on the same connection; a refused CONNECT.
				admin := s.Manager().Socket("/admin", &SocketOptions{Auth: map[string]string{"token": "secret"}})
				if aw := askWhoami(t, admin); aw.ConnID != w.ConnID || aw.Nsp != "/admin" {
					t.Fatalf("admin whoami %+v", aw)
				}
				_, err = Dial(ctxT(t), url+"/admin", &Options{ForceNew: true, Transports: opts.Transports, Parser: msgpackparser.Parser{}})
				var cerr *ConnectError
				if !errors.As(err, &cerr) || cerr.Message != "not authorized" || string(cerr.Data) != srv.errorData {
					t.Fatalf("refused connect: %v (data %s)", err, func() []byte {
						if cerr != nil {
							return cerr.Data
						}
						return nil
					}())
				}

				// A server-side disconnect.
				reasons := make(chan string, 1)
				s.On("disconnect", func(r string) { reasons <- r })
				_ = s.Emit("disconnect-me")
				if r := recv(t, reasons, "disconnect"); r != ReasonIOServerDisconnect {
					t.Fatalf("reason %q", r)
				}
				if !admin.Connected() {
					t.Fatal("admin disconnected with /")
				}
			})
		}
	}
}
