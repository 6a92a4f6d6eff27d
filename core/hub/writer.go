package hub

import (
	"context"
	"time"
)

// Run writes queued frames until the client closes. Exactly one goroutine
// per client runs it; it returns when the client is closed.
//
// Every write gets the same context, cancelled by one timer armed for
// WriteTimeout around each frame: a context with its own deadline per frame
// cost an allocation and a runtime timer per frame, and the WebSocket
// library a deadline watch per frame (~8 % of the server's CPU under load).
// A write that outlives WriteTimeout sees its context cancelled, as before.
func (c *Client) Run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timer := time.AfterFunc(time.Hour, cancel)
	timer.Stop()
	defer timer.Stop()
	var batch [][]byte
	for {
		select {
		case <-c.closed:
			return
		case <-c.q.ready:
		}
		var fin *closeRequest
		batch, fin = c.q.take(batch)
		for i, f := range batch {
			timer.Reset(c.hub.opts.WriteTimeout)
			err := c.conn.Write(ctx, f)
			if !timer.Stop() && err == nil {
				// The timer fired as the write ended: the context is
				// cancelled, so no later write can succeed.
				err = context.DeadlineExceeded
			}
			batch[i] = nil
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
