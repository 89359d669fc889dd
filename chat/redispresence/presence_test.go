package redispresence_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/presencetest"
	"github.com/chatd/chatd/chat/redispresence"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
)

var (
	chatRoom   = chat.RoomID{Namespace: "/user", Room: "chat"}
	randomRoom = chat.RoomID{Namespace: "/user", Room: "random"}
)

// Short liveness for the tests of node death.
const (
	testTTL      = time.Second
	testInterval = 200 * time.Millisecond
)

func TestConformance(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	presencetest.Run(t, func(t *testing.T) chat.Presence {
		return newNode(t, rdb, redispresence.Options{Prefix: newPrefix(t, rdb)})
	})
}

// Two nodes on one prefix count a user once; when one dies, the other
// removes its entries and hears which users left.
func TestNodeDies(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var expired recorder
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "a", TTL: testTTL, Interval: testInterval})
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "b", TTL: testTTL, Interval: testInterval, OnExpire: expired.record})

	mustAdd(t, a, chatRoom, "a1", "alice", true)
	mustAdd(t, b, chatRoom, "b1", "alice", false) // the same user on the other node
	mustAdd(t, a, chatRoom, "a2", "bob", true)
	mustAdd(t, a, chatRoom, "a3", "bob", false)
	mustAdd(t, a, randomRoom, "a4", "bob", true)
	mustAdd(t, b, chatRoom, "b2", "carol", true)
	for _, p := range []chat.Presence{a, b} {
		if st := stats(t, p, chatRoom); st != (chat.PresenceStats{Clients: 5, Users: 3}) {
			t.Fatalf("chat: %+v, want 5 clients, 3 users", st)
		}
		if got := names(t, p, chatRoom); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
			t.Fatalf("chat users: %v", got)
		}
	}

	killed := time.Now()
	a.Kill()
	testutil.Eventually(t, 10*time.Second, "OnExpire for both rooms of the dead node", func() bool { return len(expired.byRoom()) == 2 })
	elapsed := time.Since(killed)
	// a's last heartbeat was at most an Interval before it died, so its
	// entries cannot go before TTL-Interval, and go within TTL+Interval
	// (the next sweep) plus the time the sweep takes; a second of slack
	// covers a loaded machine's scheduling.
	if lo, hi := testTTL-testInterval, testTTL+2*testInterval+time.Second; elapsed < lo || elapsed > hi {
		t.Errorf("entries removed %v after the node died, want within [%v, %v]", elapsed, lo, hi)
	}
	want := map[chat.RoomID][]string{chatRoom: {"bob"}, randomRoom: {"bob"}}
	if got := expired.byRoom(); len(got) != 2 || !slices.Equal(got[chatRoom], want[chatRoom]) || !slices.Equal(got[randomRoom], want[randomRoom]) {
		t.Errorf("OnExpire: %v, want %v", got, want)
	}
	if n := expired.count(); n != 2 {
		t.Errorf("OnExpire called %d times, want once per room", n)
	}
	if st := stats(t, b, chatRoom); st != (chat.PresenceStats{Clients: 2, Users: 2}) {
		t.Errorf("chat after a died: %+v, want 2 clients, 2 users", st)
	}
	if got := names(t, b, chatRoom); !slices.Equal(got, []string{"alice", "carol"}) {
		t.Errorf("chat users after a died: %v", got)
	}
	if st := stats(t, b, randomRoom); st != (chat.PresenceStats{}) {
		t.Errorf("random after a died: %+v, want empty", st)
	}
	// Nothing of a is left.
	live, sweep := a.Keys()
	for _, k := range []string{live, sweep} {
		if _, err := rdb.ZScore(context.Background(), k, a.Incarnation()).Result(); !errors.Is(err, redis.Nil) {
			t.Errorf("%s still has %s: %v", k, a.Incarnation(), err)
		}
	}
	for _, k := range prefixKeys(t, rdb, prefix) {
		if strings.Contains(k, "}n:a-") || strings.Contains(k, "random") {
			t.Errorf("key %s is left", k)
		}
	}
}

