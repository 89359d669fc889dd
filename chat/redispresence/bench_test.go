package redispresence_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/redispresence"
)

// BenchmarkJoinLeave measures an Add and a Remove of a new user in a room
// that already has size members: the cost does not depend on size.
func BenchmarkJoinLeave(b *testing.B) {
	rdb := needRedis(b)
	for _, size := range []int{100, 10000} {
		b.Run("room="+strconv.Itoa(size), func(b *testing.B) {
			p := newNode(b, rdb, redispresence.Options{Prefix: newPrefix(b, rdb)})
			ctx := context.Background()
			for i := range size {
				if _, _, err := p.Add(ctx, chatRoom, "m"+strconv.Itoa(i), chat.UserRef{Name: "member" + strconv.Itoa(i), Role: chat.RoleUser}); err != nil {
					b.Fatal(err)
				}
			}
			u := chat.UserRef{Name: "newcomer", Role: chat.RoleUser}
			before := scriptUsec(b, rdb)
			for b.Loop() {
				if joined, _, err := p.Add(ctx, chatRoom, "s", u); err != nil || !joined {
					b.Fatalf("Add: %v, %v", joined, err)
				}
				if _, left, err := p.Remove(ctx, chatRoom, "s"); err != nil || !left {
					b.Fatalf("Remove: %v, %v", left, err)
				}
			}
			b.StopTimer()
			// The time Redis spends running the scripts, less noisy than
			// the round trips on a busy machine (other clients' scripts
			// count too, if there are any).
			b.ReportMetric(float64(scriptUsec(b, rdb)-before)/float64(b.N), "redis-µs/op")
			if st, err := p.Stats(ctx, chatRoom); err != nil || st.Users != size {
				b.Fatalf("Stats: %+v, %v", st, err)
			}
		})
	}
}

// BenchmarkPing is the round trip to the test Redis server, the unit of
// BenchmarkJoinLeave's cost (two round trips per operation).
func BenchmarkPing(b *testing.B) {
	rdb := needRedis(b)
	ctx := context.Background()
	for b.Loop() {
		if err := rdb.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// scriptUsec returns the microseconds Redis has spent in EVALSHA and EVAL
// calls, from INFO commandstats.
func scriptUsec(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for line := range strings.SplitSeq(info, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "cmdstat_evalsha:") && !strings.HasPrefix(line, "cmdstat_eval:") {
			continue
		}
		for field := range strings.SplitSeq(line[strings.IndexByte(line, ':')+1:], ",") {
			if v, ok := strings.CutPrefix(field, "usec="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				total += n
			}
		}
	}
	return total
}
