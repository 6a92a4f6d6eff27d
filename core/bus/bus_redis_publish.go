package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// pubReq is one queued publish.
type pubReq struct {
	ev      Event // for the log line after success; Content and Frame are never logged
	channel string
	payload []byte
	done    chan error // capacity 1; nil when nobody waits (resync)
}

// Publish queues ev, with OriginInstanceID set, for the next pipeline and
// waits for its result, at most PublishTimeout or until ctx is done. While
// the bus is not connected it returns ErrUnavailable at once; a failure to
// reach Redis also returns an error that wraps ErrUnavailable. After a
// successful send it logs "chat_message_published" (KindMessage) or
// "admin_kick_published" (KindKick), with ids only.
func (b *Redis) Publish(ctx context.Context, ev Event) error {
	if b.ctx.Err() != nil {
		return ErrUnavailable // closed
	}
	if b.State() != StateConnected {
		b.publishFailed()
		return ErrUnavailable
	}
	ev.OriginInstanceID = b.opts.InstanceID
	payload, err := encodeEvent(&ev)
	if err != nil {
		return fmt.Errorf("bus: failed to encode event: %w", err)
	}
	r := &pubReq{ev: ev, channel: b.channelFor(ev), payload: payload, done: make(chan error, 1)}

	timer := time.NewTimer(b.opts.PublishTimeout)
	defer timer.Stop()
	select {
	case b.queue <- r:
	case <-ctx.Done():
		b.publishFailed()
		return fmt.Errorf("bus: failed to publish: %w", ctx.Err())
	case <-timer.C:
		b.publishFailed()
		return fmt.Errorf("bus: failed to publish: queue full: %w", ErrUnavailable)
	case <-b.ctx.Done():
		return ErrUnavailable
	}
	// From here the publisher owns r and reports a failure itself.
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("bus: failed to publish: %w", ctx.Err())
	case <-timer.C:
		return fmt.Errorf("bus: failed to publish: timed out: %w", ErrUnavailable)
	case <-b.ctx.Done():
		return ErrUnavailable
	}
}

// publishResync queues a KindResync event without waiting for it.
func (b *Redis) publishResync() {
	ev := Event{Kind: KindResync, OriginInstanceID: b.opts.InstanceID}
	payload, err := encodeEvent(&ev)
	if err != nil {
		b.log.Error("bus_resync_failed", zap.Error(err))
		return
	}
	t := time.NewTimer(b.opts.PublishTimeout)
	defer t.Stop()
	select {
	case b.queue <- &pubReq{ev: ev, channel: b.opts.Channel, payload: payload}:
	case <-t.C:
		b.log.Warn("bus_resync_failed", zap.String("reason", "queue full"))
		b.publishFailed()
	case <-b.ctx.Done():
	}
}

// publishLoop sends queued publishes until Close: it takes everything
// queued (up to maxBatch) and sends it in one pipeline.
func (b *Redis) publishLoop() {
	defer b.wg.Done()
	batch := make([]*pubReq, 0, maxBatch)
	for {
		select {
		case <-b.ctx.Done():
			b.drainQueue()
			return
		case r := <-b.queue:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-b.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.sendBatch(batch)
		clear(batch) // drop references to sent payloads
	}
}

// sendBatch publishes batch in one pipeline and reports each result. A
// connection failure marks the session lost.
func (b *Redis) sendBatch(batch []*pubReq) {
	b.mu.Lock()
	s := b.sess
	b.mu.Unlock()
	if s == nil {
		for _, r := range batch {
			b.finish(r, ErrUnavailable)
		}
		return
	}

	ctx, cancel := context.WithTimeout(b.ctx, b.opts.PublishTimeout)
	defer cancel()
	pipe := b.client.Pipeline()
	for _, r := range batch {
		if b.cluster != nil && r.channel != b.opts.Channel {
			// Sharded: only the shard owning the user's slot carries it.
			pipe.SPublish(ctx, r.channel, r.payload)
		} else {
			pipe.Publish(ctx, r.channel, r.payload)
		}
	}
	// The published lines carry the time the pipeline went out, not the
	// time Redis answered: a subscriber may log its delivery before the
	// answer arrives, and a merged log ordered by time must show the
	// publish first.
	sentAt := time.Now()
	cmds, err := pipe.Exec(ctx)
	var rerr redis.Error
	if err != nil && !errors.As(err, &rerr) && b.cluster == nil {
		// Not an error reply from Redis: the connection is gone. (On a
		// cluster one shard's failure fails only its commands; the control
		// connection's ping tells whether the bus is lost.)
		b.markLost(s, fmt.Errorf("publish: %w", err))
	}
	for i, r := range batch {
		if cerr := cmds[i].Err(); cerr != nil {
			b.finish(r, fmt.Errorf("bus: failed to publish: %w: %w", ErrUnavailable, cerr))
			continue
		}
		b.logPublished(r.ev, sentAt)
		if f := b.opts.Hooks.EventPublished; f != nil {
			f(r.ev.Kind)
		}
		b.finish(r, nil)
	}
}

// drainQueue fails whatever is still queued at Close.
func (b *Redis) drainQueue() {
	for {
		select {
		case r := <-b.queue:
			if r.done != nil {
				r.done <- ErrUnavailable
			}
		default:
			return
		}
	}
}

// finish reports err (nil: sent) to r's waiter and to the hook.
func (b *Redis) finish(r *pubReq, err error) {
	if err != nil && b.ctx.Err() == nil {
		b.publishFailed()
	}
	if r.done != nil {
		r.done <- err // capacity 1, one send: never blocks
	}
}

func (b *Redis) publishFailed() {
	if f := b.opts.Hooks.PublishFailed; f != nil {
		f()
	}
}

// logPublished logs a sent event: ids only, never Content.
func (b *Redis) logPublished(ev Event, at time.Time) {
	level, msg := zap.InfoLevel, ""
	var fields []zap.Field
	switch ev.Kind {
	case KindMessage:
		msg = "chat_message_published"
		fields = []zap.Field{zap.String("messageId", ev.MessageID), zap.String("recipientId", ev.RecipientID),
			zap.String("originInstanceId", ev.OriginInstanceID)}
	case KindKick:
		msg = "admin_kick_published"
		fields = []zap.Field{zap.String("action", ev.Action), zap.String("targetUserId", ev.TargetUserID),
			zap.String("originInstanceId", ev.OriginInstanceID)}
	case KindResync:
		msg = "bus_resync_published"
		fields = []zap.Field{zap.String("originInstanceId", ev.OriginInstanceID)}
	default:
		level, msg = zap.DebugLevel, "bus_event_published"
		fields = []zap.Field{zap.String("kind", string(ev.Kind)), zap.String("messageId", ev.MessageID),
			zap.String("originInstanceId", ev.OriginInstanceID)}
	}
	if ce := b.log.Check(level, msg); ce != nil {
		ce.Time = at
		ce.Write(fields...)
	}
}
