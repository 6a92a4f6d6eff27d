package hub

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Client is one connected socket of one user on this instance.
//
// Methods are safe for concurrent use. Frames are written by at most one
// goroutine at a time, started while frames are queued (see writer.go), so
// a slow socket delays only itself; if its queue passes the byte limit it
// is closed as a slow consumer rather than waited for.
type Client struct {
	id     uint64
	userID string
	role   chat.Role
	conn   Conn
	hub    *Hub
	q      *queue

	// mu guards pushed, replaying, holdback and the states fields.
	mu sync.Mutex
	// pushed holds the ids of messages pushed on this socket, true once the
	// socket acked them. It is the dedupe that keeps a message from reaching
	// one connection twice: a late push (a bus event after a replayed copy
	// was acked, a catch-up, a sender's retry) skips ids found here.
	pushed map[string]bool
	// statesNow and statesOld are the MESSAGE_STATE ids sent here lately
	// (see stateSeen); statesSince is when statesNow was started.
	statesNow, statesOld map[string]struct{}
	statesSince          time.Time
	replaying            bool
	holdback             []heldMessage

	closeOnce sync.Once
	closed    chan struct{}
	closeCode atomic.Int32
}

type heldMessage struct {
	m     chat.Message
	frame []byte
}

// ID is unique among this hub's clients.
func (c *Client) ID() uint64 { return c.id }

// UserID is the authenticated user of this socket.
func (c *Client) UserID() string { return c.userID }

// Role is the role from the socket's token.
func (c *Client) Role() chat.Role { return c.role }

// Done is closed once the client is closed.
func (c *Client) Done() <-chan struct{} { return c.closed }

// Send queues one frame, writing it at once if it can (Inline). It reports
// false if the client is closed or closing, or was just closed as a slow
// consumer.
func (c *Client) Send(frame []byte) bool {
	return c.push(Inline, frame)
}

// push queues frames, starting the writer if it is not running, and closes
// the client as a slow consumer if they do not fit; how says who may write
// them (see Push).
func (c *Client) push(how Push, frames ...[]byte) bool {
	res, start := c.q.push(c.hub.opts.MaxQueueBytes, frames...)
	if start {
		c.kickWriter(how)
	}
	switch res {
	case pushed:
		return true
	case pushFull:
		c.slow()
	}
	return false
}

// SendFrame encodes and queues f.
func (c *Client) SendFrame(f chat.OutFrame) bool { return c.Send(f.Encode()) }

// SendError queues an ERROR frame.
func (c *Client) SendError(code, msg, cmid, mid string) bool {
	return c.SendFrame(chat.ErrorFrame(code, msg, cmid, mid))
}

func (c *Client) slow() {
	select {
	case <-c.closed:
		return
	default:
	}
	if c.hub.opts.OnSlowConsumer != nil {
		c.hub.opts.OnSlowConsumer(c)
	}
	c.Close(1013, "slow consumer")
}

// deliver pushes m unless it is already pending on this socket. During a
// replay, live messages are held back so that the replay stays oldest first;
// EndReplay releases them.
func (c *Client) deliver(m chat.Message, frame []byte, how Push) bool {
	c.mu.Lock()
	if _, dup := c.pushed[m.ID]; dup {
		c.mu.Unlock()
		return false
	}
	if c.replaying {
		c.holdback = append(c.holdback, heldMessage{m, frame})
		c.mu.Unlock()
		return false
	}
	c.pushed[m.ID] = false
	c.mu.Unlock()
	return c.push(how, frame)
}

// Replay pushes missed messages, oldest first, applying backpressure instead
// of overflowing the queue. It reports how many were pushed (messages already
// pending on this socket are skipped and not counted).
func (c *Client) Replay(ctx context.Context, msgs []chat.Message) (int, error) {
	n := 0
	for _, m := range msgs {
		if err := c.q.waitBelow(ctx, c.hub.opts.MaxQueueBytes/2, c.closed); err != nil {
			return n, err
		}
		c.mu.Lock()
		_, dup := c.pushed[m.ID]
		if !dup {
			c.pushed[m.ID] = false
		}
		c.mu.Unlock()
		if dup {
			continue
		}
		if !c.push(Queued, chat.MessageFrame(m).Encode()) {
			return n, context.Canceled
		}
		n++
	}
	return n, nil
}

// BeginReplay makes live deliveries wait until EndReplay.
func (c *Client) BeginReplay() {
	c.mu.Lock()
	c.replaying = true
	c.mu.Unlock()
}

// EndReplay sends REPLAY_DONE with count, then the live messages that arrived
// during the replay, in arrival order and without those the replay sent.
func (c *Client) EndReplay(count int) {
	c.mu.Lock()
	held := c.holdback
	c.holdback = nil
	c.replaying = false
	frames := make([][]byte, 0, len(held)+1)
	frames = append(frames, chat.ReplayDoneFrame(count).Encode())
	for _, h := range held {
		if _, dup := c.pushed[h.m.ID]; dup {
			continue
		}
		c.pushed[h.m.ID] = false
		frames = append(frames, h.frame)
	}
	c.mu.Unlock()
	c.push(Inline, frames...)
}

// Pushed reports whether messageID was pushed on this socket (acked or
// not): acks of such messages are never rate limited.
func (c *Client) Pushed(messageID string) bool {
	c.mu.Lock()
	_, ok := c.pushed[messageID]
	c.mu.Unlock()
	return ok
}

// MarkAcked records the socket's DELIVERY_ACK for messageID and reports
// whether it is the first one for a message pushed here; repeats need no
// store work.
func (c *Client) MarkAcked(messageID string) (first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	acked, ok := c.pushed[messageID]
	if !ok || acked {
		return !ok // an id never pushed here is the store's to judge
	}
	c.pushed[messageID] = true
	return true
}

// Forget removes messageID, so it may be pushed here again (its ack could
// not be recorded).
func (c *Client) Forget(messageID string) {
	c.mu.Lock()
	delete(c.pushed, messageID)
	c.mu.Unlock()
}

// Close queues nothing more, closes the socket with code and reason, and
// unregisters the client. The first call wins; later calls do nothing.
func (c *Client) Close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode.Store(int32(code))
		// Unregister before Done closes, so whoever sees Done also sees the
		// client gone; Register checks the queue, closed first, so a
		// concurrent Register cannot add it back.
		c.q.close()
		c.hub.unregister(c)
		close(c.closed)
		go func() {
			// Closing waits for the peer's close frame; never hold up the caller.
			_ = c.conn.Close(code, reason)
		}()
	})
}

// CloseAfter queues frame as the last one and closes with code once it is
// written: ERROR BANNED followed by 4003. Live messages held for a replay
// are dropped, so nothing reaches the user after the frame.
func (c *Client) CloseAfter(frame []byte, code int, reason string) {
	c.mu.Lock()
	c.replaying = false
	c.holdback = nil
	c.mu.Unlock()
	ok, start := c.q.pushFinal(frame, closeRequest{code, reason})
	switch {
	case !ok:
		c.Close(code, reason)
	case start:
		c.kickWriter(Inline)
	}
}

// CloseCode is the code the server closed this client with, 0 if open.
func (c *Client) CloseCode() int { return int(c.closeCode.Load()) }
