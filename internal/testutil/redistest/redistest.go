// Package redistest connects tests to the Redis server of the machine
// (127.0.0.1:6379, or REDIS_ADDR): a test skips when it does not answer,
// and fails when the CI environment variable is set, where Redis must be
// there.
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the address of the test Redis server.
func Addr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Client returns a client of the test Redis server, closed when t ends;
// it skips t when Redis does not answer (fails it under CI).
func Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(), DialTimeout: time.Second, MaxRetries: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s: %v", Addr(), err)
		}
		t.Skipf("Redis at %s: %v", Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
