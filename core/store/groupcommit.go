package store

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// defaultMaxBatch is the most writes one group commit takes when
// Options.MaxBatch is zero.
const defaultMaxBatch = 512

// lingerMax is how long the writer waits for the callers it just woke to
// come back, when the batch it has is less than half the last one.
//
// Why: under load every caller of a batch is woken at once and most of them
// submit again within a few hundred microseconds (a socket's next frame).
// Taking only what is queued at that instant gives a tiny batch that pays a
// whole commit and fsync, then a big one, and so on. Waiting briefly for the
// callers of the last batch makes every commit carry them all: measured with
// "sandbox bench --workload pairs" on 2 cores, SQLite synchronous=FULL, the
// send→delivered p99 at 7,500 DMs/s fell from ~100 ms to ~35 ms and the
// highest sustained rate rose from ~7,500 to ~10,000 DMs/s. At low load the
// condition is rarely true, and the wait never exceeds lingerMax.
const lingerMax = 500 * time.Microsecond

// deliverLingerMax is how long a batch made only of MarkDelivered calls
// waits for another kind of write to share its commit.
//
// Why: a delivery needs no ack of its own; its caller only has to hear of
// it before MESSAGE_STATE goes out, and MarkDelivered still returns after
// the commit, so the state is never sent for a delivery that is not
// durable. At moderate load each send and each delivery ack otherwise pay
// a commit and an fsync of their own; waiting this long lets the next
// send's commit carry the deliveries. It adds at most this much to the
// send→MESSAGE_STATE time, and nothing to send→ack or send→delivered.
const deliverLingerMax = time.Millisecond

// commitIntervalMin is the least time from the start of one commit to the
// start of the next: a write that comes sooner waits, gathering what else
// arrives, until the interval has passed or the batch is full.
//
// Why: on the machines measured (a VM's virtio disk) a commit has a fixed
// cost of ~160 µs of CPU, about half of it the fsync, against ~22 µs per
// DM, so at moderate load the commit, not the message, is what the server
// spends its CPU on. Group commit alone gives batches as large as the load
// makes during one commit (~8 DMs at 10,000 DMs/s). Measured with "sandbox
// bench --workload pairs --pairs 100 --rates 10000" on 2 cores, SQLite
// synchronous=FULL (docs/PERFORMANCE.md, section 10): 1 ms gives ~27 writes
// per commit instead of ~16 and 77–79 µs of server CPU per DM instead of
// 89–90; the median send→delivered time rises from 1.2 to 2.6 ms, and the
// p99 stays under 10 ms. Longer intervals saved less and cost more. The
// same idea as PostgreSQL's commit_delay, and like it, it costs nothing
// when writes are rare: a write that comes more than the interval after
// the last commit started is committed at once.
const commitIntervalMin = time.Millisecond

// writeOp is the kind of a queued write.
type writeOp uint8

const (
	opSave    writeOp = iota + 1 // SaveMessage
	opDeliver                    // MarkDelivered
	opFunc                       // any other write, as a function (SQLite)
)

// writeReq is one SaveMessage or MarkDelivered waiting for a group commit.
// The caller fills the inputs and enqueues it; the writer fills the outputs
// and then signals done, after which only the caller touches it again.
// Requests are pooled, so their done channels are reused.
type writeReq struct {
	op writeOp
	// Inputs: msg for opSave; id and recipientID for opDeliver; fn for
	// opFunc, run on the writer's connection inside the batch transaction.
	msg         NewMessage
	id          int64
	recipientID string
	fn          func(ctx context.Context, c *sql.Conn) error

	// Outputs. changed is "created" for opSave.
	out     chat.Message
	changed bool
	err     error

	done chan struct{} // capacity 1: the writer never blocks on it
}

// reset clears a request for reuse, keeping its channel.
func (r *writeReq) reset() {
	done := r.done
	*r = writeReq{done: done}
}

// batchFunc commits one batch in one transaction and sets out, changed and
// err on every request. A request whose own statement fails gets its own
// err; the others in the batch are unaffected.
type batchFunc func(batch []*writeReq)

// committer is the group-commit writer shared by the SQL backends: callers
// submit requests on a channel, one goroutine takes whatever is queued (up
// to maxBatch), hands the batch to run, which commits it in one transaction,
// and then wakes every caller. Durability costs one commit per batch, not
// per write.
//
// Callers must be admitted by the store's gate around submit; the store
// shuts its gate before calling stop, so no submit races with the close of
// the queue.
type committer struct {
	queue    chan *writeReq
	run      batchFunc
	maxBatch int
	timings  commitTimings
	// after, if not nil, runs on the writer goroutine after each batch's
	// callers have been answered, with the batch's size: work of the
	// backend's that must not delay them (SQLite's checkpoint tail).
	after func(n int)
	// onQueued and onTaken, if set (tests), are called for each request
	// submit puts in the queue and each one the writer takes from it, so
	// a test can wait for either instead of polling the queue. Set them
	// before the first request they should see is queued.
	onQueued, onTaken func()
	stopped           chan struct{}
	pool              sync.Pool // of *writeReq
}

// commitTimings are the writer's waits; zero turns one off.
type commitTimings struct {
	linger        time.Duration // see lingerMax
	deliverLinger time.Duration // see deliverLingerMax
	interval      time.Duration // see commitIntervalMin
}

// defaultTimings are the production ones.
var defaultTimings = commitTimings{linger: lingerMax, deliverLinger: deliverLingerMax, interval: commitIntervalMin}

