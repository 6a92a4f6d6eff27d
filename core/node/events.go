package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
)

var _ bus.Handler = (*Node)(nil)

// poster is a bus that can queue an event without waiting for Redis's
// answer (bus.Redis.Post). A wrapped bus (the sandbox's faults, tests'
// gates) need not offer it: publishing then waits, as it always did.
type poster interface {
	Post(ctx context.Context, ev bus.Event, then func(error)) error
}

var _ poster = (*bus.Redis)(nil)

// post publishes ev and hands the result to then (nil: nobody wants it),
// without parking the caller for the round trip to Redis when the bus can
// post; then runs on the bus's publisher goroutine in that case, and must
// be quick and not publish synchronously.
func (n *Node) post(ctx context.Context, ev bus.Event, then func(error)) {
	if p, ok := n.bus.(poster); ok {
		if err := p.Post(ctx, ev, then); err != nil && then != nil {
			then(err)
		}
		return
	}
	err := n.bus.Publish(ctx, ev)
	if then != nil {
		then(err)
	}
}

// HandleEvent applies an event from the bus to this instance's sockets.
// Own events were applied locally when they happened and are ignored.
func (n *Node) HandleEvent(ev bus.Event) {
	if ev.OriginInstanceID == n.id {
		return
	}
	switch ev.Kind {
	case bus.KindMessage:
		n.deliverEvent(ev)
	case bus.KindState:
		n.hub.SendState(ev.SenderID, ev.MessageID, nil)
	case bus.KindKick:
		switch ev.Action {
		case ActionBan:
			n.setBanned(ev.TargetUserID, true)
			k := n.kickLocal(ev.TargetUserID)
			n.busLog.Info("admin_kick_ban_applied", zap.String("targetUserId", ev.TargetUserID),
				zap.String("originInstanceId", ev.OriginInstanceID), zap.Int("sockets", k))
		case ActionUnban:
			n.setBanned(ev.TargetUserID, false)
		}
	case bus.KindResync:
		// Another instance is back after an outage: what it missed may have
		// been meant for our sockets, or come from them.
		n.resync()
	case bus.KindResyncUsers:
		n.republishStatesOf(ev.UserIDs)
	case bus.KindPresence:
		// From an instance of an older version: presence is read from
		// Redis now, on demand.
	}
}

// deliverEvent pushes a KindMessage event's frame to its recipient's
// sockets here as the sender encoded it (the bus has checked that it is
// the message's frame). An event of an instance of the previous version
// has no frame: it is built from the fields, as that version did.
func (n *Node) deliverEvent(ev bus.Event) {
	m := chat.Message{ID: ev.MessageID, RecipientID: ev.RecipientID}
	frame := []byte(ev.Frame)
	if ev.CreatedAtMs > 0 {
		m.CreatedAt = time.UnixMilli(ev.CreatedAtMs)
	}
	if len(frame) == 0 {
		// An instance of the previous version: the hub builds the frame.
		frame = nil
		created, err := time.Parse(time.RFC3339, ev.CreatedAt)
		if err != nil {
			created = time.Now()
		}
		m.SenderID, m.Content, m.CreatedAt = ev.SenderID, ev.Content, created
	}
	if k := n.deliver(m, frame, nil); k > 0 {
		if ce := n.busLog.Check(zap.InfoLevel, "chat_message_delivered"); ce != nil {
			ce.Write(zap.String("messageId", ev.MessageID), zap.String("recipientId", ev.RecipientID),
				zap.String("originInstanceId", ev.OriginInstanceID), zap.Int("sockets", k))
		}
	}
}

// BusRestored is called by the bus after an outage (or a late first
// connect): what the bus lost is rebuilt from the store, and delivery
// states held meanwhile, or published just before, are published again.
func (n *Node) BusRestored() { n.resync() }

// UsersResubscribed is called by the bus when the channels of userIDs are
// held again after a gap (their shard was down, or their socket's
// subscription was not confirmed in time): their undelivered messages are
// pushed from the store, as after an outage, but for them only.
//
// The delivery states of their sent messages may have been lost too, here
// or on any instance: the catch-up also republishes this instance's, and
// asks the others (KindResyncUsers) to do the same for these users. The
// bus reports users one by one as a shard's confirmations arrive; the
// catch-up queue merges them, so a burst costs a few runs and publishes.
func (n *Node) UsersResubscribed(userIDs []string) { n.scheduleCatchUp(userIDs) }

// resync rebuilds from the store what the bus may have lost and publishes
// delivery states again; used after our own outage and another's.
func (n *Node) resync() {
	n.scheduleCatchUp(nil)
	n.republishStates()
}

// scheduleCatchUp runs a catch-up of userIDs (nil: every local user) in
// the background; requests that arrive while one runs are merged into one
// more run, so none is lost and none piles up.
func (n *Node) scheduleCatchUp(userIDs []string) {
	if n.bg.Closed() {
		return
	}
	if !n.catchups.add(userIDs) {
		return // the running loop will take it
	}
	started := n.spawn(func() {
		for !n.bg.Closed() {
			all, users, ok := n.catchups.take()
			if !ok {
				return
			}
			n.catchUp(all, users)
			if !all {
				n.resyncStatesOf(users)
			}
		}
		n.catchups.stop()
	})
	if !started {
		n.catchups.stop()
	}
}

// resyncStatesOf republishes the delivery states of users' messages held
// or sent lately here, and asks every other instance to do the same.
func (n *Node) resyncStatesOf(users []string) {
	n.republishStatesOf(users)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.publish(ctx, bus.Event{Kind: bus.KindResyncUsers, UserIDs: users})
}

