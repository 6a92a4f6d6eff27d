package bench

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes, with three
// significant digits.
const (
	histLowest  = 1
	histHighest = int64(5 * time.Minute / time.Microsecond)
	histSigFigs = 3
	histShards  = 16
)

// latency is an HDR histogram of durations, sharded so that many reader
// goroutines can record without contending: each records into the shard
// its connection index picks. Safe for concurrent use.
type latency struct {
	shards [histShards]latencyShard
}

type latencyShard struct {
	mu sync.Mutex // guards h
	h  *hdrhistogram.Histogram
	_  [40]byte // keep shards on separate cache lines
}

func newLatency() *latency {
	l := &latency{}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(histLowest, histHighest, histSigFigs)
	}
	return l
}

// Record adds d to the shard chosen by shard (any integer).
func (l *latency) Record(shard int, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histLowest {
		us = histLowest
	}
	if us > histHighest {
		us = histHighest
	}
	s := &l.shards[uint(shard)%histShards]
	s.mu.Lock()
	_ = s.h.RecordValue(us)
	s.mu.Unlock()
}

// Reset empties every shard.
func (l *latency) Reset() {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.h.Reset()
		s.mu.Unlock()
	}
}

// Merged returns one histogram of every shard.
func (l *latency) Merged() *hdrhistogram.Histogram {
	out := hdrhistogram.New(histLowest, histHighest, histSigFigs)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		out.Merge(s.h)
		s.mu.Unlock()
	}
	return out
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50Ms"`
	P99   float64 `json:"p99Ms"`
	P999  float64 `json:"p999Ms"`
	Max   float64 `json:"maxMs"`
}

// summarize reads the percentiles of h.
func summarize(h *hdrhistogram.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
}

// Summary reads the merged percentiles.
func (l *latency) Summary() Summary { return summarize(l.Merged()) }
