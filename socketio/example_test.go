package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/client"
)

// serve mounts io on an HTTP test server listening on the loopback
// interface. It returns the server's URL and a function that closes the
// Socket.IO server, then the HTTP server.
func serve(io *socketio.Server) (url string, stop func()) {
	mux := http.NewServeMux()
	mux.Handle(io.Path()+"/", io)
	ts := httptest.NewServer(mux)
	return ts.URL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		ts.Close()
	}
}

// dial connects a Go client, on a connection of its own, to the namespace
// named by the path of url and waits until it is connected.
func dial(url string, auth any) (*client.Socket, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return client.Dial(ctx, url, &client.Options{
		ForceNew:            true,
		DisableReconnection: true,
		Transports:          []string{client.TransportWebSocket},
		Auth:                auth,
	})
}

// A Server is an http.Handler: mount it at its path ("/socket.io/" by
// default) on any mux or router, next to the application's own routes.
func ExampleNewServer() {
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("hello", func(name string, ack socketio.Ack) {
			ack("hello, " + name)
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the application's pages")
	})
	ts := httptest.NewServer(mux) // in production: http.ListenAndServe(addr, mux)
	defer ts.Close()
	defer io.Close(context.Background())

	// A client (here the Go one; a browser would load
	// /socket.io/socket.io.min.js from the same server).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, ts.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reply, err := c.EmitWithAck(ctx, "hello", "gopher")
	if err != nil {
		fmt.Println(err)
		return
	}
	var text string
	_ = reply.Decode(0, &text)
	fmt.Println(text)
	// Output: hello, gopher
}

