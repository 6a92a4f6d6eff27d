package node

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/store"
)

// send is MESSAGE_SEND: persist first, acknowledge, then deliver.
func (n *Node) send(ctx context.Context, s *Session, f chat.InFrame) {
	ok, err := n.userExists(ctx, f.RecipientID)
	if err != nil {
		n.internalError(s, "recipient lookup failed", err, f.ClientMessageID, "")
		return
	}
	if !ok {
		s.sendError(errUnknownRecipient, f.ClientMessageID, "")
		return
	}
	start := time.Now()
	m, created, err := n.store.SaveMessage(ctx, store.NewMessage{
		SenderID: s.c.UserID(), RecipientID: f.RecipientID,
		ClientMessageID: f.ClientMessageID, Content: f.Content,
	})
	if err != nil {
		n.internalError(s, "message could not be stored", err, f.ClientMessageID, "")
		return
	}
	persisted := time.Since(start)
	n.metrics.PersistSeconds.Observe(persisted.Seconds())
	if created {
		n.metrics.MessagesStored.Inc()
		// Debug: production's Info level skips it for the cost of a level
		// check; the sandbox's timeline shows the moment the row was durable.
		if ce := n.log.Check(zap.DebugLevel, "chat_message_stored"); ce != nil {
			ce.Write(zap.String("messageId", m.ID), zap.String("recipientId", m.RecipientID), zap.Duration("persist", persisted))
		}
	} else {
		n.logRetry(s, m, f.Content)
	}
	if s.c.SendFrame(chat.AckFrame(m)) {
		n.metrics.Acks.Inc()
	}
	if m.Delivered() {
		return // a retry of a message already delivered: the ack is all
	}
	// A retry of an undelivered message is pushed again: sockets it was
	// already pushed to skip it, and a crash between store and push is healed.
	// With a bus the frame is encoded here once, for the sockets here and,
	// as the very same bytes, for every other instance's (bus.Event.Frame);
	// alone, the hub encodes it only if the recipient has a socket here.
	var frame []byte
	if !n.opts.Standalone {
		frame = chat.MessageFrame(m).Encode()
	}
	if k := n.deliver(m, frame, s.c); k > 0 {
		// Checked first: a per-message line must cost nothing when its
		// level is off (benchmarks, a quieter production level).
		if ce := n.log.Check(zap.InfoLevel, "chat_message_delivered_local"); ce != nil {
			ce.Write(zap.String("messageId", m.ID), zap.String("recipientId", m.RecipientID), zap.Int("sockets", k))
		}
	}
	if n.opts.Standalone {
		// No Redis configured: nobody to tell, ever (as for publishState),
		// so the event and its time string are not even built.
		return
	}
	// SenderID, Content and CreatedAt are for instances of the previous
	// version, which build the frame themselves (see bus's package doc).
	n.publish(ctx, bus.Event{Kind: bus.KindMessage, MessageID: m.ID, SenderID: m.SenderID,
		RecipientID: m.RecipientID, Content: m.Content, CreatedAt: chat.FormatTime(m.CreatedAt),
		CreatedAtMs: m.CreatedAt.UnixMilli(), Frame: frame})
}

// deliver pushes m to its recipient's sockets on this instance; frame and
// from as for hub.DeliverMessage. A zero m.CreatedAt observes no delivery
// latency.
func (n *Node) deliver(m chat.Message, frame []byte, from *hub.Socket) int {
	if n.isBanned(m.RecipientID) {
		return 0
	}
	k := n.hub.DeliverMessage(m, frame, from)
	if k > 0 {
		n.metrics.MessagesSent.Add(float64(k))
		if !m.CreatedAt.IsZero() {
			n.metrics.DeliverySeconds.Observe(time.Since(m.CreatedAt).Seconds())
		}
	}
	return k
}

// deliveryAck is DELIVERY_ACK: mark DELIVERED once, tell the sender once.
func (n *Node) deliveryAck(ctx context.Context, s *Session, messageID string) {
	n.metrics.DeliveryAcks.Inc()
	// The id moves to the socket's window of recent acks: a late push of
	// the same message must not reach this socket again, since its ack was
	// not lost. A repeat ack from this socket changes nothing and costs no
	// store work (it was rate limited like any frame).
	if !s.c.MarkAcked(messageID) {
		return
	}
	m, changed, err := n.store.MarkDelivered(ctx, messageID, s.c.UserID())
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNotRecipient):
		// Not an ack at all: a repeat must be refused again, not ignored.
		s.c.Forget(messageID)
		s.sendError(err, "", messageID)
		return
	case err != nil:
		// Not recorded: let a catch-up push it here again, so the
		// client acks it again.
		s.c.Forget(messageID)
		n.internalError(s, "delivery could not be recorded", err, "", messageID)
		return
	case !changed:
		return
	}
	n.metrics.MessagesDelivered.Inc()
	if ce := n.log.Check(zap.DebugLevel, "chat_message_marked_delivered"); ce != nil { // as chat_message_stored
		ce.Write(zap.String("messageId", m.ID), zap.String("recipientId", m.RecipientID))
	}
	n.hub.SendState(m.SenderID, m.ID, s.c)
	n.publishState(ctx, bus.Event{Kind: bus.KindState, MessageID: m.ID, SenderID: m.SenderID, RecipientID: m.RecipientID})
}

func (n *Node) internalError(s *Session, msg string, err error, cmid, mid string) {
	// Per session: a client whose every frame fails (the store is down)
	// writes one line and a count, not one line per frame.
	s.logRepeats().Log(zapcore.ErrorLevel, "internal_error", zap.String("what", msg), zap.Error(err))
	s.sendError(&internalError{what: msg, err: err}, cmid, mid)
}

// publish tells the other instances; failure is never fatal (the bus
// counts it): they catch up from the store when the bus returns.
func (n *Node) publish(ctx context.Context, ev bus.Event) {
	if st := n.bus.State(); st != bus.StateConnected {
		// Without Redis configured there is nobody to tell, ever: no line.
		if ce := n.log.Check(zap.InfoLevel, "chat_message_publish_skipped"); ce != nil && !n.opts.Standalone {
			ce.Write(zap.String("messageId", ev.MessageID), zap.String("busState", st.String()))
		}
		return
	}
	if ev.Kind == bus.KindMessage {
		n.post(ctx, ev, nil) // nobody reads a message's result: see post
		return
	}
	_ = n.bus.Publish(ctx, ev)
}
