package sandbox

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dmchat/dmchat/core/logging"
)

// subscriberQueue is how many records a subscriber may fall behind before
// it starts missing lines.
const subscriberQueue = 1024

// LogBuffer is a ring of the most recent log records of every instance
// (Fields include instanceId). Adding never blocks the logger: a subscriber
// too slow to keep up misses lines, which are counted (Missed). Safe for
// concurrent use.
type LogBuffer struct {
	onAdd  func() // called after each add, outside the lock; set before use
	missed atomic.Int64

	// mu guards the fields below; held only to read or write them, never
	// while sending to a subscriber or calling a predicate.
	mu      sync.Mutex
	ring    []logging.Record
	seqs    []int64 // seqs[i] is the 1-based add number of ring[i]
	next    int     // where the next record goes
	full    bool    // the ring has wrapped
	total   int64
	subs    map[*logSub]struct{}
	waiters map[*logWaiter]struct{}
}

type logSub struct {
	ch chan logging.Record
	// mu guards closed, so add never sends on a closed channel.
	mu     sync.Mutex
	closed bool
}

type logWaiter struct {
	pred func(logging.Record) bool
	ch   chan logging.Record // cap 1
	once sync.Once
}

// NewLogBuffer returns an empty buffer keeping the last capacity records
// (DefaultLogCapacity when capacity <= 0).
func NewLogBuffer(capacity int) *LogBuffer {
	if capacity <= 0 {
		capacity = DefaultLogCapacity
	}
	return &LogBuffer{
		ring:    make([]logging.Record, capacity),
		seqs:    make([]int64, capacity),
		subs:    map[*logSub]struct{}{},
		waiters: map[*logWaiter]struct{}{},
	}
}

// add appends r, then offers it to subscribers and waiters without
// blocking. It is the capture core's callback.
func (b *LogBuffer) add(r logging.Record) {
	b.mu.Lock()
	b.total++
	b.ring[b.next] = r
	b.seqs[b.next] = b.total
	b.next++
	if b.next == len(b.ring) {
		b.next, b.full = 0, true
	}
	var subs []*logSub
	for s := range b.subs {
		subs = append(subs, s)
	}
	var waiters []*logWaiter
	for w := range b.waiters {
		waiters = append(waiters, w)
	}
	b.mu.Unlock()

	for _, s := range subs {
		s.mu.Lock()
		if !s.closed {
			select {
			case s.ch <- r:
			default:
				b.missed.Add(1)
			}
		}
		s.mu.Unlock()
	}
	for _, w := range waiters {
		if w.pred(r) {
			w.deliver(r)
		}
	}
	if b.onAdd != nil {
		b.onAdd()
	}
}

func (w *logWaiter) deliver(r logging.Record) {
	w.once.Do(func() { w.ch <- r })
}

// snapshotLocked returns the ring's records oldest first. b.mu must be held.
func (b *LogBuffer) snapshotLocked() []logging.Record {
	return b.sinceLocked(0)
}

// sinceLocked returns the held records added after the first since ones,
// oldest first. b.mu must be held.
func (b *LogBuffer) sinceLocked(since int64) []logging.Record {
	var out []logging.Record
	if b.full {
		out = make([]logging.Record, 0, len(b.ring))
		for i := b.next; i < len(b.ring); i++ {
			if b.seqs[i] > since {
				out = append(out, b.ring[i])
			}
		}
	}
	for i := 0; i < b.next; i++ {
		if b.seqs[i] > since {
			out = append(out, b.ring[i])
		}
	}
	return out
}

// Snapshot returns the records held, oldest first.
func (b *LogBuffer) Snapshot() []logging.Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snapshotLocked()
}

// Len is the number of records held (at most the capacity).
func (b *LogBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full {
		return len(b.ring)
	}
	return b.next
}

// Total is the number of records ever added, those the ring has since
// overwritten included. It is the mark WaitSince takes.
func (b *LogBuffer) Total() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// Missed is the number of records subscribers missed because their queue
// was full.
func (b *LogBuffer) Missed() int64 { return b.missed.Load() }

// Subscribe returns a channel receiving every record added from now on,
// and a function ending the subscription (which closes the channel; it is
// idempotent). A subscriber more than 1024 records behind misses records;
// Missed counts them.
func (b *LogBuffer) Subscribe() (<-chan logging.Record, func()) {
	s := &logSub{ch: make(chan logging.Record, subscriberQueue)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			s.mu.Lock()
			s.closed = true
			close(s.ch)
			s.mu.Unlock()
		})
	}
}

// Wait returns the first record that pred matches: the oldest one held, or
// else the first one added later. It fails with ctx's error when ctx ends
// first. pred may be called from many goroutines at once (those that log),
// so it must be quick and safe for concurrent use.
func (b *LogBuffer) Wait(ctx context.Context, pred func(logging.Record) bool) (logging.Record, error) {
	return b.WaitSince(ctx, 0, pred)
}

// WaitSince is Wait ignoring the first since records ever added: with
// since = Total() taken before an action, it finds only what the action
// caused (a second bus_lost, not the first).
func (b *LogBuffer) WaitSince(ctx context.Context, since int64, pred func(logging.Record) bool) (logging.Record, error) {
	w := &logWaiter{pred: pred, ch: make(chan logging.Record, 1)}
	b.mu.Lock()
	held := b.sinceLocked(since)
	b.waiters[w] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiters, w)
		b.mu.Unlock()
	}()
	for _, r := range held {
		if pred(r) {
			return r, nil
		}
	}
	select {
	case r := <-w.ch:
		return r, nil
	case <-ctx.Done():
		return logging.Record{}, ctx.Err()
	}
}

// EventFrom is a Wait predicate: the event named event on logger (any
// logger when ""), logged by instance (any instance when "").
func EventFrom(instance, logger, event string) func(logging.Record) bool {
	return func(r logging.Record) bool {
		return r.Event == event && (logger == "" || r.Logger == logger) && (instance == "" || r.InstanceID == instance)
	}
}