// A node that was declared dead during a pause adds its entries again at
// its next heartbeat.
func TestPausedNodeComesBack(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var expired, restored recorder
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "a", TTL: testTTL, Interval: testInterval, OnRestore: restored.record})
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "b", TTL: testTTL, Interval: testInterval, OnExpire: expired.record})
	mustAdd(t, a, chatRoom, "a1", "alice", true)
	mustAdd(t, a, chatRoom, "a2", "bob", true)
	mustAdd(t, b, chatRoom, "b1", "bob", false)
	first := a.Incarnation()

	a.Kill() // a pause longer than TTL
	testutil.Eventually(t, 10*time.Second, "b to remove a's entries", func() bool { return len(expired.byRoom()) == 1 })
	if got := expired.byRoom()[chatRoom]; !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("OnExpire: %v, want [alice]", got)
	}
	if st := stats(t, b, chatRoom); st != (chat.PresenceStats{Clients: 1, Users: 1}) {
		t.Fatalf("after a was declared dead: %+v", st)
	}

	a.Resume()
	testutil.Eventually(t, 10*time.Second, "a to add its entries again", func() bool {
		return stats(t, b, chatRoom) == chat.PresenceStats{Clients: 3, Users: 2}
	})
	if a.Incarnation() == first {
		t.Errorf("a did not register a new incarnation")
	}
	testutil.Eventually(t, 10*time.Second, "OnRestore", func() bool { return len(restored.byRoom()) == 1 })
	if got := restored.byRoom()[chatRoom]; !slices.Equal(got, []string{"alice"}) {
		t.Errorf("OnRestore: %v, want [alice]", got)
	}
	if got := names(t, b, chatRoom); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("users: %v", got)
	}
	// a's sockets are a's again: Remove works and b keeps its own.
	if name, left, err := a.Remove(context.Background(), chatRoom, "a2"); err != nil || name != "bob" || left {
		t.Errorf("Remove(a2) = %q, %v, %v; want bob, false", name, left, err)
	}
	if st := stats(t, b, chatRoom); st != (chat.PresenceStats{Clients: 2, Users: 2}) {
		t.Errorf("after Remove: %+v", st)
	}
}

// When Redis loses the keys (a restart without persistence), every node
// adds its entries again at its next heartbeat.
func TestRedisLostKeys(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var restoredA, restoredB recorder
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "a", TTL: testTTL, Interval: testInterval, OnRestore: restoredA.record})
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "b", TTL: testTTL, Interval: testInterval, OnRestore: restoredB.record})
	mustAdd(t, a, chatRoom, "a1", "alice", true)
	mustAdd(t, a, randomRoom, "a2", "alice", true)
	mustAdd(t, b, chatRoom, "b1", "bob", true)
	mustAdd(t, b, chatRoom, "b2", "bob", false)
	before := prefixKeys(t, rdb, prefix)

	flush(t, rdb, prefix)
	if st := stats(t, a, chatRoom); st != (chat.PresenceStats{}) {
		t.Fatalf("after the flush: %+v", st)
	}
	testutil.Eventually(t, 10*time.Second, "both nodes to add their entries again", func() bool {
		return stats(t, a, chatRoom) == chat.PresenceStats{Clients: 3, Users: 2} &&
			stats(t, a, randomRoom) == chat.PresenceStats{Clients: 1, Users: 1}
	})
	testutil.Eventually(t, 10*time.Second, "OnRestore on both nodes", func() bool {
		return len(restoredA.byRoom()) == 2 && len(restoredB.byRoom()) == 1
	})
	if got := restoredB.byRoom()[chatRoom]; !slices.Equal(got, []string{"bob"}) {
		t.Errorf("b's OnRestore: %v", got)
	}
	if got, want := len(prefixKeys(t, rdb, prefix)), len(before); got != want {
		t.Errorf("%d keys after the restore, %d before", got, want)
	}
}

// An Add that Redis refuses because it lost the node registers the node
// again first, and reports the join correctly.
func TestAddAfterRedisLostKeys(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var restored recorder
	// The default interval (2.5 s) leaves the work to Add.
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, OnRestore: restored.record})
	mustAdd(t, a, chatRoom, "a1", "alice", true)
	mustAdd(t, a, chatRoom, "a2", "bob", true)
	first := a.Incarnation()
	flush(t, rdb, prefix)
	mustAdd(t, a, chatRoom, "a3", "carol", true)
	mustAdd(t, a, chatRoom, "a4", "alice", false)
	if a.Incarnation() == first {
		t.Errorf("no new incarnation")
	}
	if st := stats(t, a, chatRoom); st != (chat.PresenceStats{Clients: 4, Users: 3}) {
		t.Errorf("stats: %+v, want 4 clients, 3 users", st)
	}
	testutil.Eventually(t, 10*time.Second, "OnRestore", func() bool { return restored.count() == 1 })
	if got := restored.byRoom()[chatRoom]; !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("OnRestore: %v, want [alice bob]", got)
	}
}

