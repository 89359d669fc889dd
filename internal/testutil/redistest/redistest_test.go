package redistest

import (
	"context"
	"testing"
)

func TestAddrAndClient(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	if Addr() != "127.0.0.1:6379" {
		t.Fatalf("default address %q", Addr())
	}
	c := Client(t)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the client Client returned does not answer: %v", err)
	}
	t.Setenv("REDIS_ADDR", "127.0.0.1:1")
	if Addr() != "127.0.0.1:1" {
		t.Fatalf("REDIS_ADDR not used: %q", Addr())
	}
}
