package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/chatd/chatd/socketio/client"
)

// Connect to the namespace "/chat", send an event and wait for the
// acknowledgement.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "http://localhost:3000/chat", &client.Options{
		Auth: map[string]string{"token": "secret"},
	})
	var cerr *client.ConnectError
	if errors.As(err, &cerr) && cerr.Refused() {
		log.Fatalf("refused: %s (%s)", cerr.Message, cerr.Data)
	} else if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	s.On("message", func(from, text string) {
		fmt.Printf("%s: %s\n", from, text)
	})
	reply, err := s.EmitWithAck(ctx, "send", "hello")
	if err != nil {
		log.Fatal(err)
	}
	var status string
	if err := reply.Decode(0, &status); err != nil {
		log.Fatal(err)
	}
	fmt.Println("server said", status)
}

// Open several namespaces over one connection, with a fresh token at every
// (re)connection.
func ExampleManager_Socket() {
	m, err := client.NewManager("http://localhost:3000", &client.Options{
		Transports:        []string{client.TransportWebSocket},
		ReconnectionDelay: 500 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	m.OnReconnect(func(attempt int) { log.Printf("reconnected after %d attempts", attempt) })

	news := m.Socket("/news", nil)
	admin := m.Socket("/admin", &client.SocketOptions{
		AuthFunc: func() any { return map[string]string{"token": currentToken()} },
	})
	news.OnConnect(func() { log.Println("news connected as", news.ID()) })
	admin.OnConnectError(func(err *client.ConnectError) { log.Println("admin refused:", err.Message) })
	news.OnDisconnect(func(reason string) { log.Println("news disconnected:", reason) })
}

func currentToken() string { return "token" }

// Handlers receive arguments decoded into their parameter types; a last
// parameter of type Ack answers the server's acknowledgement request.
func ExampleSocket_On() {
	s, err := client.Connect("http://localhost:3000", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	type point struct{ X, Y int }
	s.On("move", func(p point, ack client.Ack) {
		_ = ack("moved to", p.X, p.Y)
	})
	s.On("upload", func(name string, data []byte) {
		log.Printf("%s: %d bytes", name, len(data))
	})
	s.OnAny(func(event string, args client.Args) {
		log.Println("event", event, args)
	})
	// Binary values travel as attachments.
	_ = s.Emit("upload", "photo.png", []byte{0x89, 'P', 'N', 'G'})
}
