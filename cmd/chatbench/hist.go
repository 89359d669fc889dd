package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits is the number of bits of sub-bucket resolution of a histogram:
// each power of two is split into 1<<subBits buckets, so a recorded value
// is known to within 1/128 of itself.
const subBits = 7

const (
	subCount = 1 << subBits
	// numBuckets covers every non-negative int64: values below subCount
	// have a bucket each, and each of the 64-subBits higher powers of two
	// has subCount buckets.
	numBuckets = subCount + (64-subBits)*subCount
)

// histogram records durations in a log-linear histogram of atomic
// counters, safe for concurrent use without locks. Its percentiles are
// within 1/128 (0.8%) of the exact ones.
type histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

// bucketOf returns the bucket index of a non-negative value.
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - 1 // >= subBits
	shift := exp - subBits
	sub := int(uint64(v)>>shift) & (subCount - 1)
	return (shift+1)*subCount + sub
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	sub := int64(i % subCount)
	low := (subCount + sub) << shift
	high := low + (int64(1) << shift) - 1
	if high < low { // overflow in the last bucket
		return math.MaxInt64
	}
	return high
}

// Record adds one duration; negative durations count as zero.
func (h *histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of recorded values.
func (h *histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest recorded value.
func (h *histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Percentile returns the value below or at which a fraction p (0 < p <= 1)
// of the recorded values lie, rounded up to the top of its bucket but never
// above the largest recorded value; 0 when nothing was recorded.
func (h *histogram) Percentile(p float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := bucketHigh(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return h.Max()
}