// newCommitter starts the writer goroutine; stop ends it.
func newCommitter(maxBatch int, run batchFunc) *committer {
	return newCommitterTimed(maxBatch, defaultTimings, run, nil)
}

// newCommitterAfter is newCommitter with committer.after set.
func newCommitterAfter(maxBatch int, run batchFunc, after func(n int)) *committer {
	return newCommitterTimed(maxBatch, defaultTimings, run, after)
}

// newCommitterLinger is newCommitter with the linger given and no commit
// interval (tests of the linger alone).
func newCommitterLinger(maxBatch int, linger time.Duration, run batchFunc) *committer {
	return newCommitterTimed(maxBatch, commitTimings{linger: linger, deliverLinger: deliverLingerMax}, run, nil)
}

// newCommitterLingers is newCommitter with both lingers given and no commit
// interval (tests of the lingers alone).
func newCommitterLingers(maxBatch int, linger, deliverLinger time.Duration, run batchFunc) *committer {
	return newCommitterTimed(maxBatch, commitTimings{linger: linger, deliverLinger: deliverLinger}, run, nil)
}

// newCommitterTimed is newCommitter with every wait given.
func newCommitterTimed(maxBatch int, timings commitTimings, run batchFunc, after func(n int)) *committer {
	if maxBatch <= 0 {
		maxBatch = defaultMaxBatch
	}
	c := &committer{
		queue:    make(chan *writeReq, maxBatch),
		run:      run,
		maxBatch: maxBatch,
		timings:  timings,
		after:    after,
		stopped:  make(chan struct{}),
	}
	c.pool.New = func() any { return &writeReq{done: make(chan struct{}, 1)} }
	go c.loop()
	return c
}

// get returns a cleared request from the pool.
func (c *committer) get() *writeReq { return c.pool.Get().(*writeReq) }

// put returns a finished request to the pool.
func (c *committer) put(r *writeReq) {
	r.reset()
	c.pool.Put(r)
}

// submit enqueues r and waits for its commit. It gives up with ctx's error
// only while waiting for room in the queue; once r is queued it waits for
// the result, because the write will happen and its outcome (above all,
// whether this call marked a message DELIVERED) must reach the caller.
func (c *committer) submit(ctx context.Context, r *writeReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c.queue <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.onQueued != nil {
		c.onQueued()
	}
	<-r.done
	return nil
}

// loop is the writer goroutine. It exits when the queue is closed and
// drained.
func (c *committer) loop() {
	defer close(c.stopped)
	batch := make([]*writeReq, 0, c.maxBatch)
	prev := 0
	var lastStart time.Time
	for {
		r, ok := <-c.queue
		if !ok {
			return
		}
		batch = batch[:0]
		c.add(&batch, r)
		open := c.takeQueued(&batch)
		// Interval: see commitIntervalMin. While it runs the batch gathers
		// everything, so the linger below has nothing left to wait for.
		paced := false
		if wait := time.Until(lastStart.Add(c.timings.interval)); open && wait > 0 && c.timings.interval > 0 {
			paced = true
			open = c.gather(&batch, wait, nil)
		}
		// Linger: see lingerMax.
		if !paced && open && len(batch) < prev/2 {
			want := prev
			open = c.gather(&batch, c.timings.linger, func(*writeReq) bool { return len(batch) >= want })
		}
		// See deliverLingerMax.
		if open && onlyDeliveries(batch) {
			open = c.gather(&batch, c.timings.deliverLinger, func(r *writeReq) bool { return r.op != opDeliver })
		}
		prev = len(batch)
		lastStart = time.Now()
		c.run(batch)
		for i, r := range batch {
			r.done <- struct{}{}
			batch[i] = nil
		}
		if c.after != nil {
			c.after(prev)
		}
		if !open {
			return
		}
	}
}

// takeQueued adds what is queued now to batch, up to maxBatch, without
// waiting. It returns false if the queue was closed.
func (c *committer) takeQueued(batch *[]*writeReq) bool {
	for len(*batch) < c.maxBatch {
		select {
		case r, ok := <-c.queue:
			if !ok {
				return false
			}
			c.add(batch, r)
		default:
			return true
		}
	}
	return true
}

// gather adds what arrives to batch until the batch is full, d passes, or
// done (if not nil) says the request just added completes it. It returns
// false if the queue was closed meanwhile.
func (c *committer) gather(batch *[]*writeReq, d time.Duration, done func(added *writeReq) bool) bool {
	if len(*batch) >= c.maxBatch || d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for len(*batch) < c.maxBatch {
		select {
		case r, ok := <-c.queue:
			if !ok {
				return false
			}
			c.add(batch, r)
			if done != nil && done(r) {
				return true
			}
		case <-t.C:
			return true
		}
	}
	return true
}

// add appends r, just taken from the queue, to batch.
func (c *committer) add(batch *[]*writeReq, r *writeReq) {
	*batch = append(*batch, r)
	if c.onTaken != nil {
		c.onTaken()
	}
}

// onlyDeliveries reports whether every request of batch is a
// MarkDelivered.
func onlyDeliveries(batch []*writeReq) bool {
	for _, r := range batch {
		if r.op != opDeliver {
			return false
		}
	}
	return true
}

// stop closes the queue, lets the writer commit what is left, and waits for
// it to exit. No submit may be running or start after stop is called.
func (c *committer) stop() {
	close(c.queue)
	<-c.stopped
}
