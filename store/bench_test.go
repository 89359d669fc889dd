package store_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// BenchmarkAppendMessage measures a durable append: serial (one caller at
// a time, the latency of a lone message) and parallel (many callers at
// once, SetParallelism(64) goroutines per CPU of -cpu).
func BenchmarkAppendMessage(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := mustOpenPath(b, be.NewDSN(b))
			u := mustCreateUser(b, db, "bench", chat.RoleUser)
			msg := chat.Message{Namespace: "/user", Room: "chat", UserID: u.ID, Username: u.Name, Text: "hello, world"}
			ctx := context.Background()
			b.Run("serial", func(b *testing.B) {
				defer reportCommits(b, db)()
				for b.Loop() {
					if _, err := db.AppendMessage(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				defer reportCommits(b, db)()
				var failed atomic.Value
				b.SetParallelism(64)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := db.AppendMessage(ctx, msg); err != nil {
							failed.CompareAndSwap(nil, err)
						}
					}
				})
				if err := failed.Load(); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// reportCommits reports the message commits per append of b once the
// returned function is called.
func reportCommits(b *testing.B, db *store.DB) func() {
	start := db.MessageCommits()
	return func() {
		b.ReportMetric(float64(db.MessageCommits()-start)/float64(b.N), "commits/op")
	}
}

// BenchmarkLastMessages reads the last 50 messages of a room of 100 and of
// one of 10,000 messages: with the (room_id, id) index the cost does not
// depend on the size of the room.
func BenchmarkLastMessages(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := mustOpenPath(b, be.NewDSN(b))
			u := mustCreateUser(b, db, "bench", chat.RoleUser)
			ctx := context.Background()
			for _, room := range []struct {
				title string
				n     int
			}{{"random", 100}, {"chat", 10000}} {
				if err := db.InsertMessages(ctx, "/user", room.title, u.ID, room.n); err != nil {
					b.Fatal(err)
				}
			}
			for _, room := range []struct{ name, title string }{{"room=100", "random"}, {"room=10000", "chat"}} {
				b.Run(room.name, func(b *testing.B) {
					for b.Loop() {
						msgs, err := db.LastMessages(ctx, "/user", room.title, 50)
						if err != nil || len(msgs) != 50 {
							b.Fatalf("got %d messages, %v", len(msgs), err)
						}
					}
				})
			}
		})
	}
}