// Updates that failed are applied at the next heartbeat, with the
// callbacks the rooms need.
func TestFailedUpdatesHeal(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var expired, restored recorder
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, TTL: testTTL, Interval: testInterval, OnExpire: expired.record, OnRestore: restored.record})
	mustAdd(t, a, chatRoom, "a1", "alice", true)
	mustAdd(t, a, chatRoom, "a2", "bob", true)

	failed, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := a.Add(failed, chatRoom, "a3", chat.UserRef{Name: "carol", Role: chat.RoleUser}); err == nil || !strings.HasPrefix(err.Error(), "redispresence: add") {
		t.Fatalf("Add with a cancelled context: %v", err)
	}
	if _, _, err := a.Remove(failed, chatRoom, "a1"); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Remove with a cancelled context: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "the failed updates to reach Redis", func() bool {
		return slices.Equal(names(t, a, chatRoom), []string{"bob", "carol"})
	})
	testutil.Eventually(t, 10*time.Second, "the callbacks", func() bool { return restored.count() == 1 && expired.count() == 1 })
	if got := restored.byRoom()[chatRoom]; !slices.Equal(got, []string{"carol"}) {
		t.Errorf("OnRestore: %v, want [carol]", got)
	}
	if got := expired.byRoom()[chatRoom]; !slices.Equal(got, []string{"alice"}) {
		t.Errorf("OnExpire: %v, want [alice]", got)
	}
	if st := stats(t, a, chatRoom); st != (chat.PresenceStats{Clients: 2, Users: 2}) {
		t.Errorf("stats: %+v", st)
	}
}

// Close removes the node's entries and leaves no key behind; after it
// the methods fail with ErrClosed.
func TestClose(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var expired recorder
	a, err := redispresence.New(rdb, redispresence.Options{Prefix: prefix, OnExpire: expired.record})
	if err != nil {
		t.Fatal(err)
	}
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix})
	mustAdd(t, a, chatRoom, "a1", "alice", true)
	mustAdd(t, a, chatRoom, "a2", "bob", true)
	mustAdd(t, a, randomRoom, "a3", "bob", true)
	mustAdd(t, b, chatRoom, "b1", "bob", false)

	if err := a.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := stats(t, b, chatRoom); st != (chat.PresenceStats{Clients: 1, Users: 1}) {
		t.Errorf("chat after Close: %+v", st)
	}
	if st := stats(t, b, randomRoom); st != (chat.PresenceStats{}) {
		t.Errorf("random after Close: %+v", st)
	}
	got := expired.byRoom()
	if len(got) != 2 || !slices.Equal(got[chatRoom], []string{"alice"}) || !slices.Equal(got[randomRoom], []string{"bob"}) {
		t.Errorf("OnExpire at Close: %v", got)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := a.Add(context.Background(), chatRoom, "a4", chat.UserRef{Name: "x"}); !errors.Is(err, redispresence.ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	if _, _, err := a.Remove(context.Background(), chatRoom, "a1"); !errors.Is(err, redispresence.ErrClosed) {
		t.Errorf("Remove after Close: %v", err)
	}

	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("Close b: %v", err)
	}
	if keys := prefixKeys(t, rdb, prefix); len(keys) != 0 {
		t.Errorf("keys left after both nodes closed: %v", keys)
	}
}

