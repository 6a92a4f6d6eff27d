package hub

import (
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// A socket's writer goroutine runs only while it has frames to write: push
// starts one when the queue goes from idle to busy, and it exits once the
// queue is empty. An idle socket therefore costs no goroutine stack, and a
// busy one hands every frame queued meanwhile to Transport.Write at once, which
// writes them in one system call.

// batchPool recycles the writers' batch slices, so a writer started for
// one frame allocates nothing.
var batchPool = sync.Pool{New: func() any { return new([][]byte) }}

// maxInlineBatches bounds the batches one push writes inline: a socket
// that keeps being fed gets a writer goroutine instead of holding up
// whoever fed it last.
const maxInlineBatches = 2

// Who writes. A frame pushed by a goroutine that is handling one frame
// read from a socket of this hub (its read loop) is written by that
// goroutine when the socket takes it at once: the replies on that socket
// (Socket.Send, REPLAY_DONE, a kick) and what its frame causes on other
// sockets (DeliverMessage and SendState with from set: the recipient's
// MESSAGE, the sender's MESSAGE_STATE). One non-blocking system call then
// replaces starting and waking a writer goroutine per frame (124 → 117 µs
// per DM at 10,000/s, docs/PERFORMANCE.md). Everything else comes in
// bursts from one goroutine (bus events: from is nil; catch-up, replay),
// which would pay a system call per frame and stall that goroutine (a
// quarter of cross-instance throughput): a writer goroutine writes it,
// batched.

// modeFrom is the write mode of a push made on behalf of from: inline
// when the pushing goroutine is from's read loop handling its frame.
func modeFrom(from *Socket) writeMode { return from != nil }

// kickWriter starts writing after a push made this goroutine the queue's
// writer: inline when allowed and the Transport can try (see writeInline),
// otherwise, or for what is left, in a writer goroutine. It reports false
// if what was queued will not be written: the write failed, or the hub is
// shutting down and refused a writer (the socket is closed either way).
func (c *Socket) kickWriter(how writeMode) bool {
	if tw, ok := c.conn.(TryWriter); ok && how == inline {
		return c.writeInline(tw)
	}
	return c.startWriter(nil, noFlush)
}

// writeInline writes what is queued without blocking, from the goroutine
// that queued it: on a socket with room in its send buffer (nearly always)
// the frames leave at once and no goroutine is started or woken. Whatever
// the socket does not take at once is handed to a writer goroutine. It
// reports false if the first batch, which holds the frames of the push
// that made this goroutine the writer, will not be written.
func (c *Socket) writeInline(tw TryWriter) bool {
	bp := batchPool.Get().(*[][]byte)
	defer func() {
		*bp = (*bp)[:0]
		batchPool.Put(bp)
	}()
	for i := range maxInlineBatches {
		first := i == 0
		batch, size, fin, ok := c.q.take(*bp)
		*bp = batch
		if !ok {
			return true // written; the queue is empty and the writer role released
		}
		done, err := tw.TryWrite(batch)
		clear(batch)
		switch {
		case err != nil:
			c.q.written(size)
			c.Close(CloseWriteFailed, "write failed")
			return !first
		case !done:
			// The Transport holds the rest: still counted until it has left.
			return c.startWriter(fin, size) || !first
		}
		c.q.written(size)
		if fin != nil {
			c.Close(fin.code, fin.reason)
			return true
		}
	}
	c.startWriter(nil, noFlush) // still being fed: the role passes to a goroutine
	return true                 // the first batch is written
}

// noFlush is startWriter's held argument when an inline write left
// nothing in the Transport.
const noFlush = -1

// startWriter runs write in one of the hub's writer goroutines; fin and
// held are write's. If the hub is shutting down and refuses, the socket
// is closed as going away, after sending here what an inline write left:
// that may be part of a frame, which the close frame must not cut. It
// reports false if it was refused and what is queued is dropped (the held
// bytes count as written if they were sent).
func (c *Socket) startWriter(fin *closeRequest, held int) bool {
	fn := c.writeQueued
	if held != noFlush {
		fn = func() { c.write(fin, held) }
	}
	if hook := c.hub.writerHook; hook != nil {
		fn = hook(fn)
	}
	if c.hub.writers.Go(fn) {
		return true
	}
	flushed := false
	if held != noFlush {
		flushed = c.conn.Write(time.Now().Add(c.hub.opts.WriteTimeout), nil) == nil
		c.q.written(held)
	}
	c.Close(chat.CloseGoingAway, "server shutting down")
	return flushed
}

// writeQueued is write with nothing left over from an inline write.
func (c *Socket) writeQueued() { c.write(nil, noFlush) }

// write writes batches until the queue is empty or the socket closes.
// Each batch gets WriteTimeout to be written. Unless held is noFlush, it
// first sends what an inline write left in the Transport (a batch of held
// bytes, given back to the queue's count once sent), then closes with fin
// if set.
func (c *Socket) write(fin *closeRequest, held int) {
	if held != noFlush {
		err := c.conn.Write(time.Now().Add(c.hub.opts.WriteTimeout), nil)
		c.q.written(held)
		if err != nil {
			c.Close(CloseWriteFailed, "write failed")
			return
		}
		if fin != nil {
			c.Close(fin.code, fin.reason)
			return
		}
	}
	bp := batchPool.Get().(*[][]byte)
	defer func() {
		*bp = (*bp)[:0]
		batchPool.Put(bp)
	}()
	for {
		batch, size, fin, ok := c.q.take(*bp)
		*bp = batch
		if !ok {
			return
		}
		if len(batch) > 0 {
			err := c.conn.Write(time.Now().Add(c.hub.opts.WriteTimeout), batch)
			clear(batch)
			c.q.written(size)
			if err != nil {
				c.Close(CloseWriteFailed, "write failed")
				return
			}
		}
		if fin != nil {
			c.Close(fin.code, fin.reason)
			return
		}
	}
}

// CloseWriteFailed is the code recorded when a write to the socket failed.
const CloseWriteFailed = chat.CloseAbnormal
