package hub

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Socket is one connected socket of one user on this instance.
//
// Methods are safe for concurrent use. Frames are written by at most one
// goroutine at a time, started while frames are queued (see writer.go), so
// a slow socket delays only itself; if its queue passes the byte limit it
// is closed as a slow consumer rather than waited for.
type Socket struct {
	id     uint64
	userID string
	role   chat.Role
	conn   Transport
	hub    *Hub
	q      *queue

	// mu guards pending, acked, replaying, holdback and the states fields.
	mu sync.Mutex
	// pending holds the ids of messages pushed on this socket and not yet
	// acked, acked those acked lately (see acked.go). Together they are the
	// dedupe that keeps a message from reaching one connection twice: a
	// late push (a bus event after a replayed copy was acked, a catch-up, a
	// sender's retry) skips ids found in either. Both are bounded.
	// pending is made by the first push (markPendingLocked): a socket that
	// is never sent anything carries no map.
	pending map[string]struct{}
	acked   ackWindow
	// statesNow and statesOld are the MESSAGE_STATE ids sent here lately
	// (see stateSeen); statesSince is when statesNow was started.
	statesNow, statesOld map[string]struct{}
	statesSince          time.Time
	replaying            bool
	holdback             []heldMessage
	holdbackBytes        int

	closeOnce sync.Once
	closed    chan struct{}
	closeCode atomic.Int32
}

// heldMessage is a live MESSAGE frame held back during a replay, with the
// id its ack tracking needs.
type heldMessage struct {
	id    string
	frame []byte
}

// markPendingLocked records id as pushed here and not yet acked.
func (c *Socket) markPendingLocked(id string) {
	if c.pending == nil {
		c.pending = make(map[string]struct{})
	}
	c.pending[id] = struct{}{}
}

// ID is unique among this hub's sockets.
func (c *Socket) ID() uint64 { return c.id }

// UserID is the authenticated user of this socket.
func (c *Socket) UserID() string { return c.userID }

// Role is the role from the socket's token.
func (c *Socket) Role() chat.Role { return c.role }

// Done is closed once the socket is closed.
func (c *Socket) Done() <-chan struct{} { return c.closed }

// Send queues one frame, a reply to the socket's own frame: the caller is
// its read loop, which writes it at once if the socket takes it (see
// writer.go). It reports false if the socket is closed or closing, or was
// just closed as a slow consumer, or if the frame was queued but will not
// be written: its write failed, or the hub, shutting down, refused it a
// writer (the socket is closed then too).
func (c *Socket) Send(frame []byte) bool {
	return c.push(inline, frame)
}

