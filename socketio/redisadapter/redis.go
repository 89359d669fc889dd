package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisPubSub is the PubSub of a Redis server (standalone, Sentinel-managed
// or a Cluster, with classic PUBLISH/SUBSCRIBE) through a go-redis client. Each subscription uses a connection of its
// own; go-redis re-establishes it, and its subscriptions, after the server
// or the network went away, and Subscription keeps asking it to.
type RedisPubSub struct {
	client redis.UniversalClient
	logger *slog.Logger
}

var _ PubSub = (*RedisPubSub)(nil)

// NewRedisPubSub returns the PubSub of client. logger receives connection
// losses and recoveries of subscriptions (nil discards them).
func NewRedisPubSub(client redis.UniversalClient, logger *slog.Logger) *RedisPubSub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RedisPubSub{client: client, logger: logger}
}

// Publish implements PubSub.
func (r *RedisPubSub) Publish(ctx context.Context, channel string, payload []byte) error {
	return r.client.Publish(ctx, channel, payload).Err()
}

// NumSub implements PubSub with PUBSUB NUMSUB; on a Redis Cluster it adds
// up the counts of the master nodes, as the reference adapter does.
func (r *RedisPubSub) NumSub(ctx context.Context, channel string) (int, error) {
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		var total atomic.Int64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := c.PubSubNumSub(ctx, channel).Result()
			total.Add(m[channel])
			return err
		})
		return int(total.Load()), err
	}
	m, err := r.client.PubSubNumSub(ctx, channel).Result()
	if err != nil {
		return 0, err
	}
	return int(m[channel]), nil
}

// Subscribe implements PubSub. It returns at once; the subscription is
// made (and made again after a connection loss) in the background.
func (r *RedisPubSub) Subscribe(channels, patterns []string, handle func(string, []byte)) Subscription {
	ctx, cancel := context.WithCancel(context.Background())
	s := &redisSub{
		ps:     r.client.Subscribe(ctx),
		logger: r.logger,
		handle: handle,
		want:   len(channels) + len(patterns),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	// Both calls record the subscriptions even when they cannot be sent
	// now; they are sent again on every new connection.
	if len(patterns) > 0 {
		_ = s.ps.PSubscribe(ctx, patterns...)
	}
	if len(channels) > 0 {
		_ = s.ps.Subscribe(ctx, channels...)
	}
	go s.run(ctx)
	return s
}

// Timing of a subscription's receive loop.
const (
	subscriptionPing   = 5 * time.Second        // ping after this much silence
	subscriptionRetry  = 100 * time.Millisecond // first pause after an error
	subscriptionMaxGap = 2 * time.Second        // longest pause between attempts
)

type redisSub struct {
	ps     *redis.PubSub
	logger *slog.Logger
	handle func(string, []byte)
	want   int

	ready     chan struct{}
	readyOnce sync.Once
	done      chan struct{}
	cancel    context.CancelFunc
	closed    atomic.Bool
	closeOnce sync.Once
}

func (s *redisSub) Ready() <-chan struct{} { return s.ready }

func (s *redisSub) run(ctx context.Context) {
	defer close(s.done)
	confirmed := 0
	failing := false
	pause := subscriptionRetry
	pinged := false
	for {
		var msg any
		var err error
		if pinged {
			// Waiting for the pong: a timeout now counts as a dead
			// connection, which go-redis replaces.
			rctx, cancel := context.WithTimeout(ctx, subscriptionPing)
			msg, err = s.ps.ReceiveTimeout(rctx, 0)
			cancel()
		} else {
			msg, err = s.ps.ReceiveTimeout(ctx, subscriptionPing)
		}
		if s.closed.Load() {
			return
		}
		if err != nil {
			var nerr net.Error
			if !pinged && errors.As(err, &nerr) && nerr.Timeout() {
				// Silence: check that the connection is alive.
				pinged = true
				_ = s.ps.Ping(ctx)
				continue
			}
			if !failing {
				s.logger.Warn("redisadapter: subscription connection lost", "err", err)
				failing = true
			}
			confirmed, pinged = 0, false
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(pause*2, subscriptionMaxGap)
			continue
		}
		pinged = false
		pause = subscriptionRetry
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" || m.Kind == "psubscribe" {
				confirmed++
				if confirmed >= s.want {
					if failing {
						s.logger.Info("redisadapter: subscription restored")
						failing = false
					}
					s.readyOnce.Do(func() { close(s.ready) })
				}
			}
		case *redis.Message:
			s.handle(m.Channel, []byte(m.Payload))
		}
	}
}

func (s *redisSub) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		err = s.ps.Close()
	})
	<-s.done
	return err
}