// Of returns a namespace, created on first use. Clients may connect only to
// namespaces that exist (or that a dynamic namespace accepts).
func ExampleServer_Of() {
	io := socketio.NewServer(nil)
	chat := io.Of("/chat")
	chat.OnConnection(func(s *socketio.Socket) {
		s.On("whereami", func(ack socketio.Ack) {
			ack(s.Namespace().Name())
		})
	})
	base, stop := serve(io)
	defer stop()

	c, err := dial(base+"/chat", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reply, err := c.EmitWithAck(context.Background(), "whereami")
	fmt.Println(reply, err)

	_, err = dial(base+"/nowhere", nil)
	var cerr *client.ConnectError
	if errors.As(err, &cerr) {
		fmt.Println("refused:", cerr.Message)
	}
	// Output:
	// ["/chat"] <nil>
	// refused: Invalid namespace
}

// A dynamic namespace creates a child namespace for every name its regular
// expression matches. Its middlewares and connection handlers apply to
// every child, and emitting on it reaches every child.
func ExampleServer_OfRegexp() {
	io := socketio.NewServer(nil)
	boards := io.OfRegexp(regexp.MustCompile(`^/board-\d+$`))
	boards.OnConnection(func(s *socketio.Socket) {
		s.On("whereami", func(ack socketio.Ack) {
			ack(s.Namespace().Name())
		})
	})
	base, stop := serve(io)
	defer stop()

	news := make(chan string, 2)
	for _, name := range []string{"/board-1", "/board-2"} {
		c, err := dial(base+name, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		c.On("news", func(text string) { news <- name + " got " + text })
		reply, _ := c.EmitWithAck(context.Background(), "whereami")
		fmt.Println("connected to", reply)
	}
	fmt.Println(io.HasNamespace("/board-1"), io.HasNamespace("/board-3"))

	_ = boards.Emit("news", "maintenance at noon")
	got := []string{<-news, <-news}
	slices.Sort(got)
	fmt.Println(strings.Join(got, "\n"))
	// Output:
	// connected to ["/board-1"]
	// connected to ["/board-2"]
	// true false
	// /board-1 got maintenance at noon
	// /board-2 got maintenance at noon
}

// OfFunc decides with a function, which also sees the CONNECT payload.
func ExampleServer_OfFunc() {
	io := socketio.NewServer(nil)
	teams := io.OfFunc(func(name string, auth json.RawMessage) bool {
		var a struct {
			Team string `json:"team"`
		}
		_ = json.Unmarshal(auth, &a)
		return name == "/team-"+a.Team
	})
	teams.OnConnection(func(s *socketio.Socket) {
		s.On("whereami", func(ack socketio.Ack) { ack(s.Namespace().Name()) })
	})
	base, stop := serve(io)
	defer stop()

	c, err := dial(base+"/team-blue", map[string]string{"team": "blue"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reply, _ := c.EmitWithAck(context.Background(), "whereami")
	fmt.Println(reply)

	_, err = dial(base+"/team-red", map[string]string{"team": "blue"})
	fmt.Println(err)
	// Output:
	// ["/team-blue"]
	// Invalid namespace
}

// A middleware runs before a socket is connected. Returning a
// *ConnectError refuses the connection with a message and data that the
// client receives; it does not reconnect on its own.
func ExampleServer_Use() {
	io := socketio.NewServer(nil)
	io.Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "s3cret" {
			return socketio.NewConnectError("unauthorized", map[string]string{"hint": "log in first"})
		}
		s.SetData("user-1") // kept with the socket, reported by FetchSockets
		return nil
	})
	io.OnConnection(func(s *socketio.Socket) {
		s.On("whoami", func(ack socketio.Ack) { ack(s.Data()) })
	})
	base, stop := serve(io)
	defer stop()

	_, err := dial(base, map[string]string{"token": "guess"})
	var cerr *client.ConnectError
	if errors.As(err, &cerr) && cerr.Refused() {
		fmt.Println("refused:", cerr.Message, string(cerr.Data))
	}

	c, err := dial(base, map[string]string{"token": "s3cret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reply, _ := c.EmitWithAck(context.Background(), "whoami")
	fmt.Println("connected as", reply)
	// Output:
	// refused: unauthorized {"hint":"log in first"}
	// connected as ["user-1"]
}

// Handlers receive the event's arguments decoded into their parameter
// types ([]byte for binary values); a last parameter of type Ack answers
// the client. Arguments that do not decode go to the OnError handlers.
func ExampleSocket_On() {
	type point struct{ X, Y int }
	errs := make(chan error, 1)
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("move", func(player string, to point, ack socketio.Ack) {
			ack(fmt.Sprintf("%s moved to %d,%d", player, to.X, to.Y))
		})
		s.On("upload", func(name string, data []byte, ack socketio.Ack) {
			ack(name, len(data))
		})
		s.OnError(func(err error) { errs <- err })
	})
	base, stop := serve(io)
	defer stop()

	c, err := dial(base, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	reply, _ := c.EmitWithAck(ctx, "move", "ana", point{X: 3, Y: 4})
	fmt.Println(reply)
	reply, _ = c.EmitWithAck(ctx, "upload", "photo.png", []byte{0x89, 'P', 'N', 'G'})
	fmt.Println(reply)

	_ = c.Emit("move", "ana", "not a point")
	err = <-errs
	var argErr *socketio.ArgError
	fmt.Println(errors.As(err, &argErr), argErr.Event, argErr.Index)
	// Output:
	// ["ana moved to 3,4"]
	// ["photo.png",4]
	// true move 1
}

// Rooms select the recipients of a broadcast: To (or In) adds rooms, Except
// removes the sockets of other rooms, and an operator obtained from a Socket
// leaves that socket out.
func ExampleSocket_To() {
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(rooms []string, ack socketio.Ack) {
			s.Join(rooms...)
			ack()
		})
		s.On("say", func(room, text string, ack socketio.Ack) {
			_ = s.To(room).Emit("said", text) // everyone in room but s
			ack()
		})
	})
	base, stop := serve(io)
	defer stop()

	names := []string{"ana", "bob", "cat"}
	rooms := map[string][]string{"ana": {"go"}, "bob": {"go"}, "cat": {"go", "muted"}}
	got := map[string]chan string{}
	clients := map[string]*client.Socket{}
	ctx := context.Background()
	for _, name := range names {
		c, err := dial(base, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		ch := make(chan string, 8)
		c.On("said", func(text string) { ch <- text })
		if _, err := c.EmitWithAck(ctx, "join", rooms[name]); err != nil {
			fmt.Println(err)
			return
		}
		got[name], clients[name] = ch, c
	}

	_, _ = clients["ana"].EmitWithAck(ctx, "say", "go", "hi")
	_ = io.To("go").Except("muted").Emit("said", "announcement")
	_ = io.Emit("said", "end") // every socket of "/"; events arrive in order

	for _, name := range names {
		var texts []string
		for text := range got[name] {
			if text == "end" {
				break
			}
			texts = append(texts, text)
		}
		fmt.Println(name, texts)
	}
	// Output:
	// ana [announcement]
	// bob [hi announcement]
	// cat [hi]
}

// The server can ask one client for an acknowledgement and wait for it,
// under a context or with Timeout.
func ExampleSocket_EmitWithAck() {
	results := make(chan string, 2)
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("ready", func() {
			// Handlers may block: only this socket waits.
			ctx, cancel := context.WithTimeout(s.Context(), 2*time.Second)
			defer cancel()
			reply, err := s.EmitWithAck(ctx, "question", "6 x 7?")
			results <- fmt.Sprint(reply, err)

			_, err = s.Timeout(100*time.Millisecond).EmitWithAck(context.Background(), "riddle")
			results <- fmt.Sprint("riddle: ", errors.Is(err, socketio.ErrTimeout))
		})
	})
	base, stop := serve(io)
	defer stop()

	c, err := dial(base, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.On("question", func(q string, ack client.Ack) { _ = ack(42) })
	c.On("riddle", func() {}) // never answers
	_ = c.Emit("ready")
	fmt.Println(<-results)
	fmt.Println(<-results)
	// Output:
	// [42] <nil>
	// riddle: true
}

