package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// maxSubscribeArgs bounds the channels named in one SUBSCRIBE or
// UNSUBSCRIBE command, so a burst of connects after a restart is a few
// commands, not one huge one.
const maxSubscribeArgs = 1000

// subState is one user channel's subscription on one connection. sent is
// what this instance last asked Redis (subscribe or unsubscribe); pending
// counts those commands not yet confirmed. The subscription is held when
// sent and nothing is pending: only then is every later publish sure to
// arrive.
type subState struct {
	sent    bool
	pending int
	counted bool // in Redis.held: confirmed subscribed, not yet confirmed unsubscribed
}

func (st *subState) held() bool { return st.sent && st.pending == 0 }

// lane is one subscription connection's user channels: the session's own
// on a single Redis, one per shard on a cluster (see bus_redis_cluster.go).
// subs is guarded by the bus's mu.
type lane struct {
	ps   *redis.PubSub
	subs map[string]*subState

	// Cluster only: the shard, the lane's lifetime, and whether its first
	// confirmation came.
	sharded bool
	addr    string
	ctx     context.Context
	cancel  context.CancelFunc
	up      bool
}

// laneOfLocked returns the lane that holds (or will hold) userID's
// channel, nil when there is none yet. b.mu must be held.
func (b *Redis) laneOfLocked(userID string) *lane {
	if b.cluster != nil {
		return b.assign[userID]
	}
	if b.sess == nil {
		return nil
	}
	return b.sess.lane
}

// laneLiveLocked reports whether l is still in use. b.mu must be held.
func (b *Redis) laneLiveLocked(l *lane) bool {
	if b.cluster != nil {
		return b.lanes[l.addr] == l
	}
	return b.sess != nil && b.sess.lane == l
}

// waiter is one WaitSubscribed call. ok is written under Redis.mu before
// done is closed.
type waiter struct {
	done chan struct{}
	ok   bool
}

// userChannel is the channel of userID's events. The braces are a Redis
// Cluster hash tag: every channel of one user hashes to one slot.
func (b *Redis) userChannel(userID string) string {
	return b.opts.Channel + ":u:{" + userID + "}"
}

// channelUser returns the user of a user channel, or false for another
// channel (the control channel).
func (b *Redis) channelUser(channel string) (string, bool) {
	prefix := b.opts.Channel + ":u:{"
	if !strings.HasPrefix(channel, prefix) || !strings.HasSuffix(channel, "}") {
		return "", false
	}
	return channel[len(prefix) : len(channel)-1], true
}

// channelFor routes ev: a message to its recipient's channel, a state to
// its sender's, a kick to its target's; anything else, and an event that
// names nobody, to the control channel.
func (b *Redis) channelFor(ev Event) string {
	var user string
	switch ev.Kind {
	case KindMessage:
		user = ev.RecipientID
	case KindState:
		user = ev.SenderID
	case KindKick:
		user = ev.TargetUserID
	}
	if user == "" {
		return b.opts.Channel
	}
	return b.userChannel(user)
}

// Subscribe adds one interest in userID's channel; see Bus.
func (b *Redis) Subscribe(userID string) {
	b.mu.Lock()
	b.interest[userID]++
	first := b.interest[userID] == 1
	if first {
		b.dirty[userID] = struct{}{}
	}
	b.mu.Unlock()
	if first {
		b.kickSubscriber()
	}
}

// Unsubscribe drops one interest in userID's channel; see Bus.
func (b *Redis) Unsubscribe(userID string) {
	b.mu.Lock()
	last := false
	if n := b.interest[userID]; n > 1 {
		b.interest[userID] = n - 1
	} else if n == 1 {
		delete(b.interest, userID)
		delete(b.gap, userID)
		b.dirty[userID] = struct{}{}
		last = true
	}
	b.mu.Unlock()
	if last {
		b.kickSubscriber()
	}
}

// errNotSubscribed is WaitSubscribed's answer when the confirmation did
// not come in time.
var errNotSubscribed = errors.New("bus: subscription not confirmed in time")

// WaitSubscribed waits for userID's channel to be confirmed; see Bus. The
// wait is bounded by PublishTimeout as well as ctx.
func (b *Redis) WaitSubscribed(ctx context.Context, userID string) error {
	b.mu.Lock()
	if b.interest[userID] == 0 {
		b.mu.Unlock()
		return nil // nobody here wants the user's events
	}
	s := b.sess
	if s == nil {
		b.gap[userID] = struct{}{}
		b.mu.Unlock()
		return ErrUnavailable
	}
	if l := b.laneOfLocked(userID); l != nil {
		if st := l.subs[userID]; st != nil && st.held() {
			b.mu.Unlock()
			return nil
		}
	}
	w := &waiter{done: make(chan struct{})}
	b.waiters[userID] = append(b.waiters[userID], w)
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, b.opts.PublishTimeout)
	defer cancel()
	select {
	case <-w.done:
	case <-ctx.Done():
	case <-b.ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.ok {
		return nil
	}
	b.dropWaiterLocked(userID, w)
	if b.interest[userID] > 0 {
		b.gap[userID] = struct{}{}
	}
	if b.sess == nil {
		return ErrUnavailable
	}
	return errNotSubscribed
}

// dropWaiterLocked removes w from userID's waiters. b.mu must be held.
func (b *Redis) dropWaiterLocked(userID string, w *waiter) {
	ws := b.waiters[userID]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(b.waiters, userID)
	} else {
		b.waiters[userID] = ws
	}
}

