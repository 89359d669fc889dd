package redisstreams

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

// killReader kills the connection of the stream reader among the
// connections of the Redis clients named name (CLIENT KILL ID) while it is
// blocked in XREAD (flag b: killed between two reads, the connection would
// be replaced by the client's pool unseen), and returns once it did.
func killReader(t *testing.T, admin *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	testutil.Eventually(t, 10*time.Second, "reader connection killed", func() bool {
		list, err := admin.ClientList(ctx).Result()
		if err != nil {
			return false
		}
		for _, line := range strings.Split(list, "\n") {
			f := map[string]string{}
			for _, kv := range strings.Fields(line) {
				k, v, _ := strings.Cut(kv, "=")
				f[k] = v
			}
			if f["name"] != name || f["cmd"] != "xread" || !strings.Contains(f["flags"], "b") {
				continue
			}
			id, err := strconv.ParseInt(f["id"], 10, 64)
			if err != nil {
				continue
			}
			n, err := admin.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Result()
			return err == nil && n == 1
		}
		return false
	})
}

// TestReaderResumes kills the connection of a node's stream reader again
// and again while another node broadcasts: the reader resumes from the
// last entry it handled, and every packet arrives once, in order. With
// the client's retries off, the reader sees each loss itself; with them
// (the go-redis default) the client sends the same XREAD again.
func TestReaderResumes(t *testing.T) {
	checkGoroutines(t)
	t.Run("no retries", func(t *testing.T) { testReaderResumes(t, -1) })
	t.Run("client retries", func(t *testing.T) { testReaderResumes(t, 0) })
}

func testReaderResumes(t *testing.T, maxRetries int) {
	admin := needRedis(t)
	opts := testOptions(t, admin)
	logs := &lockedBuffer{}
	optsB := opts
	optsB.Logger = slog.New(slog.NewTextHandler(logs, nil))
	name := "chatd-test-reader-" + newID()
	rdbB := redis.NewClient(&redis.Options{Addr: redistest.Addr(), ClientName: name, MaxRetries: maxRetries})
	defer rdbB.Close()
	rdbA := redis.NewClient(&redis.Options{Addr: redistest.Addr()})
	defer rdbA.Close()

	ea, eb := adaptertest.NewEmitter("/"), adaptertest.NewEmitter("/")
	a := newTestAdapter(t, ea, rdbA, opts)
	b := newTestAdapter(t, eb, rdbB, optsB)
	addSocket(eb, b, "b1", nil, "r")
	ctx := context.Background()

	const rounds, perRound = 5, 8
	var want []string
	send := func(n int) {
		for range n {
			msg := fmt.Sprintf(`["m",%d]`, len(want))
			want = append(want, msg)
			if err := a.Broadcast(ctx, event("/", msg), adapter.BroadcastOptions{Rooms: []string{"r"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range rounds {
		send(perRound / 2)
		killReader(t, admin, name)
		// Sent while the reader is down or reconnecting.
		send(perRound / 2)
	}
	testutil.Eventually(t, 20*time.Second, "every packet delivered", func() bool { return len(eb.Delivered("b1")) >= len(want) })
	got := eb.Delivered("b1")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("delivered\n %v\nwant\n %v", got, want)
	}
	if maxRetries < 0 && !strings.Contains(logs.String(), "reading the stream again") {
		t.Fatalf("the reader did not report a lost connection; its log:\n%s", logs.String())
	}
	// Nothing comes twice later either.
	if err := a.Broadcast(ctx, event("/", `["last"]`), adapter.BroadcastOptions{Rooms: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "last packet", func() bool { return len(eb.Delivered("b1")) > len(want) })
	if got := eb.Delivered("b1"); len(got) != len(want)+1 || got[len(want)] != `["last"]` {
		t.Fatalf("after the outages: %v", got[len(want):])
	}
}

// TestRedisUnreachable checks that local delivery does not depend on
// Redis: with Redis unreachable from the start, broadcasts reach the local
// sockets (without offset, with recovery on) and cross-node requests
// return the local part with an error.
func TestRedisUnreachable(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	defer rdb.Close()
	for _, withRecovery := range []bool{false, true} {
		e := adaptertest.NewEmitter("/")
		a := NewAdapter(e, rdb, Options{StreamName: "unreachable", BlockTime: 100 * time.Millisecond, RequestsTimeout: 300 * time.Millisecond})
		if withRecovery {
			_ = a.EnableRecovery(time.Minute)
		}
		addSocket(e, a, "s1", nil, "r")
		ctx := context.Background()
		for i := range 3 {
			msg := `["m",` + strconv.Itoa(i) + `]`
			if err := a.Broadcast(ctx, event("/", msg), adapter.BroadcastOptions{Rooms: []string{"r"}}); err != nil {
				t.Fatal(err)
			}
			if got := e.Delivered("s1"); len(got) != i+1 || got[i] != msg {
				t.Fatalf("recovery %v: delivered %v", withRecovery, got)
			}
		}
		infos, err := a.FetchSockets(ctx, adapter.BroadcastOptions{})
		if err == nil || len(infos) != 1 {
			t.Fatalf("FetchSockets: %d sockets, %v", len(infos), err)
		}
		_ = a.Close()
	}
}
