package hub

import (
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// A client's writer goroutine runs only while it has frames to write: push
// starts one when the queue goes from idle to busy, and it exits once the
// queue is empty. An idle socket therefore costs no goroutine stack, and a
// busy one hands every frame queued meanwhile to Conn.Write at once, which
// writes them in one system call.

// batchPool recycles the writers' batch slices, so a writer started for
// one frame allocates nothing.
var batchPool = sync.Pool{New: func() any { return new([][]byte) }}

// startWriter runs write in a goroutine started by Options.Go. If the owner
// is shutting down and refuses, the client is closed as going away.
func (c *Client) startWriter() {
	if !c.hub.opts.Go(c.write) {
		c.Close(chat.CloseGoingAway, "server shutting down")
	}
}

// write writes batches until the queue is empty or the client closes.
// Each batch gets WriteTimeout to be written.
func (c *Client) write() {
	bp := batchPool.Get().(*[][]byte)
	defer func() {
		*bp = (*bp)[:0]
		batchPool.Put(bp)
	}()
	for {
		batch, fin, ok := c.q.take(*bp)
		*bp = batch
		if !ok {
			return
		}
		if len(batch) > 0 {
			err := c.conn.Write(time.Now().Add(c.hub.opts.WriteTimeout), batch)
			clear(batch)
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

// CloseWriteFailed is the code recorded when a write to the socket failed;
// the peer is gone, so no close frame reaches it.
const CloseWriteFailed = 1006
