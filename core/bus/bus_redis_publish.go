package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// pubReq is one queued publish. Its result goes to done, to then, or
// nowhere (resync).
type pubReq struct {
	ev      Event // for the log line after success; Content and Frame are never logged
	channel string
	payload []byte
	done    chan error  // capacity 1; set by Publish, which waits on it
	then    func(error) // set by Post; called by the publisher goroutine
}

// Publish queues ev, with OriginInstanceID set, for the next pipeline and
// waits for its result, at most PublishTimeout or until ctx is done. While
// the bus is not connected it returns ErrUnavailable at once; a failure to
// reach Redis also returns an error that wraps ErrUnavailable. After a
// successful send it logs "chat_message_published" (KindMessage) or
// "admin_kick_published" (KindKick), with ids only.
func (b *Redis) Publish(ctx context.Context, ev Event) error {
	r, err := b.newReq(&ev)
	if err != nil {
		return err
	}
	r.done = make(chan error, 1)
	timer, err := b.enqueue(ctx, r)
	if timer == nil {
		timer = time.NewTimer(b.opts.PublishTimeout)
	}
	defer timer.Stop()
	if err != nil {
		return err
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

// Post is Publish without the wait for Redis's answer: it returns once ev
// is queued (waiting for a queue slot as Publish does), and the publisher
// goroutine calls then, if not nil, with what Publish would have returned,
// once the answer is in, or with ErrUnavailable when the bus closes with
// ev still queued (an event queued just as Close runs may get no call:
// the bus is gone by then). An error returned by Post means ev was not
// queued, and then is not called.
// Failures are counted (Hooks.PublishFailed) and events logged exactly as
// for Publish. So the caller's goroutine is not parked for the round trip
// to Redis and woken again, which on the cross-instance path cost about as
// much as the publish itself (docs/PERFORMANCE.md, section 9). then must
// be quick and must not call Publish (it runs where the publishes are
// sent); Post may be called from it.
func (b *Redis) Post(ctx context.Context, ev Event, then func(error)) error {
	r, err := b.newReq(&ev)
	if err != nil {
		return err
	}
	r.then = then
	timer, err := b.enqueue(ctx, r)
	if timer != nil {
		timer.Stop()
	}
	return err
}

// newReq encodes ev, with OriginInstanceID set, into a request, or
// returns ErrUnavailable while the bus is not connected.
func (b *Redis) newReq(ev *Event) (*pubReq, error) {
	if b.ctx.Err() != nil {
		return nil, ErrUnavailable // closed
	}
	if b.State() != StateConnected {
		b.publishFailed()
		return nil, ErrUnavailable
	}
	// Encoded from the request's own copy: encoding ev itself would move
	// the caller's Event to the heap, one more allocation per publish.
	r := &pubReq{ev: *ev}
	r.ev.OriginInstanceID = b.opts.InstanceID
	payload, err := encodeEvent(&r.ev)
	if err != nil {
		return nil, fmt.Errorf("bus: failed to encode event: %w", err)
	}
	r.channel, r.payload = b.channelFor(r.ev), payload
	return r, nil
}

// enqueue hands r to the publisher, waiting at most PublishTimeout for a
// slot. A free slot costs no timer; the timer started for a full queue is
// returned (it may have fired), for the caller to reuse and stop.
func (b *Redis) enqueue(ctx context.Context, r *pubReq) (*time.Timer, error) {
	select {
	case b.queue <- r:
		return nil, nil
	default:
	}
	timer := time.NewTimer(b.opts.PublishTimeout)
	select {
	case b.queue <- r:
		return timer, nil
	case <-ctx.Done():
		b.publishFailed()
		return timer, fmt.Errorf("bus: failed to publish: %w", ctx.Err())
	case <-timer.C:
		b.publishFailed()
		return timer, fmt.Errorf("bus: failed to publish: queue full: %w", ErrUnavailable)
	case <-b.ctx.Done():
		return timer, ErrUnavailable
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
	if err != nil && !isReplyError(err) && b.cluster == nil {
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
		b.logPublished(&r.ev, sentAt)
		if f := b.opts.Hooks.EventPublished; f != nil {
			f(r.ev.Kind)
		}
		b.finish(r, nil)
	}
}

// isReplyError reports whether err is an error reply from Redis rather than
// a failed connection. (Its own function: the target of errors.As is
// allocated where it is declared, which in sendBatch was every batch.)
func isReplyError(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr)
}

// drainQueue fails whatever is still queued at Close.
func (b *Redis) drainQueue() {
	for {
		select {
		case r := <-b.queue:
			r.report(ErrUnavailable)
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
	r.report(err)
}

// report hands err to whoever waits for r's result.
func (r *pubReq) report(err error) {
	switch {
	case r.done != nil:
		r.done <- err // capacity 1, one send: never blocks
	case r.then != nil:
		r.then(err)
	}
}

func (b *Redis) publishFailed() {
	if f := b.opts.Hooks.PublishFailed; f != nil {
		f()
	}
}

// logPublished logs a sent event: ids only, never Content. The level is
// checked before any field is built: a delivery state's line is at Debug,
// and building its fields anyway cost an allocation per state.
func (b *Redis) logPublished(ev *Event, at time.Time) {
	level, msg := zap.InfoLevel, ""
	switch ev.Kind {
	case KindMessage:
		msg = "chat_message_published"
	case KindKick:
		msg = "admin_kick_published"
	case KindResync:
		msg = "bus_resync_published"
	default:
		level, msg = zap.DebugLevel, "bus_event_published"
	}
	ce := b.log.Check(level, msg)
	if ce == nil {
		return
	}
	ce.Time = at
	switch ev.Kind {
	case KindMessage:
		ce.Write(zap.String("messageId", ev.MessageID), zap.String("recipientId", ev.RecipientID),
			zap.String("originInstanceId", ev.OriginInstanceID))
	case KindKick:
		ce.Write(zap.String("action", ev.Action), zap.String("targetUserId", ev.TargetUserID),
			zap.String("originInstanceId", ev.OriginInstanceID))
	case KindResync:
		ce.Write(zap.String("originInstanceId", ev.OriginInstanceID))
	default:
		ce.Write(zap.String("kind", string(ev.Kind)), zap.String("messageId", ev.MessageID),
			zap.String("originInstanceId", ev.OriginInstanceID))
	}
}
