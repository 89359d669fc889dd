package redispresence_test

import (
	"context"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/redispresence"
)

// A node's presence on a shared Redis server: users are counted once
// across the nodes, and when a node dies the others hear which users left.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	p, err := redispresence.New(rdb, redispresence.Options{
		Prefix: "chatd",
		OnExpire: func(room chat.RoomID, left []string) {
			// A node died: tell the room its new member count.
			log.Printf("%s %s: %v left", room.Namespace, room.Room, left)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	room := chat.RoomID{Namespace: "/user", Room: "chat"}
	joined, _, err := p.Add(ctx, room, "socket-1", chat.UserRef{Name: "alice", Role: chat.RoleUser})
	if err != nil {
		log.Print(err) // Redis is down: the count is off until it is back
	}
	st, _ := p.Stats(ctx, room)
	users, total, _ := p.Users(ctx, room, 50)
	fmt.Println(joined, st.Users, users, total)
}
