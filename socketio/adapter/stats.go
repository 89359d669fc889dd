package adapter

import "time"

// RoomCounter is implemented by adapters that can count the rooms of this
// node's sockets (Memory, and the adapters that embed it): the metrics of
// package socketio/metrics read it at scrape time.
type RoomCounter interface {
	// RoomCount returns the number of rooms with at least one local
	// socket, not counting the room named after each socket's id.
	RoomCount() int
}

// RequestBuckets are the upper bounds of the latency buckets of
// RequestStats, in increasing order.
var RequestBuckets = []time.Duration{
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// RequestStats counts the requests of one kind that an adapter sent to
// the other nodes of a cluster and waited on (fetchSockets, allRooms, ...).
type RequestStats struct {
	// Kind names the request ("sockets", "allRooms", "fetchSockets",
	// "serverSideEmit").
	Kind string
	// Count is the number of requests that ended, with or without error.
	Count uint64
	// Timeouts counts the requests that ended at the adapter's request
	// timeout before every node answered; Errors those that failed
	// otherwise (not published, ctx done, adapter closed).
	Timeouts, Errors uint64
	// Total is the sum of the requests' durations.
	Total time.Duration
	// Buckets[i] counts the requests that took at most RequestBuckets[i]
	// (cumulative; the requests beyond the last bound are Count minus the
	// last bucket).
	Buckets []uint64
}

// RequestReporter is implemented by adapters that send requests to other
// nodes (redisadapter.Adapter).
type RequestReporter interface {
	// RequestStats returns the counts of each kind of request.
	RequestStats() []RequestStats
}
