package redisstreams_test

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/redisstreams"
)

// A server of a cluster on one Redis stream, with connection state
// recovery across the servers: a client that loses its connection may come
// back to any of them. (No output: it needs a Redis server.)
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close() // after the server

	srv := socketio.NewServer(&socketio.Options{
		Adapter: redisstreams.New(rdb, redisstreams.Options{
			StreamName: "socket.io", // the same on every server, Go or Node.js
			MaxLen:     10000,       // bounds what a resuming client can get back
		}),
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	defer srv.Close(context.Background())

	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("lobby")
		}
	})
	// Reaches the sockets of "lobby" on every server, with an offset.
	_ = srv.To("lobby").Emit("news", "hello")
}
