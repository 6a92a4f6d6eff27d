//go:build linux

package main

// The simulated users of TestInstancesOnSeparateHosts: real WebSocket
// clients (core/client) that record every frame into a history.Recorder
// the way the sandbox's users do, acknowledge every MESSAGE, and resend
// a MESSAGE_SEND with the same clientMessageId until it is acknowledged.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// nsResendAfter is how long a send waits for its MESSAGE_ACK before it is
// sent again with the same clientMessageId.
const nsResendAfter = 2 * time.Second

// nsSend is one message a user wants stored, until its MESSAGE_ACK.
type nsSend struct {
	peer     string
	content  string
	attempts int
	last     time.Time // last write; zero: not written yet
	cutPhase int       // the test's cut phase when it was made (0: no cut)
}

// nsUser is one account driving one socket at a time. Safe for concurrent
// use. Lock rule: mu is never held while writing to a socket or recording.
type nsUser struct {
	name, id, token string
	home            string // instance it connects to by default
	rec             *history.Recorder

	mu        sync.Mutex
	conn      *client.Conn
	connID    string
	instance  string
	gen       int
	replaying bool
	closing   map[string]bool // connIDs the user closed itself
	seen      map[string]bool // messageIds received
	seq       int
	pending   map[string]*nsSend // clientMessageId -> send awaiting its ack
	sent      map[string]*nsSend // every clientMessageId ever made
	acked     map[string]string  // clientMessageId -> messageId
	banned    bool               // got ERROR BANNED
	changed   chan struct{}      // closed and replaced on every frame and disconnect
}

func newNSUser(name, id, token, home string, rec *history.Recorder) *nsUser {
	return &nsUser{name: name, id: id, token: token, home: home, rec: rec,
		closing: map[string]bool{}, seen: map[string]bool{}, pending: map[string]*nsSend{},
		sent: map[string]*nsSend{}, acked: map[string]string{}, changed: make(chan struct{})}
}

// notifyLocked wakes waiters; mu held.
func (u *nsUser) notifyLocked() {
	close(u.changed)
	u.changed = make(chan struct{})
}

// connected reports whether the user has an open socket.
func (u *nsUser) connected() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conn != nil
}

// connect opens a socket to instance at api, replacing none (call when
// disconnected). The Connect event is recorded before any frame of it.
func (u *nsUser) connect(ctx context.Context, instance string, api *client.API) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, _, err := client.Dial(dctx, api.WSURL(""), client.DialOptions{Token: u.token})
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.gen++
	connID := u.name + "#" + strconv.Itoa(u.gen)
	u.conn, u.connID, u.instance, u.replaying = c, connID, instance, true
	u.mu.Unlock()
	u.rec.Record(history.Event{Kind: history.Connect, Instance: instance, User: u.id, Conn: connID})
	go u.read(c, connID, instance)
	u.resendPending(true)
	return nil
}

// disconnect closes the current socket, if any, and waits for its reader
// to record the Disconnect.
func (u *nsUser) disconnect(ctx context.Context) {
	u.mu.Lock()
	c, id := u.conn, u.connID
	if c != nil {
		u.closing[id] = true
	}
	u.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.CloseNow()
	u.waitFor(ctx, func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.conn != c
	})
}

// read records the frames of c until it ends.
func (u *nsUser) read(c *client.Conn, connID, instance string) {
	base := history.Event{Instance: instance, User: u.id, Conn: connID}
	for {
		f, err := c.Next(context.Background())
		if err != nil {
			u.mu.Lock()
			byUs := u.closing[connID]
			if u.conn == c {
				u.conn = nil
			}
			u.mu.Unlock()
			ev := base
			ev.Kind = history.Disconnect
			var ce *client.CloseError
			switch {
			case byUs:
				ev.Detail = "client closed"
			case errors.As(err, &ce):
				ev.CloseCode = ce.Code
			default:
				ev.Detail = err.Error()
			}
			u.rec.Record(ev)
			u.mu.Lock()
			u.notifyLocked()
			u.mu.Unlock()
			return
		}
		u.handle(c, base, f)
		u.mu.Lock()
		u.notifyLocked()
		u.mu.Unlock()
	}
}

