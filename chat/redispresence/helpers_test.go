package redispresence_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/redispresence"
	"github.com/chatd/chatd/internal/testutil/redistest"
)

// redisAddr is the Redis server the tests use.
func redisAddr() string { return redistest.Addr() }

// needRedis returns a client of the test Redis server, skipping the test
// when it does not answer (failing it under CI).
func needRedis(t testing.TB) *redis.Client { return redistest.Client(t) }

// newPrefix returns a key prefix of the test's own and deletes its keys
// when the test is over (after the nodes made with it are closed).
func newPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	p := "chatd-test-" + randomID()
	t.Cleanup(func() {
		ctx := context.Background()
		if keys := prefixKeys(t, rdb, p); len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("deleting the test's keys: %v", err)
			}
		}
	})
	return p
}

// prefixKeys returns every key of prefix.
func prefixKeys(t testing.TB, rdb *redis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	iter := rdb.Scan(context.Background(), 0, "{"+prefix+"}*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// flush deletes every key of prefix, as a Redis restart without
// persistence does.
func flush(t testing.TB, rdb *redis.Client, prefix string) {
	t.Helper()
	if keys := prefixKeys(t, rdb, prefix); len(keys) > 0 {
		if err := rdb.Del(context.Background(), keys...).Err(); err != nil {
			t.Fatalf("DEL: %v", err)
		}
	}
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNode returns a Presence closed when the test is over.
func newNode(t testing.TB, rdb redis.UniversalClient, opts redispresence.Options) *redispresence.Presence {
	t.Helper()
	p, err := redispresence.New(rdb, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// event is a call of OnExpire or OnRestore.
type event struct {
	room  chat.RoomID
	users []string
}

// recorder records the calls of a callback.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) record(room chat.RoomID, users []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{room, users})
}

// byRoom returns the users of every recorded call by room, merged.
func (r *recorder) byRoom() map[chat.RoomID][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[chat.RoomID][]string)
	for _, e := range r.events {
		m[e.room] = append(m[e.room], e.users...)
	}
	for room := range m {
		slices.Sort(m[room])
	}
	return m
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func stats(t testing.TB, p chat.Presence, room chat.RoomID) chat.PresenceStats {
	t.Helper()
	st, err := p.Stats(context.Background(), room)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func names(t testing.TB, p chat.Presence, room chat.RoomID) []string {
	t.Helper()
	users, total, err := p.Users(context.Background(), room, 1000)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if total != len(users) {
		t.Fatalf("Users: %d listed, total %d", len(users), total)
	}
	out := []string{}
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}

func mustAdd(t testing.TB, p chat.Presence, room chat.RoomID, sid, name string, wantJoined bool) {
	t.Helper()
	joined, _, err := p.Add(context.Background(), room, sid, chat.UserRef{Name: name, Role: chat.RoleUser})
	if err != nil {
		t.Fatalf("Add(%s, %s): %v", sid, name, err)
	}
	if joined != wantJoined {
		t.Fatalf("Add(%s, %s) joined = %v, want %v", sid, name, joined, wantJoined)
	}
}

// gate is a TCP proxy to a Redis server that refuses every connection
// (closes it at once) until open is called.
type gate struct {
	addr   string
	ln     net.Listener
	opened atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newGate(t testing.TB, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{addr: ln.Addr().String(), ln: ln}
	g.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !g.opened.Load() {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			g.mu.Lock()
			g.conns = append(g.conns, c, up)
			g.mu.Unlock()
			g.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			g.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		g.mu.Lock()
		for _, c := range g.conns {
			c.Close()
		}
		g.mu.Unlock()
		g.wg.Wait()
	})
	return g
}

func (g *gate) open() { g.opened.Store(true) }
