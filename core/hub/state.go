package hub

import (
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// stateMemory is how long a socket remembers the MESSAGE_STATEs it was
// sent, so that a state republished after a bus outage reaches it once.
// Two generations of ids are kept, each covering stateMemory.
const stateMemory = time.Minute

// stateSeen records a MESSAGE_STATE for messageID and reports whether this
// socket already had one. The caller holds c.mu.
func (c *Socket) stateSeen(messageID string, now time.Time) bool {
	if _, ok := c.statesNow[messageID]; ok {
		return true
	}
	if _, ok := c.statesOld[messageID]; ok {
		return true
	}
	if c.statesNow == nil || now.Sub(c.statesSince) > stateMemory {
		c.statesOld, c.statesNow, c.statesSince = c.statesNow, make(map[string]struct{}), now
	}
	c.statesNow[messageID] = struct{}{}
	return false
}

// sendState queues MESSAGE_STATE DELIVERED for messageID unless this
// socket was already told.
func (c *Socket) sendState(messageID string, frame []byte, how writeMode) bool {
	c.mu.Lock()
	seen := c.stateSeen(messageID, time.Now())
	c.mu.Unlock()
	if seen {
		return false
	}
	return c.push(how, frame)
}

// SendState tells every socket of senderID here that messageID was
// delivered, once per socket, and returns how many were told. from is the
// socket whose DELIVERY_ACK recorded it, when the caller is handling that
// on its read loop; nil for a state from elsewhere (the bus): as for
// DeliverMessage, the hub chooses from it who writes.
func (h *Hub) SendState(senderID, messageID string, from *Socket) int {
	how := modeFrom(from)
	return h.fanOut(senderID, func() []byte { return chat.StateFrame(messageID).Encode() },
		func(c *Socket, frame []byte) bool { return c.sendState(messageID, frame, how) })
}