// A broadcast can collect the acknowledgements of every selected socket:
// the first argument of each answer, or the answers received so far with
// ErrTimeout when some socket did not answer in time.
func ExampleBroadcastOperator_EmitWithAck() {
	io := socketio.NewServer(nil)
	io.Use(func(s *socketio.Socket) error {
		s.Join("voters") // joined before the client sees the connection
		return nil
	})
	base, stop := serve(io)
	defer stop()

	for _, vote := range []string{"yes", "no", "yes"} {
		c, err := dial(base, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		c.On("vote?", func(question string, ack client.Ack) { _ = ack(vote, "ignored") })
	}

	ctx := context.Background()
	replies, err := io.To("voters").Timeout(2*time.Second).EmitWithAck(ctx, "vote?", "lunch at noon?")
	var votes []string
	for _, r := range replies {
		var v string
		_ = r.Decode(0, &v)
		votes = append(votes, v)
	}
	slices.Sort(votes)
	fmt.Println(votes, err)

	replies, err = io.To("nobody").Timeout(time.Second).EmitWithAck(ctx, "vote?", "anyone?")
	fmt.Println(len(replies), err)
	// Output:
	// [no yes yes] <nil>
	// 0 <nil>
}

// FetchSockets describes the selected sockets (on every node with a
// multi-node adapter); SocketsJoin, SocketsLeave and DisconnectSockets act
// on them.
func ExampleServer_FetchSockets() {
	io := socketio.NewServer(nil)
	io.Use(func(s *socketio.Socket) error {
		var auth struct {
			Name string `json:"name"`
			Team string `json:"team"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		s.SetData(auth.Name)
		s.Join("team-" + auth.Team)
		return nil
	})
	gone := make(chan any, 3)
	io.OnConnection(func(s *socketio.Socket) {
		// Runs once the socket has left its namespace and its rooms.
		s.OnDisconnect(func(socketio.Reason) { gone <- s.Data() })
	})
	base, stop := serve(io)
	defer stop()

	disconnected := make(chan string, 3)
	for _, u := range [][2]string{{"ana", "blue"}, {"bob", "red"}, {"cat", "blue"}} {
		c, err := dial(base, map[string]string{"name": u[0], "team": u[1]})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		c.OnDisconnect(func(reason string) { disconnected <- u[0] + ": " + reason })
	}

	ctx := context.Background()
	_ = io.In("team-blue").SocketsJoin(ctx, "on-call")
	sockets, _ := io.In("on-call").FetchSockets(ctx)
	var lines []string
	for _, s := range sockets {
		rooms := slices.DeleteFunc(s.Rooms(), func(r string) bool { return r == s.ID() })
		slices.Sort(rooms)
		lines = append(lines, fmt.Sprint(s.Data(), " ", rooms))
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))

	_ = io.In("team-red").DisconnectSockets(ctx, false)
	fmt.Println("server:", <-gone, "left")
	fmt.Println("client:", <-disconnected)
	ids, _ := io.Sockets().SocketIDs(ctx)
	fmt.Println(len(ids), "sockets left")
	// Output:
	// ana [on-call team-blue]
	// cat [on-call team-blue]
	// server: bob left
	// client: bob: io server disconnect
	// 2 sockets left
}

// Socket.Use filters incoming events before any handler; OnAny sees every
// event that passed, before its own handlers.
func ExampleSocket_Use() {
	lines := make(chan string, 16)
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.Use(func(event string, args socketio.Args) error {
			if strings.HasPrefix(event, "admin:") {
				return fmt.Errorf("event %s refused", event)
			}
			return nil
		})
		s.OnAny(func(event string, args socketio.Args) {
			lines <- "any: " + event + " " + args.String()
		})
		s.On("chat", func(text string) { lines <- "chat: " + text })
		s.OnError(func(err error) { lines <- "error: " + err.Error() })
		s.On("done", func() { close(lines) })
	})
	base, stop := serve(io)
	defer stop()

	c, err := dial(base, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_ = c.Emit("chat", "hi")
	_ = c.Emit("admin:wipe", true)
	_ = c.Emit("done")
	for line := range lines {
		fmt.Println(line)
	}
	// Output:
	// any: chat ["hi"]
	// chat: hi
	// error: event admin:wipe refused
	// any: done []
}