// releaseWaitersLocked wakes userID's waiters (every waiter when userID
// is empty) with ok. b.mu must be held.
func (b *Redis) releaseWaitersLocked(userID string, ok bool) {
	release := func(id string, ws []*waiter) {
		for _, w := range ws {
			w.ok = ok
			close(w.done)
		}
		delete(b.waiters, id)
	}
	if userID != "" {
		release(userID, b.waiters[userID])
		return
	}
	for id, ws := range b.waiters {
		if !ok && b.interest[id] > 0 {
			b.gap[id] = struct{}{}
		}
		release(id, ws)
	}
}

// interestSnapshotLocked lists the users this instance wants, for a new
// connection's first SUBSCRIBE. b.mu must be held.
func (b *Redis) interestSnapshotLocked() []string {
	out := make([]string, 0, len(b.interest))
	for id := range b.interest {
		out = append(out, id)
	}
	return out
}

func (b *Redis) kickSubscriber() {
	select {
	case b.subKick <- struct{}{}:
	default:
	}
}

// subscribeLoop applies interest changes to the live connection until
// Close: every change made since its last round goes out in one SUBSCRIBE
// and one UNSUBSCRIBE, so many sockets opening at once cost a few commands.
func (b *Redis) subscribeLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.subKick:
		}
		if b.cluster != nil {
			b.applyClusterChanges()
			continue
		}
		s, subs, unsubs := b.takeChanges()
		if s == nil {
			continue
		}
		if err := b.sendChanges(s.lane, s.ctx, subs, unsubs); err != nil {
			b.markLost(s, err)
		}
	}
}

// takeChanges turns the dirty users into the channels to subscribe and
// unsubscribe on the live session, recording them as sent. With no live
// session the dirty set is kept for the next one.
func (b *Redis) takeChanges() (*session, []string, []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sess
	if s == nil {
		return nil, nil, nil
	}
	var subs, unsubs []string
	for id := range b.dirty {
		switch b.markChangeLocked(s.lane, id) {
		case changeSubscribe:
			subs = append(subs, b.userChannel(id))
		case changeUnsubscribe:
			unsubs = append(unsubs, b.userChannel(id))
		}
	}
	clear(b.dirty)
	return s, subs, unsubs
}

// The changes markChangeLocked can ask for.
const (
	changeNone = iota
	changeSubscribe
	changeUnsubscribe
)

// markChangeLocked compares what this instance wants of userID's channel
// with what l was last asked, and records the command that will make them
// agree as sent. b.mu must be held.
func (b *Redis) markChangeLocked(l *lane, id string) int {
	want := b.interest[id] > 0
	st := l.subs[id]
	switch {
	case want && (st == nil || !st.sent):
		if st == nil {
			st = &subState{}
			l.subs[id] = st
		}
		st.sent = true
		st.pending++
		return changeSubscribe
	case !want && st != nil && st.sent:
		st.sent = false
		st.pending++
		return changeUnsubscribe
	}
	return changeNone
}

// sendChanges writes the commands without waiting for their replies: the
// confirmations arrive on the subscription and serve applies them.
func (b *Redis) sendChanges(l *lane, lctx context.Context, subs, unsubs []string) error {
	ctx, cancel := context.WithTimeout(lctx, b.opts.PublishTimeout)
	defer cancel()
	if l.sharded {
		// SSUBSCRIBE names channels of one slot only: one command each,
		// written back to back without waiting for the replies.
		for _, ch := range subs {
			if err := l.ps.SSubscribe(ctx, ch); err != nil {
				return fmt.Errorf("subscribe users: %w", err)
			}
		}
		for _, ch := range unsubs {
			if err := l.ps.SUnsubscribe(ctx, ch); err != nil {
				return fmt.Errorf("unsubscribe users: %w", err)
			}
		}
		return nil
	}
	for len(subs) > 0 {
		k := min(len(subs), maxSubscribeArgs)
		if err := l.ps.Subscribe(ctx, subs[:k]...); err != nil {
			return fmt.Errorf("subscribe users: %w", err)
		}
		subs = subs[k:]
	}
	for len(unsubs) > 0 {
		k := min(len(unsubs), maxSubscribeArgs)
		if err := l.ps.Unsubscribe(ctx, unsubs[:k]...); err != nil {
			return fmt.Errorf("unsubscribe users: %w", err)
		}
		unsubs = unsubs[k:]
	}
	return nil
}

// confirmed applies one (un)subscribe confirmation of lane l and
// returns the user whose channel is held again after a gap, if any.
func (b *Redis) confirmed(l *lane, sub *redis.Subscription) (string, bool) {
	id, ok := b.channelUser(sub.Channel)
	if !ok {
		return "", false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := l.subs[id]
	if st == nil || st.pending == 0 || !b.laneLiveLocked(l) {
		return "", false
	}
	st.pending--
	if st.pending > 0 {
		return "", false
	}
	if !st.sent {
		if st.counted {
			b.held--
			b.hookSubscriptions(b.held)
		}
		delete(l.subs, id)
		if b.assign[id] == l {
			delete(b.assign, id)
		}
		return "", false
	}
	if !st.counted {
		st.counted = true
		b.held++
		b.hookSubscriptions(b.held)
	}
	b.releaseWaitersLocked(id, true)
	if _, gap := b.gap[id]; gap {
		delete(b.gap, id)
		return id, true
	}
	return "", false
}

func (b *Redis) hookSubscriptions(n int) {
	if f := b.opts.Hooks.Subscriptions; f != nil {
		f(n)
	}
}
