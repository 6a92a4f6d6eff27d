package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/internal/wheel"
	"github.com/dmchat/dmchat/core/logging"
)

var errShuttingDown = errors.New("node: shutting down")

// ErrTooManyConnections is returned by Attach for a user who already has
// WS_MAX_SOCKETS_PER_USER sockets on this instance.
var ErrTooManyConnections = errors.New("node: too many connections for this user")

// Flood policy: this many over-limit frames within floodWindow close the
// connection with 1008.
const (
	floodLimit  = 100
	floodWindow = 10 * time.Second
)

// Session is one authenticated socket's protocol state: its hub client,
// rate limiters (its own and its user's, shared with the user's other
// sessions here) and token expiry. The transport's read loop owns it and
// calls HandleFrame for each frame, sequentially.
type Session struct {
	n           *Node
	c           *hub.Socket
	limiter     *rate.Limiter
	userLimiter *rate.Limiter // nil until Attach succeeds
	// expiry is s's entry in the node's expiry wheel, nil if its token
	// does not expire (see expiry.go); set by Attach before it returns s.
	expiry *wheel.Entry[*Session]
	// repeats keeps one client's repeated warnings to a line and a count.
	// Made on the first warning (see logRepeats): most sessions never log
	// one, and an idle socket should not carry it.
	repeats atomic.Pointer[logging.Repeats]

	// tokenID is the token's id for a session opened by AttachToken, set
	// when it enters the node's token table (Close takes it out again);
	// guarded by that table's mutex. It shares the table key's bytes.
	tokenID string

	overLimit []time.Time // ring of the last floodLimit over-limit times
	overNext  int

	closeOnce sync.Once
}

// Attach starts a session for user on conn: a banned user gets ERROR
// BANNED then close 4003 (and ErrBanned); anyone else is registered,
// replayed everything not yet DELIVERED, oldest first, then REPLAY_DONE.
// The token's expiry closes the socket with 4001. The caller runs the read
// loop, feeding HandleFrame, and calls Close when it ends.
func (n *Node) Attach(ctx context.Context, user chat.User, expires time.Time, conn hub.Transport) (*Session, error) {
	c := n.hub.NewSocket(user.ID, user.Role, conn)
	s := &Session{n: n, c: c, limiter: rate.NewLimiter(rate.Limit(n.opts.Rate), n.opts.Burst)}
	if n.bg.Closed() {
		c.Close(chat.CloseGoingAway, "server shutting down")
		return s, errShuttingDown
	}
	n.known.Store(user.ID, struct{}{})
	if n.bannedNow(ctx, user) {
		frame, _ := errorFrame(ErrBanned)
		c.CloseAfter(frame, chat.CloseBanned, "banned")
		return s, ErrBanned
	}
	c.BeginReplay()
	if err := n.hub.Register(c); errors.Is(err, hub.ErrTooManySockets) {
		frame, code := errorFrame(ErrTooManyConnections)
		n.metrics.Errors.WithLabelValues(code).Inc()
		c.CloseAfter(frame, chat.ClosePolicy, "too many connections")
		return s, ErrTooManyConnections
	}
	// Shutdown closes bg before it closes every registered client, so a
	// client registered too late for that sees it closed here.
	if n.bg.Closed() {
		c.Close(chat.CloseGoingAway, "server shutting down")
		return s, errShuttingDown
	}
	// Registering subscribed this instance to the user's channel (with
	// their first socket here); wait for Redis to confirm it before reading
	// the store, so every message stored after the replay's read is
	// published where we hear it. Without a confirmation in time, the bus
	// calls UsersResubscribed once it comes, and a catch-up fills the gap.
	if err := n.bus.WaitSubscribed(ctx, user.ID); err != nil {
		n.log.Debug("subscribe_unconfirmed", zap.String("userId", user.ID), zap.Error(err))
	}
	// A ban applied before the subscription was in place was published
	// where we did not hear it, but stored before: look again.
	if n.bannedAfterRegister(ctx, user) {
		n.kickLocal(user.ID)
		return s, ErrBanned
	}
	count, err := n.replay(ctx, c)
	if err != nil {
		n.logReplayFailed(ctx, user.ID, err)
		c.Close(chat.CloseInternalError, "replay failed")
		return s, err
	}
	if failed := n.replays.Succeeded(); failed > 0 {
		n.log.Info("replay_recovered", zap.Int("failedReplays", failed))
	}
	c.EndReplay(count)
	n.logReplay(user.ID, count)
	n.metrics.MessagesReplayed.Add(float64(count))
	s.userLimiter = n.userLimits.acquire(user.ID)
	// Armed last, so no failed Attach leaves an expiry behind; a token
	// that expired during the replay closes the socket at once.
	if !expires.IsZero() {
		s.armExpiry(expires)
	}
	return s, nil
}