func TestOptions(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	for _, o := range []redispresence.Options{
		{Prefix: "a{b}"},
		{TTL: time.Second, Interval: time.Second},
		{TTL: time.Second, Interval: -time.Millisecond},
		{TTL: -time.Second},
	} {
		if p, err := redispresence.New(rdb, o); err == nil {
			_ = p.Close(context.Background())
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	p := newNode(t, rdb, redispresence.Options{Prefix: newPrefix(t, rdb)})
	if len(p.NodeID()) != 16 {
		t.Errorf("random NodeID %q", p.NodeID())
	}
}

// A node started while Redis is down works locally (its calls fail) and
// registers, with the sockets it holds, once Redis answers.
func TestStartWithRedisDown(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	px := newGate(t, redisAddr())
	c := redis.NewClient(&redis.Options{Addr: px.addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	a, err := redispresence.New(c, redispresence.Options{Prefix: prefix, TTL: testTTL, Interval: testInterval})
	if err != nil {
		t.Fatalf("New while Redis is down: %v", err)
	}
	defer a.Close(context.Background())
	ctx := context.Background()
	if _, _, err := a.Add(ctx, chatRoom, "s1", chat.UserRef{Name: "alice"}); err == nil {
		t.Fatal("Add succeeded while Redis is down")
	}
	px.open()
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix, TTL: testTTL, Interval: testInterval})
	testutil.Eventually(t, 10*time.Second, "the socket added while Redis was down to be counted", func() bool {
		st, err := b.Stats(ctx, chatRoom)
		return err == nil && st == chat.PresenceStats{Clients: 1, Users: 1}
	})
}

// Without Redis the methods return errors.
func TestRedisDown(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), MaxRetries: -1})
	p, err := redispresence.New(c, redispresence.Options{Prefix: newPrefix(t, rdb)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := p.Add(ctx, chatRoom, "s1", chat.UserRef{Name: "alice"}); err == nil || !strings.Contains(err.Error(), "redispresence: add") {
		t.Errorf("Add: %v", err)
	}
	if _, _, err := p.Remove(ctx, chatRoom, "s1"); err == nil {
		t.Errorf("Remove succeeded")
	}
	if _, err := p.Stats(ctx, chatRoom); err == nil {
		t.Errorf("Stats succeeded")
	}
	if _, _, err := p.Users(ctx, chatRoom, 10); err == nil {
		t.Errorf("Users succeeded")
	}
	// Close cannot remove the entries (they expire), but stops the
	// goroutine all the same.
	if err := p.Close(ctx); err == nil {
		t.Errorf("Close succeeded")
	}
}

// A dead node with more entries than one sweep call removes is swept in
// several calls, with one OnExpire per room.
func TestSweepInBatches(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var expired recorder
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "a", TTL: testTTL, Interval: testInterval})
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "b", TTL: testTTL, Interval: testInterval, OnExpire: expired.record})
	const n = 2500 // more than one sweep call removes
	rooms := []chat.RoomID{chatRoom, randomRoom, {Namespace: "/creator", Room: "chat"}}
	ctx := context.Background()
	for i := range n {
		room := rooms[i%len(rooms)]
		if _, _, err := a.Add(ctx, room, "s"+strconv.Itoa(i), chat.UserRef{Name: "u" + strconv.Itoa(i/2), Role: chat.RoleUser}); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t, b, chatRoom, "b1", "u0", false)
	a.Kill()
	testutil.Eventually(t, 10*time.Second, "every room's OnExpire", func() bool { return expired.count() == len(rooms) })
	got := expired.byRoom()
	total := 0
	for _, room := range rooms {
		total += len(got[room])
		if room != chatRoom {
			if st := stats(t, b, room); st != (chat.PresenceStats{}) {
				t.Errorf("%v after the sweep: %+v", room, st)
			}
		}
	}
	// Users u0..u1249 each had two sockets, in two rooms (i and i+1 of
	// a pair land in different rooms): 2*1250 leaves, but u0 stays in
	// chat through b.
	if total != n-1 {
		t.Errorf("%d users left in all, want %d", total, n-1)
	}
	if st := stats(t, b, chatRoom); st != (chat.PresenceStats{Clients: 1, Users: 1}) {
		t.Errorf("chat after the sweep: %+v", st)
	}
	// a is gone entirely, so nothing can be swept (or reported) again.
	_, sweep := a.Keys()
	if _, err := rdb.ZScore(ctx, sweep, a.Incarnation()).Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("a still in the sweep set: %v", err)
	}
	for _, k := range prefixKeys(t, rdb, prefix) {
		if strings.Contains(k, "}n:a-") {
			t.Errorf("key %s is left", k)
		}
	}
}

// A node whose sweeper stopped midway (its lease expired) is swept by
// another node.
func TestSweeperTakeover(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	var expired recorder
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "a", TTL: time.Hour, Interval: time.Hour / 4})
	mustAdd(t, a, chatRoom, "a1", "alice", true)
	a.Kill()
	live, sweep := a.Keys()
	ctx := context.Background()
	if err := rdb.ZRem(ctx, live, a.Incarnation()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ZAdd(ctx, sweep, redis.Z{Score: 0, Member: a.Incarnation()}).Err(); err != nil {
		t.Fatal(err)
	}
	b := newNode(t, rdb, redispresence.Options{Prefix: prefix, NodeID: "b", TTL: testTTL, Interval: testInterval, OnExpire: expired.record})
	testutil.Eventually(t, 10*time.Second, "b to sweep a", func() bool { return expired.count() == 1 })
	if got := expired.byRoom()[chatRoom]; !slices.Equal(got, []string{"alice"}) {
		t.Errorf("OnExpire: %v", got)
	}
	if st := stats(t, b, chatRoom); st != (chat.PresenceStats{}) {
		t.Errorf("after the sweep: %+v", st)
	}
	if n, err := rdb.ZCard(ctx, sweep).Result(); err != nil || n != 0 {
		t.Errorf("sweep set has %d, %v", n, err)
	}
}

