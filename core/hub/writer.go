package hub

import "context"

// Run writes queued frames until the client closes. Exactly one goroutine
// per client runs it; it returns when the client is closed.
func (c *Client) Run() {
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
			ctx, cancel := context.WithTimeout(context.Background(), c.hub.opts.WriteTimeout)
			err := c.conn.Write(ctx, f)
			cancel()
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