// defaultCatchupTimeout is Options.CatchupTimeout's default: a socket's
// write deadline (10 s) three times over.
const defaultCatchupTimeout = 30 * time.Second

// catchupWorkers is how many users' catch-ups run at once. A user whose
// sockets do not read holds its catch-up until their write deadline closes
// them (WriteTimeout, up to Options.CatchupTimeout): run one after another, a
// few such users, an attacker's for one, would hold up every other user's
// missed messages for as long; run side by side, each holds one worker.
const catchupWorkers = 8

// catchUp applies bans made during an outage and pushes every undelivered
// message to this instance's connected recipients (sockets where one is
// still pending skip it), catchupWorkers users at a time. It is paced like
// a replay: each socket is sent about a page at a time, as fast as it
// reads; one that does not read is closed by its write deadline, and what
// it missed stays undelivered in the store for its next replay.
func (n *Node) catchUp(all bool, only []string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.CatchupTimeout)
	err := n.refreshBans(ctx)
	cancel()
	if err != nil {
		n.log.Warn("catchup_failed", zap.Error(err))
		return
	}
	if all {
		only = n.hub.UserIDs()
	}
	var (
		mu                    sync.Mutex
		users, pushed, failed int
		workers               errgroup.Group
	)
	workers.SetLimit(catchupWorkers)
	for _, uid := range only {
		if n.isBanned(uid) || n.bg.Closed() || !n.hub.Online(uid) {
			continue
		}
		workers.Go(func() error {
			k, err := n.catchUpUser(uid)
			mu.Lock()
			defer mu.Unlock()
			users++
			pushed += k
			switch {
			case err == nil:
			case errors.As(err, new(storeReadError)):
				// A store that fails for one user likely fails for all of
				// them: the first cause is logged, the rest counted in
				// catchup_done.
				if failed++; failed == 1 {
					n.log.Warn("catchup_failed", zap.String("userId", uid), zap.Error(err))
				}
			default: // its sockets did not take the messages within CatchupTimeout: theirs to read
				n.log.Debug("catchup_interrupted", zap.String("userId", uid), zap.Error(err))
			}
			return nil
		})
	}
	_ = workers.Wait() // every worker returns nil: each user's outcome is counted above
	n.metrics.CatchupDeliveries.Add(float64(pushed))
	fields := []zap.Field{zap.Int("users", users), zap.Int("pushed", pushed), zap.Bool("scoped", !all)}
	if failed > 0 { // named only when there is something to name: "failed=0" reads like a failure
		fields = append(fields, zap.Int("failed", failed))
	}
	n.log.Info("catchup_done", fields...)
}

// catchUpUser pushes userID's undelivered messages to each of its sockets
// here and returns how many pushes it made. Each socket pages through the
// store on its own, so one that does not read (a phone out of coverage)
// holds up only itself, not the same user's laptop.
func (n *Node) catchUpUser(userID string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.CatchupTimeout)
	defer cancel()
	var (
		pushed  atomic.Int64
		sockets errgroup.Group
	)
	for _, c := range n.hub.Sockets(userID) {
		sockets.Go(func() error {
			k, err := n.pushUndelivered(ctx, userID, func(ctx context.Context, msgs []chat.Message) (int, bool, error) {
				return n.catchUpPage(ctx, c, msgs)
			})
			pushed.Add(int64(k))
			return err
		})
	}
	err := sockets.Wait()
	return int(pushed.Load()), err
}

// catchUpPage pushes one page to socket c, paced to it (a pushPage). A ban
// that arrives meanwhile stops it: a banned user is sent nothing more. A
// socket that closed meanwhile stops it too, without an error: it gets its
// replay when it reconnects.
func (n *Node) catchUpPage(ctx context.Context, c *hub.Socket, msgs []chat.Message) (pushed int, more bool, err error) {
	for _, m := range msgs {
		if n.isBanned(c.UserID()) {
			return pushed, false, nil
		}
		ok, err := c.DeliverPaced(ctx, m)
		if err != nil {
			return pushed, false, ctx.Err()
		}
		if ok {
			pushed++
			n.metrics.MessagesSent.Inc()
		}
	}
	return pushed, true, nil
}

// logRetry says that a MESSAGE_SEND was a retry of a stored message (the
// ack repeats its messageId), and that its content differs when it does:
// the contract keeps the first content and acks the retry all the same.
// Content is never logged, only whether it matches. The warning is the
// client's doing, so it goes through the session's Repeats: a client that
// keeps doing it writes its first line and then a count.
func (n *Node) logRetry(s *Session, m chat.Message, content string) {
	if m.Content != content {
		s.logRepeats().Log(zapcore.WarnLevel, "chat_message_retry_content_differs", zap.String("messageId", m.ID),
			zap.String("senderId", m.SenderID), zap.String("clientMessageId", m.ClientMessageID))
		return
	}
	n.log.Info("chat_message_send_deduplicated", zap.String("messageId", m.ID),
		zap.String("senderId", m.SenderID), zap.String("clientMessageId", m.ClientMessageID), zap.Bool("delivered", m.Delivered()))
}

// logReplay says what a connect replayed; an empty replay only at debug.
func (n *Node) logReplay(userID string, count int) {
	lvl := zap.InfoLevel
	if count == 0 {
		lvl = zap.DebugLevel
	}
	if ce := n.log.Check(lvl, "replay_done"); ce != nil {
		ce.Write(zap.String("userId", userID), zap.Int("count", count))
	}
}