// replay pushes c's user's undelivered messages to c alone, held back
// from live pushes until EndReplay.
func (n *Node) replay(ctx context.Context, c *hub.Socket) (int, error) {
	return n.pushUndelivered(ctx, c.UserID(), func(ctx context.Context, msgs []chat.Message) (int, bool, error) {
		k, err := c.Replay(ctx, msgs)
		return k, true, err
	})
}

// logReplayFailed logs a replay that did not reach REPLAY_DONE. A store
// that fails is logged once per outage (a reconnecting crowd would
// otherwise write a warning per attempt); a socket that closed or a
// connect that was given up during its replay is the client's doing, so
// only at debug.
func (n *Node) logReplayFailed(ctx context.Context, userID string, err error) {
	if ctx.Err() != nil || !errors.As(err, new(storeReadError)) {
		n.log.Debug("replay_interrupted", zap.String("userId", userID), zap.Error(err))
		return
	}
	if n.replays.Failed() {
		n.log.Warn("replay_failed", zap.String("userId", userID), zap.Error(err))
	}
}

// Client is the session's hub client.
func (s *Session) Client() *hub.Socket { return s.c }

// Close ends the session (the read loop ended); code is used if the socket
// is still open. Idempotent.
func (s *Session) Close(code int, reason string) {
	s.closeOnce.Do(func() {
		s.disarmExpiry()
		s.c.Close(code, reason)
		if s.userLimiter != nil {
			s.n.userLimits.release(s.c.UserID())
		}
		s.n.tokens.remove(s)
		if r := s.repeats.Load(); r != nil {
			r.Flush()
		}
	})
}

// logRepeats returns the session's Repeats, making it on first use. The
// read loop and a closer (ping timeout, expiry, kick) may race here; both
// end up with the one stored.
func (s *Session) logRepeats() *logging.Repeats {
	if r := s.repeats.Load(); r != nil {
		return r
	}
	r := logging.NewRepeats(s.n.log, zap.String("userId", s.c.UserID()))
	if s.repeats.CompareAndSwap(nil, r) {
		return r
	}
	return s.repeats.Load()
}

// HandleFrame processes one frame from the client. Errors are answered
// with ERROR frames; only flooding closes the socket. Frames read after the
// socket was closed (they were on their way) are ignored.
func (s *Session) HandleFrame(ctx context.Context, data []byte) {
	if s.closed() {
		return
	}
	if s.n.isBanned(s.c.UserID()) {
		return // the kick is on its way; frames read meanwhile are void
	}
	f, err := chat.DecodeFrame(data)
	// Only the first ack of a message pushed here is exempt: repeats cost
	// a frame like any other.
	exempt := err == nil && f.Type == chat.TypeDeliveryAck && s.c.AwaitingAck(f.MessageID)
	if !exempt && !allowBoth(s.limiter, s.userLimiter, time.Now()) {
		s.logRepeats().Log(zapcore.InfoLevel, "rate_limited")
		// Name the frame when it names something: a send's clientMessageId,
		// an ack's messageId.
		s.sendError(errRateLimited, f.ClientMessageID, f.MessageID)
		s.noteOverLimit()
		return
	}
	if err != nil {
		// DecodeFrame's failures are *chat.FrameError, naming the frame
		// when they can.
		cmid, mid := "", ""
		if fe := (*chat.FrameError)(nil); errors.As(err, &fe) {
			cmid, mid = fe.ClientMessageID, fe.MessageID
		}
		s.sendError(err, cmid, mid)
		return
	}
	switch f.Type {
	case chat.TypeMessageSend:
		s.n.send(ctx, s, f)
	case chat.TypeDeliveryAck:
		s.n.deliveryAck(ctx, s, f.MessageID)
	}
}

// sendError answers err with an ERROR frame (see wireError) naming the
// frame it is about, and counts it by code.
func (s *Session) sendError(err error, cmid, mid string) {
	code, msg := wireError(err)
	s.n.metrics.Errors.WithLabelValues(code).Inc()
	s.c.SendError(code, msg, cmid, mid)
}

func (s *Session) noteOverLimit() {
	now := time.Now()
	if s.overLimit == nil {
		s.overLimit = make([]time.Time, floodLimit)
	}
	s.overLimit[s.overNext] = now
	s.overNext = (s.overNext + 1) % floodLimit
	// The slot after this one holds the oldest of the last floodLimit
	// over-limit frames, this one included: zero until there are that many.
	if oldest := s.overLimit[s.overNext]; !oldest.IsZero() && now.Sub(oldest) < floodWindow {
		s.n.log.Warn("flood_closed", zap.String("userId", s.c.UserID()))
		s.Close(chat.ClosePolicy, "rate limit exceeded")
	}
}

// closed reports whether the socket was closed (by the flood rule, a
// kick, a slow write...): what the client sent before it learnt so is void.
func (s *Session) closed() bool {
	select {
	case <-s.c.Done():
		return true
	default:
		return false
	}
}
