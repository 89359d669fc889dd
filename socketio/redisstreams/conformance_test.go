package redisstreams

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/adapter/adaptertest"
)

// TestConformance runs the adapter conformance suite on real Redis, with
// a stream of each test's own, without and with connection state
// recovery (which changes how broadcasts reach the local sockets).
func TestConformance(t *testing.T) {
	checkGoroutines(t)
	t.Run("plain", func(t *testing.T) {
		adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter {
			rdb := needRedis(t)
			return newTestAdapter(t, e, rdb, testOptions(t, rdb))
		})
	})
	t.Run("recovery", func(t *testing.T) {
		adaptertest.Run(t, func(t *testing.T, e adapter.Emitter) adapter.Adapter {
			rdb := needRedis(t)
			a := newTestAdapter(t, offsetStripper{e}, rdb, testOptions(t, rdb))
			if err := a.EnableRecovery(time.Minute); err != nil {
				t.Fatal(err)
			}
			return a
		})
	})
}

// offsetStripper is an Emitter that removes the offset the adapter adds
// to the packets it delivers with recovery on, so that the suite sees the
// payloads it broadcast.
type offsetStripper struct{ adapter.Emitter }

var offsetSuffix = regexp.MustCompile(`,"[0-9]+-[0-9]+"\]$`)

func (o offsetStripper) Deliver(pkt *adapter.Packet, ids []string, flags adapter.Flags) int {
	if loc := offsetSuffix.FindIndex(pkt.Data); loc != nil {
		cp := *pkt
		cp.Data = append(bytes.Clone(pkt.Data[:loc[0]]), ']')
		pkt = &cp
	}
	return o.Emitter.Deliver(pkt, ids, flags)
}