// push queues frames, starting the writer if it is not running, and closes
// the socket as a slow consumer if they do not fit; how says who may write
// them (see writeMode).
func (c *Socket) push(how writeMode, frames ...[]byte) bool {
	res, start := c.q.push(c.hub.limits, frames...)
	if start && !c.kickWriter(how) {
		return false // queued, but dropped: the socket is closed
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
func (c *Socket) SendFrame(f chat.OutFrame) bool { return c.Send(f.Encode()) }

// SendError queues an ERROR frame.
func (c *Socket) SendError(code, msg, cmid, mid string) bool {
	return c.SendFrame(chat.ErrorFrame(code, msg, cmid, mid))
}

func (c *Socket) slow() {
	select {
	case <-c.closed:
		return
	default:
	}
	if c.hub.opts.OnSlowConsumer != nil {
		c.hub.opts.OnSlowConsumer(c)
	}
	c.Close(chat.CloseTryAgainLater, "slow consumer")
}

// deliver pushes frame, the MESSAGE frame of messageID, unless this socket has it already (pending or acked
// lately). During a replay, live messages are held back so that the replay
// stays oldest first; EndReplay releases them. A socket that holds back
// more than its queue's bytes, or has MaxUnacked messages it has not acked,
// is closed as a slow consumer: m stays undelivered in the store and comes
// back by replay when the socket reconnects.
func (c *Socket) deliver(messageID string, frame []byte, how writeMode) bool {
	c.mu.Lock()
	if c.seenLocked(messageID) {
		c.mu.Unlock()
		return false
	}
	if c.replaying {
		if c.holdbackBytes+len(frame) > c.hub.opts.MaxQueueBytes {
			c.mu.Unlock()
			c.slow()
			return false
		}
		c.holdback = append(c.holdback, heldMessage{messageID, frame})
		c.holdbackBytes += len(frame)
		c.mu.Unlock()
		return false
	}
	if len(c.pending) >= c.hub.opts.MaxUnacked {
		c.mu.Unlock()
		c.slow()
		return false
	}
	c.markPendingLocked(messageID)
	c.mu.Unlock()
	return c.push(how, frame)
}

// seenLocked reports whether messageID was pushed here and is either
// awaiting its ack or was acked lately. The caller holds c.mu.
func (c *Socket) seenLocked(messageID string) bool {
	if _, ok := c.pending[messageID]; ok {
		return true
	}
	return c.acked.has(messageID)
}

// waitBelowHalf blocks until less than half of this socket's queue bound
// is held, the socket closes (context.Canceled) or ctx ends: a bulk sender
// (replay, catch-up) then holds at most about one page per socket.
func (c *Socket) waitBelowHalf(ctx context.Context) error {
	return c.q.waitBelow(ctx, c.hub.opts.MaxQueueBytes/2, c.closed)
}

// DeliverPaced is deliver for bulk senders (the catch-up after a bus
// outage): it first waits until this socket holds less than half its
// bound, so a socket that does not read is sent about one page and then
// closed by its write deadline, never sent page after page. It reports
// whether m was pushed (not if the socket had it already); its error is
// ctx's if ctx ended the wait, context.Canceled if the socket closed, and
// m then stays undelivered, in the store, for later.
func (c *Socket) DeliverPaced(ctx context.Context, m chat.Message) (bool, error) {
	if err := c.waitBelowHalf(ctx); err != nil {
		return false, err
	}
	return c.deliver(m.ID, chat.MessageFrame(m).Encode(), queued), nil
}

// Replay pushes missed messages, oldest first, applying backpressure instead
// of overflowing the queue. It reports how many were pushed (messages already
// pending on this socket are skipped and not counted).
func (c *Socket) Replay(ctx context.Context, msgs []chat.Message) (int, error) {
	n := 0
	for _, m := range msgs {
		if err := c.waitBelowHalf(ctx); err != nil {
			return n, err
		}
		// A replay is not held to MaxUnacked: the read loop starts after
		// it, so no ack can come before it ends; what it adds is bounded by
		// what the store holds undelivered for the user.
		c.mu.Lock()
		dup := c.seenLocked(m.ID)
		if !dup {
			c.markPendingLocked(m.ID)
		}
		c.mu.Unlock()
		if dup {
			continue
		}
		if !c.push(queued, chat.MessageFrame(m).Encode()) {
			return n, context.Canceled
		}
		n++
	}
	return n, nil
}

// BeginReplay makes live deliveries wait until EndReplay.
func (c *Socket) BeginReplay() {
	c.mu.Lock()
	c.replaying = true
	c.mu.Unlock()
}

// EndReplay sends REPLAY_DONE with count, then the live messages that arrived
// during the replay, in arrival order and without those the replay sent.
func (c *Socket) EndReplay(count int) {
	c.mu.Lock()
	held := c.holdback
	c.holdback, c.holdbackBytes = nil, 0
	c.replaying = false
	frames := make([][]byte, 0, len(held)+1)
	frames = append(frames, chat.ReplayDoneFrame(count).Encode())
	for _, h := range held {
		if c.seenLocked(h.id) {
			continue
		}
		c.markPendingLocked(h.id)
		frames = append(frames, h.frame)
	}
	c.mu.Unlock()
	c.push(inline, frames...) // on the read loop's goroutine, before it starts
}

// AwaitingAck reports whether messageID was pushed on this socket and not
// acked yet: the first DELIVERY_ACK of such a message is never rate
// limited, repeats are.
func (c *Socket) AwaitingAck(messageID string) bool {
	c.mu.Lock()
	_, ok := c.pending[messageID]
	c.mu.Unlock()
	return ok
}

// MarkAcked records the socket's DELIVERY_ACK for messageID and reports
// whether the store must see it: false for a repeat of an ack this socket
// sent lately, which needs no store work. The id moves from pending to the
// window of recent acks, so a late push of it is still skipped here.
func (c *Socket) MarkAcked(messageID string) (first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acked.has(messageID) {
		return false
	}
	// An id not pending here (never pushed, or acked too long ago to be
	// remembered) is the store's to judge.
	delete(c.pending, messageID)
	c.acked.add(messageID, time.Now())
	return true
}

// Forget removes messageID, so it may be pushed here again (its ack could
// not be recorded).
func (c *Socket) Forget(messageID string) {
	c.mu.Lock()
	delete(c.pending, messageID)
	c.acked.remove(messageID)
	c.mu.Unlock()
}

// Unacked is the number of messages pushed here and not acked yet.
func (c *Socket) Unacked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Remembered is the number of message ids this socket keeps to dedupe
// pushes: those awaiting an ack and the window of recent acks.
func (c *Socket) Remembered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) + c.acked.len()
}

// QueuedBytes is how many outbound bytes this socket holds: queued, or
// handed to the socket and not yet written.
func (c *Socket) QueuedBytes() int { return c.q.held() }

// Close queues nothing more, closes the socket with code and reason, and
// unregisters the socket. The first call wins; later calls do nothing.
func (c *Socket) Close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode.Store(int32(code))
		// Unregister before Done closes, so whoever sees Done also sees the
		// client gone; Register checks the queue, closed first, so a
		// concurrent Register cannot add it back.
		c.q.close()
		c.hub.unregister(c)
		close(c.closed)
		// Closing waits for the peer's close frame: never hold up the
		// caller, unless the hub is past tracking it (shut down).
		if !c.hub.closers.Go(func() { _ = c.conn.Close(code, reason) }) {
			_ = c.conn.Close(code, reason)
		}
	})
}

// CloseAfter queues frame as the last one and closes with code once it is
// written: ERROR BANNED followed by 4003. Live messages held for a replay
// are dropped, so nothing reaches the user after the frame.
func (c *Socket) CloseAfter(frame []byte, code int, reason string) {
	c.mu.Lock()
	c.replaying = false
	c.holdback, c.holdbackBytes = nil, 0
	c.mu.Unlock()
	ok, start := c.q.pushFinal(frame, closeRequest{code, reason})
	switch {
	case !ok:
		c.Close(code, reason)
	case start:
		c.kickWriter(inline)
	}
}

// CloseCode is the code the server closed this socket with, 0 if open.
func (c *Socket) CloseCode() int { return int(c.closeCode.Load()) }
