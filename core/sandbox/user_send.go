package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// sendTimeout bounds one MESSAGE_SEND write by the retry loop.
const sendTimeout = 5 * time.Second

// Send sends a direct message to the user called to (a simulated or stored
// user) and returns its clientMessageId once the frame is written. The
// MESSAGE_ACK is tracked in the background: a send with no MESSAGE_ACK
// within the cluster's RetryAfter (default 2 s) is sent again with the
// same clientMessageId (history Send with Attempt 2, 3, ...), and again at
// once after each Connect, until acked or refused for good (OutFailed).
// Sends are paced by the user's own limiter, below the server's rate
// limit, so Send may wait.
//
// Not connected: ErrNotConnected and nothing is queued. A write that fails
// (the connection just dropped) returns the cmid and the error; the send
// stays PENDING and is retried after the next Connect.
func (u *SimUser) Send(ctx context.Context, to, content string) (cmid string, err error) {
	toID, err := u.c.userID(ctx, to)
	if err != nil {
		return "", err
	}
	if !u.Connected() {
		return "", ErrNotConnected
	}
	if err := u.limiter.Wait(ctx); err != nil {
		return "", fmt.Errorf("sandbox: %s failed to send: %w", u.name, err)
	}
	now := time.Now()
	u.mu.Lock()
	conn := u.conn
	if conn == nil {
		u.mu.Unlock()
		return "", ErrNotConnected
	}
	u.cmidSeq++
	cmid = fmt.Sprintf("%s-%s-%d", u.name, u.c.runID, u.cmidSeq)
	u.outIdx[cmid] = len(u.outbox)
	u.outbox = append(u.outbox, OutboxEntry{
		ClientMessageID: cmid, To: to, ToID: toID, Content: content, State: OutPending,
		Attempts: 1, FirstSent: now, nextTry: now.Add(u.c.opts.RetryAfter),
	})
	ev := history.Event{Kind: history.Send, Instance: u.instance, User: u.id, Conn: u.connID,
		ClientMessageID: cmid, Peer: toID, Attempt: 1}
	u.mu.Unlock()
	u.poke()
	u.c.notify()

	// Recorded before the write, so its MESSAGE_ACK always follows it.
	u.c.hist.Record(ev)
	if err := conn.SendMessage(ctx, cmid, toID, content); err != nil {
		return cmid, fmt.Errorf("sandbox: %s failed to send: %w", u.name, err)
	}
	return cmid, nil
}

// Burst sends n direct messages, each to a random user among to (names),
// or among every other non-admin simulated user when to is empty. Sends
// are paced under the rate limit; Burst returns when all n were written,
// or at the first error.
func (u *SimUser) Burst(ctx context.Context, n int, to []string) error {
	if len(to) == 0 {
		for _, o := range u.c.Users() {
			if o != u && !o.admin {
				to = append(to, o.name)
			}
		}
	}
	if len(to) == 0 {
		return errors.New("sandbox: burst has no recipients")
	}
	for k := range n {
		r := to[u.c.intn(len(to))]
		content := fmt.Sprintf("burst %d/%d %s", k+1, n, words[u.c.intn(len(words))])
		if _, err := u.Send(ctx, r, content); err != nil {
			return err
		}
	}
	return nil
}

// words colour burst messages.
var words = [...]string{"hello", "ping", "lunch?", "on my way", "ok", "see you", "ship it", "lgtm", "brb", "thanks"}

// poke wakes the retry loop so it looks at the outbox again.
func (u *SimUser) poke() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// retry is one send due again.
type retry struct {
	conn    *client.Conn
	ev      history.Event
	content string
}

// dueRetries marks the PENDING sends that are due (and sendable: the user
// is connected) as sent once more, and returns them with the time the next
// one is due (zero when none is pending).
func (u *SimUser) dueRetries(now time.Time) ([]retry, time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var due []retry
	var next time.Time
	for i := range u.outbox {
		e := &u.outbox[i]
		if e.State != OutPending {
			continue
		}
		if u.conn != nil && !e.nextTry.After(now) {
			e.Attempts++
			e.nextTry = now.Add(u.c.opts.RetryAfter)
			due = append(due, retry{conn: u.conn, content: e.Content, ev: history.Event{
				Kind: history.Send, Instance: u.instance, User: u.id, Conn: u.connID,
				ClientMessageID: e.ClientMessageID, Peer: e.ToID, Attempt: e.Attempts,
			}})
		}
		if u.conn != nil && (next.IsZero() || e.nextTry.Before(next)) {
			next = e.nextTry
		}
	}
	return due, next
}

// retryLoop resends PENDING sends until ctx ends (the cluster closes).
func (u *SimUser) retryLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := u.dueRetries(time.Now())
		for _, r := range due {
			if err := u.limiter.Wait(ctx); err != nil {
				return
			}
			u.c.hist.Record(r.ev)
			sctx, cancel := context.WithTimeout(ctx, sendTimeout)
			_ = r.conn.SendMessage(sctx, r.ev.ClientMessageID, r.ev.Peer, r.content)
			cancel()
		}
		if len(due) > 0 {
			u.c.notify()
		}
		timer.Stop()
		var tc <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-u.wake:
		case <-tc:
		}
	}
}

// Ban bans the user called target through the admin HTTP API of instance
// (POST /api/admin/users/{id}/ban), and records history Ban once the API
// answered. Only admins may.
func (u *SimUser) Ban(ctx context.Context, instance, target string) error {
	return u.admin_(ctx, instance, target, true)
}

// Unban lifts the ban on target through instance's admin HTTP API and
// records history Unban.
func (u *SimUser) Unban(ctx context.Context, instance, target string) error {
	return u.admin_(ctx, instance, target, false)
}

func (u *SimUser) admin_(ctx context.Context, instance, target string, ban bool) error {
	if !u.admin {
		return fmt.Errorf("%w: %s", ErrNotAdmin, u.name)
	}
	inst := u.c.instances[instance]
	if inst == nil {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, instance)
	}
	if !inst.Running() {
		return fmt.Errorf("%w: %s", ErrInstanceStopped, instance)
	}
	id, err := u.c.userID(ctx, target)
	if err != nil {
		return err
	}
	api := &client.API{BaseURL: inst.URL()}
	kind, call := history.Ban, api.Ban
	if !ban {
		kind, call = history.Unban, api.Unban
	}
	if err := call(ctx, u.token, id); err != nil {
		return fmt.Errorf("sandbox: %s failed to %s %s: %w", u.name, kind, target, err)
	}
	u.c.hist.Record(history.Event{Kind: kind, Instance: instance, User: id, Detail: "by " + u.name})
	u.c.notify()
	return nil
}