// pipeCounter counts the pipelines and single commands a client sends,
// and the single commands by name.
type pipeCounter struct {
	mu     sync.Mutex
	pipes  int
	cmds   int
	byName map[string]int
}

func (c *pipeCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *pipeCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.cmds++
		if c.byName == nil {
			c.byName = make(map[string]int)
		}
		c.byName[cmd.Name()]++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *pipeCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		c.pipes++
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

// Concurrent Adds share round trips, and each gets its own answer.
func TestConcurrentAddsShareRoundTrips(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), PoolSize: 4})
	t.Cleanup(func() { _ = c.Close() }) // after the node's Close
	var count pipeCounter
	a := newNode(t, c, redispresence.Options{Prefix: prefix, TTL: time.Hour, Interval: time.Hour / 4})
	c.AddHook(&count)
	const n = 200
	var wg sync.WaitGroup
	var joins atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Two sockets per user: one of each pair joins the user.
			joined, st, err := a.Add(context.Background(), chatRoom, "s"+strconv.Itoa(i), chat.UserRef{Name: "u" + strconv.Itoa(i/2), Role: chat.RoleUser})
			if err != nil {
				errs <- err
				return
			}
			if joined {
				joins.Add(1)
			}
			if st.Clients < 1 || st.Clients > n || st.Users < 1 || st.Users > n/2 {
				errs <- fmt.Errorf("stats %+v", st)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if joins.Load() != n/2 {
		t.Fatalf("%d joins reported for %d users", joins.Load(), n/2)
	}
	if st := stats(t, a, chatRoom); st != (chat.PresenceStats{Clients: n, Users: n / 2}) {
		t.Fatalf("stats %+v", st)
	}
	count.mu.Lock()
	defer count.mu.Unlock()
	// A batch of Adds is one script call; the Stats above is one command
	// more.
	if rounds := count.pipes + count.cmds - 1; rounds >= n {
		t.Fatalf("%d Adds in %d pipelines and %d single commands: want fewer round trips than Adds", n, count.pipes, count.cmds)
	}
	t.Logf("%d Adds in %d round trips", n, count.pipes+count.cmds-1)
}

// New puts the scripts of joins and leaves in Redis' cache, and the Adds
// and Removes that follow run them by hash (no script text sent again).
func TestNewLoadsScripts(t *testing.T) {
	leakcheck.Check(t)
	rdb := needRedis(t)
	prefix := newPrefix(t, rdb)
	a := newNode(t, rdb, redispresence.Options{Prefix: prefix, TTL: time.Hour, Interval: time.Hour / 4})
	hashes := redispresence.ScriptHashes()
	for _, h := range hashes {
		if len(h) != 40 {
			t.Fatalf("script hash %q", h)
		}
	}
	exists, err := rdb.ScriptExists(context.Background(), hashes...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range exists {
		if !ok {
			t.Errorf("script %s not in Redis' cache after New", hashes[i])
		}
	}
	var count pipeCounter
	c := redis.NewClient(&redis.Options{Addr: redisAddr()})
	t.Cleanup(func() { _ = c.Close() })
	b := newNode(t, c, redispresence.Options{Prefix: prefix, TTL: time.Hour, Interval: time.Hour / 4})
	c.AddHook(&count)
	if _, _, err := b.Add(context.Background(), chatRoom, "s1", chat.UserRef{Name: "u1", Role: chat.RoleUser}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Remove(context.Background(), chatRoom, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Stats(context.Background(), chatRoom); err != nil {
		t.Fatal(err)
	}
	count.mu.Lock()
	defer count.mu.Unlock()
	if count.byName["eval"] > 0 || count.byName["evalsha"] < 2 {
		t.Fatalf("%d EVAL and %d EVALSHA for an Add and a Remove: want every script run by hash", count.byName["eval"], count.byName["evalsha"])
	}
}
