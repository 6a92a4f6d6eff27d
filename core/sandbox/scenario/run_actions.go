package scenario

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/sandbox"
)

func (s *userStep) run(ctx context.Context, x *execution) (string, error) {
	u := x.c.User(s.name)
	reused := u != nil
	if u == nil {
		var err error
		if u, err = x.c.CreateUser(ctx, s.name, s.admin); err != nil {
			return "", err
		}
	}
	if s.admin && !u.IsAdmin() {
		return "", fmt.Errorf("%s exists and is not an admin", s.name)
	}
	x.users[s.name], x.home[s.name] = u, s.instance
	if reused {
		return fmt.Sprintf("reusing %s (id %s)", s.name, u.ID()), nil
	}
	return fmt.Sprintf("id %s", u.ID()), nil
}

// ready waits for REPLAY_DONE on u's new socket; a banned user's refusal
// (ERROR BANNED, close 4003) is reported, not failed: expectations check it.
func (x *execution) ready(ctx context.Context, u *sandbox.SimUser) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	f, err := u.WaitFrame(wctx, func(f clientFrame) bool {
		return f.Type == chat.TypeReplayDone || f.Type == chat.TypeError && f.Code == chat.CodeBanned
	})
	if err != nil {
		return "", fmt.Errorf("no REPLAY_DONE on %s: %w", u.ConnID(), err)
	}
	if f.Type == chat.TypeError {
		return fmt.Sprintf("%s on %s refused: ERROR BANNED", u.ConnID(), u.Instance()), nil
	}
	return fmt.Sprintf("%s on %s, replayed %s", u.ConnID(), u.Instance(), frameField(f, "count")), nil
}

func (s *connectStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	inst := s.instance
	if inst == "" {
		inst = x.home[s.user]
	}
	if err := u.Connect(ctx, inst); err != nil {
		return "", err
	}
	return x.ready(ctx, u)
}

func (s *disconnectStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	if !u.Connected() {
		return "", fmt.Errorf("%s is not connected", s.user)
	}
	u.Disconnect()
	return "", nil
}

func (s *reconnectStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	if err := u.Reconnect(ctx); err != nil {
		return "", err
	}
	return x.ready(ctx, u)
}

func (s *moveStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	if err := u.Move(ctx, s.instance); err != nil {
		return "", err
	}
	return x.ready(ctx, u)
}

func (s *sendStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.from)
	if err != nil {
		return "", err
	}
	content, err := x.expand(s.content)
	if err != nil {
		return "", err
	}
	cmid, err := u.Send(ctx, s.to, content)
	if err != nil {
		return "", err
	}
	if s.label != "" {
		x.labels[s.label] = label{sender: s.from, recipient: s.to, cmid: cmid}
	}
	var e sandbox.OutboxEntry
	err = poll(ctx, x.timeout, func() (bool, string, error) {
		e, _ = u.OutboxEntry(cmid)
		switch e.State {
		case sandbox.OutPending:
			return false, fmt.Sprintf("no MESSAGE_ACK for %s after %d attempt(s)", cmid, e.Attempts), nil
		case sandbox.OutFailed:
			return false, "", fmt.Errorf("refused: %s", strings.Join(e.Errors, ", "))
		}
		return true, "", nil
	})
	if err != nil {
		return "cmid " + cmid, err
	}
	return fmt.Sprintf("cmid %s, messageId %s, %d attempt(s)", cmid, e.MessageID, e.Attempts), nil
}

