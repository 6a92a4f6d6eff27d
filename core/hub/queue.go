package hub

import (
	"context"
	"sync"
)

// queue is a socket's outbound frames. It grows on demand instead of
// preallocating, so an idle socket costs a few words; it is bounded in bytes,
// and the owner treats overflow as a slow consumer.
//
// writing says a writer goroutine owns the queue's output: the push that
// sets it must start one, and take clears it when it finds nothing left,
// both under mu, so exactly one writer runs while frames are queued.
//
// Lock rule: mu guards every field but drained, which is signalled after mu
// is released.
type queue struct {
	mu      sync.Mutex
	frames  [][]byte
	bytes   int
	closed  bool
	writing bool
	// finish, once set, is the close the writer performs after writing
	// what is queued; nothing more is accepted.
	finish *closeRequest

	drained chan struct{} // cap 1: the writer took a batch
}

func newQueue() *queue {
	return &queue{drained: make(chan struct{}, 1)}
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

// push appends frames unless the queue is closing or that would pass
// maxBytes. start reports that the caller must start the writer.
func (q *queue) push(maxBytes int, frames ...[]byte) (res pushResult, start bool) {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.finish != nil {
		return pushClosed, false
	}
	if q.bytes > 0 && q.bytes+n > maxBytes {
		return pushFull, false
	}
	q.frames = append(q.frames, frames...)
	q.bytes += n
	return pushed, q.claimWriter()
}

// pushFinal queues a last frame and the close that follows it. It reports
// false if the queue was already closing; start as for push.
func (q *queue) pushFinal(frame []byte, req closeRequest) (ok, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.finish != nil {
		return false, false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
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
// and the close to perform after writing it, if any. ok is false when there
// is nothing to do, or the queue is closed: the writer must then exit, and
// is marked as stopped.
func (q *queue) take(buf [][]byte) (_ [][]byte, fin *closeRequest, ok bool) {
	q.mu.Lock()
	if q.closed || (len(q.frames) == 0 && q.finish == nil) {
		q.writing = false
		q.mu.Unlock()
		return buf[:0], nil, false
	}
	fin = q.finish
	buf = append(buf[:0], q.frames...)
	clear(q.frames)
	q.frames = q.frames[:0]
	if cap(q.frames) > 256 {
		q.frames = nil // let a burst's backing array go
	}
	q.bytes = 0
	q.mu.Unlock()
	signal(q.drained)
	return buf, fin, true
}

// waitBelow blocks until fewer than limit bytes are queued, the queue is
// closed, or ctx ends. It is how bulk senders (replay) apply backpressure
// instead of overflowing.
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

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.frames = nil
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
