package redisadapter

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/adapter"
)

// askedKinds are the request types sent by ask, in the order RequestStats
// lists them.
var askedKinds = [...]int{reqSockets, reqAllRooms, reqRemoteFetch, reqServerSideEmit}

// requestStats counts the requests of one type: atomic additions once per
// request.
type requestStats struct {
	count, timeouts, errs atomic.Uint64
	nanos                 atomic.Int64
	buckets               [16]atomic.Uint64 // per bucket of adapter.RequestBuckets (not cumulative); the last: beyond them
}

// observeRequest counts a request of type kind that took d and ended with
// err.
func (a *Adapter) observeRequest(kind int, d time.Duration, err error) {
	if kind < 0 || kind >= len(a.stats) {
		return
	}
	st := &a.stats[kind]
	st.count.Add(1)
	switch {
	case errors.Is(err, ErrTimeout):
		st.timeouts.Add(1)
	case err != nil:
		st.errs.Add(1)
	}
	st.nanos.Add(int64(d))
	i := 0
	for i < len(adapter.RequestBuckets) && d > adapter.RequestBuckets[i] && i < len(st.buckets)-1 {
		i++
	}
	st.buckets[i].Add(1)
}

// RequestStats implements adapter.RequestReporter: the requests this
// adapter sent to the other nodes and waited on, by kind.
func (a *Adapter) RequestStats() []adapter.RequestStats {
	out := make([]adapter.RequestStats, 0, len(askedKinds))
	for _, kind := range askedKinds {
		st := &a.stats[kind]
		rs := adapter.RequestStats{
			Kind:     requestName(kind),
			Count:    st.count.Load(),
			Timeouts: st.timeouts.Load(),
			Errors:   st.errs.Load(),
			Total:    time.Duration(st.nanos.Load()),
			Buckets:  make([]uint64, len(adapter.RequestBuckets)),
		}
		var sum uint64
		for i := range rs.Buckets {
			sum += st.buckets[i].Load()
			rs.Buckets[i] = sum
		}
		out = append(out, rs)
	}
	return out
}