func (s *burstStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.from)
	if err != nil {
		return "", err
	}
	before := len(u.Outbox())
	if err := u.Burst(ctx, s.n, s.to); err != nil {
		return "", err
	}
	var pending int
	err = poll(ctx, x.timeout, func() (bool, string, error) {
		pending = 0
		for _, e := range u.Outbox()[before:] {
			if e.State == sandbox.OutPending {
				pending++
			}
		}
		return pending == 0, fmt.Sprintf("%d of %d sends still without MESSAGE_ACK", pending, s.n), nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d messages acknowledged", s.n), nil
}

func (s *autoAckStep) run(_ context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	u.SetAutoAck(s.on)
	return "", nil
}

func (s *dropAcksStep) run(_ context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	if s.message {
		u.LoseMessageAcks(s.n)
		return fmt.Sprintf("%s ignores its next %d MESSAGE_ACK(s)", s.user, s.n), nil
	}
	u.DropDeliveryAcks(s.n)
	return fmt.Sprintf("%s skips its next %d DELIVERY_ACK(s)", s.user, s.n), nil
}

func (s *ackStep) run(ctx context.Context, x *execution) (string, error) {
	u, err := x.user(s.user)
	if err != nil {
		return "", err
	}
	unacked := 0
	for _, e := range u.Inbox() {
		if !e.Acked {
			unacked++
		}
	}
	if err := u.AckPending(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("acked %d message(s)", unacked), nil
}

func (s *banStep) run(ctx context.Context, x *execution) (string, error) {
	admin, err := x.user(s.admin)
	if err != nil {
		return "", err
	}
	inst := s.instance
	if inst == "" {
		inst = x.instanceOf(s.admin)
	}
	if s.unban {
		err = admin.Unban(ctx, inst, s.target)
	} else {
		err = admin.Ban(ctx, inst, s.target)
	}
	if err != nil {
		return "", err
	}
	return "via " + inst, nil
}

func (s *redisStep) run(_ context.Context, x *execution) (string, error) {
	if s.start {
		return "", x.c.StartRedis()
	}
	x.c.StopRedis()
	return "", nil
}

func (s *instanceStep) run(ctx context.Context, x *execution) (string, error) {
	if s.start {
		return "", x.c.StartInstance(ctx, s.name)
	}
	return "", x.c.StopInstance(ctx, s.name)
}

func (s *busStep) run(_ context.Context, x *execution) (string, error) {
	f := sandbox.BusFault{Latency: s.latency, DropRate: s.drop}
	x.c.SetBusFault(f)
	if f.String() == "" {
		return "bus healthy", nil
	}
	return f.String(), nil
}

func (s *waitStep) run(ctx context.Context, _ *execution) (string, error) {
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case <-t.C:
		return "", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *waitUntilStep) run(ctx context.Context, x *execution) (string, error) {
	d := x.within(s.within)
	every := pollEvery
	var cond func() (bool, string, error)
	switch s.cond {
	case "connected", "disconnected":
		u, err := x.user(s.user)
		if err != nil {
			return "", err
		}
		want := s.cond == "connected"
		cond = func() (bool, string, error) {
			return u.Connected() == want, fmt.Sprintf("%s is not %s", s.user, s.cond), nil
		}
	case "redis-up", "redis-down":
		want := s.cond == "redis-up"
		cond = func() (bool, string, error) { return x.c.RedisUp() == want, "", nil }
	case "running", "stopped":
		inst := x.c.Instance(s.instance)
		if inst == nil {
			return "", fmt.Errorf("no instance %s", s.instance)
		}
		want := s.cond == "running"
		cond = func() (bool, string, error) { return inst.Running() == want, "", nil }
	case "delivered":
		every = 100 * time.Millisecond
		cond = func() (bool, string, error) {
			left, err := undelivered(ctx, x.c, 5)
			if err != nil {
				return false, err.Error(), nil
			}
			return len(left) == 0, "still not DELIVERED: " + strings.Join(left, ", "), nil
		}
	default:
		return "", fmt.Errorf("unknown condition %q", s.cond)
	}
	start := time.Now()
	err := pollWith(ctx, d, every, cond)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("after %s", time.Since(start).Round(time.Millisecond)), nil
}

// undelivered lists up to max messages in the store not yet DELIVERED, as
// "id to NAME".
func undelivered(ctx context.Context, c *sandbox.Cluster, max int) ([]string, error) {
	users, err := c.Store().ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		msgs, err := c.Store().Undelivered(ctx, u.ID, "", max)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if len(out) == max {
				return append(out, "..."), nil
			}
			out = append(out, m.ID+" to "+u.Username)
		}
	}
	return out, nil
}
