package redisadapter_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/redisadapter"
)

// Two servers in one process share rooms and broadcasts through a
// MemoryBroker, as servers in several processes do through Redis with
// redisadapter.NewRedis.
func Example() {
	broker := redisadapter.NewMemoryBroker()
	a := socketio.NewServer(&socketio.Options{Adapter: redisadapter.New(broker, redisadapter.Options{})})
	a.Sockets().OnServerSideEmit(func(event string, args []json.RawMessage, ack func(any)) {
		if ack != nil {
			ack("pong from " + a.Sockets().Name())
		}
	})
	b := socketio.NewServer(&socketio.Options{Adapter: redisadapter.New(broker, redisadapter.Options{})})
	ctx := context.Background()
	defer a.Close(ctx)
	defer b.Close(ctx)

	n, err := b.Sockets().Adapter().ServerCount(ctx)
	fmt.Println(n, err)

	// The adapter's methods beyond adapter.Adapter.
	ad := b.Sockets().Adapter().(*redisadapter.Adapter)
	answers, err := ad.ServerSideEmitWithAck(ctx, "ping")
	fmt.Printf("%s %v\n", answers, err)

	// The same through the namespace.
	answers, err = b.Sockets().ServerSideEmitWithAck(ctx, "ping")
	fmt.Printf("%s %v\n", answers, err)
	// Output:
	// 2 <nil>
	// ["pong from /"] <nil>
	// ["pong from /"] <nil>
}
