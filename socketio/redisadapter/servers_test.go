package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/socketiotest"
)

// TestTwoGoServers runs two socketio.Servers, with clients, on the
// in-process broker and on Redis.
func TestTwoGoServers(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		key := testKey()
		s1 := startGoServer(t, b.node(t), key)
		s2 := startGoServer(t, b.node(t), key)
		ctx := context.Background()
		waitServerCount(t, s1.ad, 2)

		c1 := socketiotest.Dial(t, s1.URL, nil)
		id1 := c1.Connect("/", map[string]any{"rooms": []string{"r"}, "data": map[string]any{"user": "one"}})
		c2 := socketiotest.Dial(t, s2.URL, nil)
		id2 := c2.Connect("/", map[string]any{"rooms": []string{"r"}, "data": map[string]any{"user": "two"}})
		c3 := socketiotest.Dial(t, s2.URL, nil)
		id3 := c3.Connect("/", nil)
		testutil.Eventually(t, 10*time.Second, "sockets in their rooms", func() bool {
			return s1.ad.RoomSize("r") == 1 && s2.ad.RoomSize("r") == 1 && s2.ad.RoomSize(id3) == 1
		})

		if err := s1.srv.To("r").Emit("hello", "w"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*socketiotest.Conn{c1, c2} {
			ev, _ := c.ExpectEvent("/", "hello")
			if len(ev.Args) != 1 || string(ev.Args[0]) != `"w"` {
				t.Fatalf("args %s", ev.Args)
			}
		}
		if err := s1.srv.Except("r").Emit("others"); err != nil {
			t.Fatal(err)
		}
		if _, skipped := c3.ExpectEvent("/", "others"); len(skipped) != 0 {
			t.Fatalf("c3 outside r received %+v", skipped)
		}

		socks, err := s2.srv.In("r").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]any{}
		for _, s := range socks {
			d, _ := s.Data().(map[string]any)
			users[s.ID()] = d["user"]
		}
		if len(users) != 2 || users[id1] != "one" || users[id2] != "two" {
			t.Fatalf("FetchSockets from s2: %v", users)
		}

		if err := s1.srv.In(id2).SocketsJoin(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "remote join", func() bool { return slices.Contains(s2.ad.SocketRooms(id2), "x") })
		if err := s1.srv.To("x").Emit("inX"); err != nil {
			t.Fatal(err)
		}
		c2.ExpectEvent("/", "inX")

		if err := s1.srv.In(id3).DisconnectSockets(ctx, true); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "remote disconnect", func() bool { return s2.srv.Sockets().Socket(id3) == nil })
		ids, err := s1.srv.Sockets().SocketIDs(ctx)
		if err != nil || !slices.Equal(sorted(ids), sorted([]string{id1, id2})) {
			t.Fatalf("SocketIDs after disconnect: %v, %v", ids, err)
		}
	})
}

// recordingPubSub records the channels and patterns subscribed through it.
type recordingPubSub struct {
	PubSub
	mu   sync.Mutex
	subs []string
}

func (r *recordingPubSub) Subscribe(channels, patterns []string, handle func(string, []byte)) Subscription {
	r.mu.Lock()
	r.subs = append(r.subs, channels...)
	r.subs = append(r.subs, patterns...)
	r.mu.Unlock()
	return r.PubSub.Subscribe(channels, patterns, handle)
}

func (r *recordingPubSub) subscribed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.subs)
}

// TestDynamicParentHasNoClusterAdapter checks that a dynamic parent
// namespace (OfRegexp, OfFunc) subscribes to nothing, as the reference's
// parent namespaces, whose adapter only broadcasts to their children: a
// parent is no namespace of the cluster, and every function parent would
// share one set of channels. Its children do get the cluster adapter.
func TestDynamicParentHasNoClusterAdapter(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		key := testKey()
		ps := &recordingPubSub{PubSub: b.node(t)}
		srv := socketio.NewServer(&socketio.Options{Adapter: New(ps, Options{Key: key})})
		re := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		fn1 := srv.OfFunc(func(name string, _ json.RawMessage) bool { return name == "/f1" })
		fn2 := srv.OfFunc(func(name string, _ json.RawMessage) bool { return name == "/f2" })
		hs := httptest.NewServer(srv)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
			hs.Close()
		})
		for _, p := range []*socketio.Namespace{re, fn1, fn2} {
			if _, ok := p.Adapter().(*Adapter); ok {
				t.Errorf("parent %s has a Redis adapter", p.Name())
			}
		}
		c := socketiotest.Dial(t, hs.URL+"/socket.io/", nil)
		c.Connect("/dyn-1", nil)
		c.Connect("/f2", nil)
		subs := ps.subscribed()
		for _, ch := range subs {
			if strings.Contains(ch, "regexp:") || strings.Contains(ch, "#func#") {
				t.Errorf("subscribed to %q", ch)
			}
		}
		for _, want := range []string{key + "#/#*", key + "#/dyn-1#*", key + "#/f2#*"} {
			if !slices.Contains(subs, want) {
				t.Errorf("no subscription to %q in %q", want, subs)
			}
		}
		// Emitting on a parent still reaches its children's sockets.
		if err := fn2.Emit("hello"); err != nil {
			t.Fatal(err)
		}
		c.Expect(`42/f2,["hello"]`)
	})
}

// Connection state recovery is refused with this adapter, at NewServer,
// with an error saying why; the adapter made for the main namespace is
// closed (no subscription or goroutine stays).
func TestRecoveryRefused(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker) {
		ps := &recordingPubSub{PubSub: b.node(t)}
		var got any
		func() {
			defer func() { got = recover() }()
			socketio.NewServer(&socketio.Options{
				Adapter:                 New(ps, Options{Key: testKey()}),
				ConnectionStateRecovery: &socketio.RecoveryOptions{},
			})
		}()
		err, ok := got.(error)
		if !ok {
			t.Fatalf("NewServer: recovered %v, want an error", got)
		}
		if !errors.Is(err, adapter.ErrRecoveryUnsupported) || !errors.Is(err, ErrRecoveryAcrossNodes) {
			t.Fatalf("error %v does not wrap ErrRecoveryAcrossNodes", err)
		}
		if !strings.Contains(err.Error(), "ConnectionStateRecovery") || !strings.Contains(err.Error(), "other nodes") {
			t.Fatalf("unclear error: %v", err)
		}
		if len(ps.subscribed()) == 0 {
			t.Fatal("no adapter was made: the test checks nothing")
		}
		// Without recovery the same factory works.
		srv := socketio.NewServer(&socketio.Options{Adapter: New(ps, Options{Key: testKey()})})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
}