func (u *nsUser) handle(c *client.Conn, base history.Event, f client.Frame) {
	ev := base
	switch f.Type {
	case chat.TypeMessage:
		u.mu.Lock()
		replay, dup := u.replaying && u.conn == c, u.seen[f.MessageID]
		u.seen[f.MessageID] = true
		u.mu.Unlock()
		ev.Kind, ev.MessageID, ev.Peer, ev.Replay = history.Receive, f.MessageID, f.SenderID, replay
		u.rec.Record(ev)
		if dup {
			ev.Kind = history.DuplicateDrop
			u.rec.Record(ev)
		}
		// Every MESSAGE is acknowledged, repeats too (their first ack may
		// have been lost with a connection).
		u.rec.Record(history.Event{Kind: history.DeliveryAck, Instance: base.Instance, User: u.id,
			Conn: base.Conn, MessageID: f.MessageID, Peer: f.SenderID})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Ack(ctx, f.MessageID)
		cancel()
	case chat.TypeMessageAck:
		u.mu.Lock()
		delete(u.pending, f.ClientMessageID)
		u.acked[f.ClientMessageID] = f.MessageID
		u.mu.Unlock()
		ev.Kind, ev.ClientMessageID, ev.MessageID = history.Ack, f.ClientMessageID, f.MessageID
		u.rec.Record(ev)
	case chat.TypeMessageState:
		ev.Kind, ev.MessageID = history.StateChange, f.MessageID
		u.rec.Record(ev)
	case chat.TypeReplayDone:
		u.mu.Lock()
		if u.conn == c {
			u.replaying = false
		}
		u.mu.Unlock()
		ev.Kind = history.ReplayDone
		if f.Count != nil {
			ev.Count = *f.Count
		}
		u.rec.Record(ev)
	case chat.TypeError:
		if f.Code == chat.CodeBanned {
			u.mu.Lock()
			u.banned = true
			u.mu.Unlock()
		}
		ev.Kind, ev.Code, ev.ClientMessageID, ev.MessageID, ev.Detail = history.ErrorFrame, f.Code, f.ClientMessageID, f.MessageID, f.Message
		u.rec.Record(ev)
	}
}

// send makes a new message to peer and writes it if connected (else on
// the next connect).
func (u *nsUser) send(peer string, cutPhase int) {
	u.mu.Lock()
	u.seq++
	cmid := u.name + "-" + strconv.Itoa(u.seq)
	s := &nsSend{peer: peer, content: "netns-content " + cmid, cutPhase: cutPhase}
	u.pending[cmid], u.sent[cmid] = s, s
	u.mu.Unlock()
	u.write(cmid, s)
}

// nsResendBatch caps the resends of one call, well under the server's
// burst of 40 frames per connection, so a backlog (after a cut) drains
// over a few ticks instead of being rate limited.
const nsResendBatch = 10

// resendPending writes again the sends whose ack is overdue (all of them
// when all is set, after a connect), at most nsResendBatch.
func (u *nsUser) resendPending(all bool) {
	u.mu.Lock()
	var due []string
	now := time.Now()
	for cmid, s := range u.pending {
		if len(due) < nsResendBatch && (all || now.Sub(s.last) >= nsResendAfter) {
			due = append(due, cmid)
		}
	}
	u.mu.Unlock()
	for _, cmid := range due {
		u.mu.Lock()
		s := u.pending[cmid]
		u.mu.Unlock()
		if s != nil {
			u.write(cmid, s)
		}
	}
}

// write records and writes one attempt of s on the current socket. The
// Send event is recorded before the write, so its MESSAGE_ACK follows it.
func (u *nsUser) write(cmid string, s *nsSend) {
	u.mu.Lock()
	c, connID, instance := u.conn, u.connID, u.instance
	if c == nil {
		u.mu.Unlock()
		return
	}
	s.attempts++
	s.last = time.Now()
	attempt, peer, content := s.attempts, s.peer, s.content
	u.mu.Unlock()
	u.rec.Record(history.Event{Kind: history.Send, Instance: instance, User: u.id, Conn: connID,
		ClientMessageID: cmid, Peer: peer, Attempt: attempt})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.SendMessage(ctx, cmid, peer, content)
}

// waitFor waits until cond (called without mu) holds or ctx ends.
func (u *nsUser) waitFor(ctx context.Context, cond func() bool) bool {
	for {
		u.mu.Lock()
		ch := u.changed
		u.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cond()
		}
	}
}

// pendingCount is how many sends still await their ack.
func (u *nsUser) pendingCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.pending)
}

// isBanned reports whether the user got ERROR BANNED.
func (u *nsUser) isBanned() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.banned
}
