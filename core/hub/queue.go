package hub

import (
	"context"
	"sync"
)

// queue is a socket's outbound frames. It grows on demand instead of
// preallocating, so an idle socket costs a few words; it is bounded in bytes,
// and the owner treats overflow as a slow consumer.
//
// Lock rule: mu guards frames, bytes and closed; signals are sent on the
// buffered channels after mu is released.
type queue struct {
	mu     sync.Mutex
	frames [][]byte
	bytes  int
	closed bool
	// finish, once set, is the close the writer performs after writing
	// what is queued; nothing more is accepted.
	finish *closeRequest

	ready   chan struct{} // cap 1: frames were added
	drained chan struct{} // cap 1: the writer took a batch
}

func newQueue() *queue {
	return &queue{ready: make(chan struct{}, 1), drained: make(chan struct{}, 1)}
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
// maxBytes.
func (q *queue) push(maxBytes int, frames ...[]byte) pushResult {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	q.mu.Lock()
	if q.closed || q.finish != nil {
		q.mu.Unlock()
		return pushClosed
	}
	if q.bytes > 0 && q.bytes+n > maxBytes {
		q.mu.Unlock()
		return pushFull
	}
	q.frames = append(q.frames, frames...)
	q.bytes += n
	q.mu.Unlock()
	signal(q.ready)
	return pushed
}

// pushFinal queues a last frame and the close that follows it. It reports
// false if the queue was already closing.
func (q *queue) pushFinal(frame []byte, req closeRequest) bool {
	q.mu.Lock()
	if q.closed || q.finish != nil {
		q.mu.Unlock()
		return false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	q.finish = &req
	q.mu.Unlock()
	signal(q.ready)
	return true
}

// take removes and returns everything queued, reusing buf for the result,
// and the close to perform after writing it, if any.
func (q *queue) take(buf [][]byte) ([][]byte, *closeRequest) {
	q.mu.Lock()
	fin := q.finish
	buf = append(buf[:0], q.frames...)
	clear(q.frames)
	q.frames = q.frames[:0]
	if cap(q.frames) > 256 {
		q.frames = nil // let a burst's backing array go
	}
	q.bytes = 0
	q.mu.Unlock()
	signal(q.drained)
	return buf, fin
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
	signal(q.ready)
	signal(q.drained)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
