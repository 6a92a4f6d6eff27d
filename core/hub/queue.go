package hub

import (
	"context"
	"sync"
	"sync/atomic"
)

// queue is a socket's outbound frames. It grows on demand instead of
// preallocating, so an idle socket costs a few words; it is bounded in bytes,
// and the owner treats overflow as a slow consumer.
//
// bytes counts the frames queued and those taken by the writer but not yet
// written (written gives them back), so the bound covers everything the
// socket holds, not just what waits. Every change of bytes is mirrored in
// the hub-wide total, which the global outbound budget bounds.
//
// writing says a writer goroutine owns the queue's output: the push that
// sets it must start one, and take clears it when it finds nothing left,
// both under mu, so exactly one writer runs while frames are queued.
//
// Lock rule: mu guards every field but drained (signalled after mu is
// released) and total (atomic, shared by the hub's queues).
type queue struct {
	mu      sync.Mutex
	frames  [][]byte
	bytes   int
	closed  bool
	writing bool
	// finish, once set, is the close the writer performs after writing
	// what is queued; nothing more is accepted.
	finish *closeRequest

	drained chan struct{} // cap 1: the writer took or wrote a batch
	total   *atomic.Int64 // the hub's queued bytes, this queue's included
}

func newQueue(total *atomic.Int64) *queue {
	return &queue{drained: make(chan struct{}, 1), total: total}
}

type closeRequest struct {
	code   int
	reason string
}

type pushResult int

const (
	pushed pushResult = iota
	pushFull
	pushClosed
)

// limits are the bounds a push must stay within: maxBytes for this queue
// (a lone frame may pass it, so one large frame always fits an empty
// queue) and budget for the hub's total.
type limits struct {
	maxBytes int
	budget   int64
}

// push appends frames unless the queue is closing or that would pass a
// limit. start reports that the caller must start the writer.
func (q *queue) push(l limits, frames ...[]byte) (res pushResult, start bool) {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.finish != nil {
		return pushClosed, false
	}
	if q.bytes > 0 && q.bytes+n > l.maxBytes {
		return pushFull, false
	}
	if q.total.Add(int64(n)) > l.budget {
		q.total.Add(-int64(n))
		return pushFull, false
	}
	q.frames = append(q.frames, frames...)
	q.bytes += n
	return pushed, q.claimWriter()
}

// pushFinal queues a last frame and the close that follows it, whatever
// the limits: it is small and ends the socket. It reports false if the
// queue is closed. When a last frame is queued already (a user banned
// twice at once: the bus's kick and a catch-up's), that one stands and
// this one is dropped with ok true: closing now would cut off the frame
// still waiting. start as for push.
func (q *queue) pushFinal(frame []byte, req closeRequest) (ok, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false, false
	}
	if q.finish != nil {
		return true, false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	q.total.Add(int64(len(frame)))
	q.finish = &req
	return true, q.claimWriter()
}

// claimWriter marks the writer as running and reports whether it was not.
// q.mu must be held.
func (q *queue) claimWriter() bool {
	if q.writing {
		return false
	}
	q.writing = true
	return true
}

// take removes and returns everything queued, reusing buf for the result,
// its size in bytes (to hand back to written once it left), and the close
// to perform after writing it, if any. ok is false when there is nothing
// to do, or the queue is closed: the writer must then exit, and is marked
// as stopped.
func (q *queue) take(buf [][]byte) (_ [][]byte, size int, fin *closeRequest, ok bool) {
	q.mu.Lock()
	if q.closed || (len(q.frames) == 0 && q.finish == nil) {
		q.writing = false
		q.mu.Unlock()
		return buf[:0], 0, nil, false
	}
	fin = q.finish
	buf = append(buf[:0], q.frames...)
	for _, f := range q.frames {
		size += len(f)
	}
	clear(q.frames)
	q.frames = q.frames[:0]
	if cap(q.frames) > 256 {
		q.frames = nil // let a burst's backing array go
	}
	q.mu.Unlock()
	signal(q.drained)
	return buf, size, fin, true
}

// written gives back the bytes of a batch take returned, once the socket
// took it (or the write failed): they are no longer held.
func (q *queue) written(size int) {
	if size == 0 {
		return
	}
	q.mu.Lock()
	if !q.closed { // close already gave back everything
		q.bytes -= size
		q.total.Add(-int64(size))
	}
	q.mu.Unlock()
	signal(q.drained)
}

// waitBelow blocks until fewer than limit bytes are held, the queue is
// closed, or ctx ends. It is how bulk senders (replay, catch-up) apply
// backpressure instead of overflowing.
func (q *queue) waitBelow(ctx context.Context, limit int, done <-chan struct{}) error {
	for {
		q.mu.Lock()
		ok := q.bytes < limit || q.closed
		q.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-q.drained:
		case <-done:
			return context.Canceled
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// held is the number of bytes queued or being written.
func (q *queue) held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.frames = nil
	q.total.Add(-int64(q.bytes))
	q.bytes = 0
	q.mu.Unlock()
	signal(q.drained)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
