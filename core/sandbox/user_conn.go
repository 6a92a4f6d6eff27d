package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// ackTimeout bounds one DELIVERY_ACK write.
const ackTimeout = 5 * time.Second

// Connect dials the named instance's WebSocket with the user's token and
// records history Connect. It returns once the upgrade succeeded; frames
// (the replay, REPLAY_DONE, or ERROR BANNED and close 4003 for a banned
// user) are read in the background, recorded into history, the inbox and
// the outbox. Sends still PENDING are retried at once. Use WaitReady to
// wait for REPLAY_DONE.
func (u *SimUser) Connect(ctx context.Context, instance string) error {
	inst := u.c.instances[instance]
	if inst == nil {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, instance)
	}
	if u.c.bg.Closed() {
		return ErrClosed
	}
	if !inst.Running() {
		return fmt.Errorf("%w: %s", ErrInstanceStopped, instance)
	}
	u.mu.Lock()
	if u.conn != nil || u.dialing {
		u.mu.Unlock()
		return ErrAlreadyConnected
	}
	u.dialing = true
	u.mu.Unlock()

	conn, _, err := client.Dial(ctx, inst.WSURL(), client.DialOptions{Token: u.token})
	if err != nil {
		u.mu.Lock()
		u.dialing = false
		u.mu.Unlock()
		return fmt.Errorf("sandbox: %s failed to connect to %s: %w", u.name, instance, err)
	}
	u.mu.Lock()
	u.dialing = false
	u.connSeq++
	gen := u.connSeq
	connID := fmt.Sprintf("%s#%d", u.name, gen)
	u.conn, u.connID, u.instance = conn, connID, instance
	u.closing, u.replaying, u.connEnded = false, true, false
	u.connFrames = nil
	done := make(chan struct{})
	u.readerDone = done
	now := time.Now()
	for i := range u.outbox {
		if u.outbox[i].State == OutPending {
			u.outbox[i].nextTry = now
		}
	}
	u.mu.Unlock()

	u.c.hist.Record(history.Event{Kind: history.Connect, Instance: instance, User: u.id, Conn: connID})
	if !u.c.goBg(func() {
		defer close(done)
		u.read(conn, gen, connID, instance)
	}) {
		// Closed meanwhile: nobody reads this connection, so end it here.
		_ = conn.CloseNow()
		u.read(conn, gen, connID, instance)
		close(done)
		return ErrClosed
	}
	u.poke()
	u.c.notify()
	return nil
}

// Disconnect closes the connection with 1000, as a browser tab closing
// would, and waits until its frames are all recorded. A no-op when not
// connected.
func (u *SimUser) Disconnect() {
	u.mu.Lock()
	conn, done := u.conn, u.readerDone
	if conn != nil {
		u.closing = true
	}
	u.mu.Unlock()
	if conn == nil {
		return
	}
	_ = conn.Close()
	<-done
}

// Reconnect disconnects (if connected) and connects again to the same
// instance as before.
func (u *SimUser) Reconnect(ctx context.Context) error {
	inst := u.Instance()
	if inst == "" {
		return ErrNotConnected
	}
	u.Disconnect()
	return u.Connect(ctx, inst)
}

// Move disconnects (if connected) and connects to instance.
func (u *SimUser) Move(ctx context.Context, instance string) error {
	if u.c.instances[instance] == nil {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, instance)
	}
	u.Disconnect()
	return u.Connect(ctx, instance)
}

// read consumes one connection's frames until it ends, then records the
// Disconnect.
func (u *SimUser) read(conn *client.Conn, gen int, connID, instance string) {
	var end error
	for {
		f, err := conn.Next(context.Background())
		if err != nil {
			end = err
			break
		}
		u.handle(conn, gen, connID, instance, f)
	}
	<-conn.Done()
	code, _, _ := conn.CloseStatus()
	if ce := (*client.CloseError)(nil); errors.As(end, &ce) {
		code = ce.Code
	}
	u.mu.Lock()
	byUs := u.closing
	var ended []*frameWaiter
	if u.connSeq == gen {
		u.conn = nil
		u.connEnded = true
		u.lastClose, u.closedOnce = code, true
		u.addSocketEventLocked(SocketEvent{At: time.Now(), Instance: instance, CloseCode: code, ByClient: byUs})
		for w := range u.waiters {
			if w.gen == gen {
				ended = append(ended, w)
			}
		}
	}
	u.mu.Unlock()
	for _, w := range ended {
		close(w.ended)
	}
	ev := history.Event{Kind: history.Disconnect, Instance: instance, User: u.id, Conn: connID}
	if byUs {
		ev.Detail = "client closed"
	} else {
		ev.CloseCode = code
	}
	u.c.hist.Record(ev)
	u.c.notify()
}

// handle records one frame and acts on it.
func (u *SimUser) handle(conn *client.Conn, gen int, connID, instance string, f client.Frame) {
	base := history.Event{Instance: instance, User: u.id, Conn: connID}
	switch f.Type {
	case chat.TypeMessage:
		u.handleMessage(conn, base, f)
	case chat.TypeMessageAck:
		u.handleAck(base, f)
	case chat.TypeMessageState:
		u.handleState(base, f)
	case chat.TypeReplayDone:
		u.mu.Lock()
		u.replaying = false
		u.mu.Unlock()
		ev := base
		ev.Kind = history.ReplayDone
		if f.Count != nil {
			ev.Count = *f.Count
		}
		u.c.hist.Record(ev)
	case chat.TypeError:
		u.handleError(base, f)
	}
	u.addFrame(gen, f)
	u.c.notify()
}

func (u *SimUser) handleMessage(conn *client.Conn, base history.Event, f client.Frame) {
	from := u.c.userName(context.Background(), f.SenderID)
	at, _ := time.Parse(time.RFC3339Nano, f.CreatedAt)

	u.mu.Lock()
	replay := u.replaying
	i, dup := u.inboxIdx[f.MessageID]
	if dup {
		u.inbox[i].Duplicates++
		u.inbox[i].Acked = false
	} else {
		i = len(u.inbox)
		u.inboxIdx[f.MessageID] = i
		u.inbox = append(u.inbox, InboxEntry{
			MessageID: f.MessageID, From: from, FromID: f.SenderID, Content: f.Content,
			At: at, ReceivedAt: time.Now(), Replayed: replay,
		})
	}
	ack, dropped := u.autoAck, false
	if ack && u.dropAcks > 0 {
		u.dropAcks--
		ack, dropped = false, true
	}
	if ack {
		u.inbox[i].Acked = true
	}
	u.mu.Unlock()

	ev := base
	ev.Kind, ev.MessageID, ev.Peer, ev.Replay = history.Receive, f.MessageID, f.SenderID, replay
	u.c.hist.Record(ev)
	if dup {
		ev.Kind = history.DuplicateDrop
		u.c.hist.Record(ev)
	}
	switch {
	case dropped:
		u.c.hist.Record(history.Event{Kind: history.AckDropped, Instance: base.Instance, User: u.id,
			Conn: base.Conn, MessageID: f.MessageID, Peer: f.SenderID})
	case ack:
		u.sendAck(conn, base, f.MessageID, f.SenderID)
	}
}

// sendAck records and sends one DELIVERY_ACK. It is recorded before it is
// written, so the sender's MESSAGE_STATE can never precede it in history.
func (u *SimUser) sendAck(conn *client.Conn, base history.Event, mid, peer string) {
	u.c.hist.Record(history.Event{Kind: history.DeliveryAck, Instance: base.Instance, User: u.id,
		Conn: base.Conn, MessageID: mid, Peer: peer})
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := conn.Ack(ctx, mid); err != nil {
		u.unack(mid)
	}
}

func (u *SimUser) handleAck(base history.Event, f client.Frame) {
	u.mu.Lock()
	lost := false
	if u.loseAcks > 0 {
		u.loseAcks--
		lost = true
	} else if i, ok := u.outIdx[f.ClientMessageID]; ok {
		e := &u.outbox[i]
		e.MessageID = f.MessageID
		u.midOut[f.MessageID] = i
		if e.State == OutPending || e.State == OutFailed {
			e.State = OutSent
		}
		if u.early[f.MessageID] {
			delete(u.early, f.MessageID)
			e.State = OutDelivered
		}
	}
	u.mu.Unlock()
	ev := base
	ev.Kind, ev.ClientMessageID, ev.MessageID, ev.LostOnPurpose = history.Ack, f.ClientMessageID, f.MessageID, lost
	u.c.hist.Record(ev)
	if lost {
		u.poke()
	}
}

func (u *SimUser) handleState(base history.Event, f client.Frame) {
	u.mu.Lock()
	if i, ok := u.midOut[f.MessageID]; ok {
		u.outbox[i].State = OutDelivered
	} else {
		u.early[f.MessageID] = true
	}
	u.mu.Unlock()
	ev := base
	ev.Kind, ev.MessageID = history.StateChange, f.MessageID
	u.c.hist.Record(ev)
}

// finalErrors are ERROR codes after which a send is not retried.
func finalError(code string) bool {
	switch code {
	case chat.CodeUnknownRecipient, chat.CodeTooLarge, chat.CodeBadFrame, chat.CodeForbidden:
		return true
	}
	return false
}

func (u *SimUser) handleError(base history.Event, f client.Frame) {
	u.mu.Lock()
	u.addSocketEventLocked(SocketEvent{At: time.Now(), Instance: base.Instance, Code: f.Code, Message: f.Message, ClientMessageID: f.ClientMessageID})
	u.mu.Unlock()
	if f.ClientMessageID != "" {
		u.mu.Lock()
		if i, ok := u.outIdx[f.ClientMessageID]; ok {
			e := &u.outbox[i]
			e.Errors = append(e.Errors, f.Code)
			if e.State == OutPending && finalError(f.Code) {
				e.State = OutFailed
			}
		}
		u.mu.Unlock()
	}
	ev := base
	ev.Kind, ev.Code, ev.ClientMessageID, ev.MessageID, ev.Detail = history.ErrorFrame, f.Code, f.ClientMessageID, f.MessageID, f.Message
	u.c.hist.Record(ev)
}

// addFrame logs f and queues it for the waiters of its connection.
func (u *SimUser) addFrame(gen int, f client.Frame) {
	u.mu.Lock()
	u.frames = append(u.frames, f)
	if len(u.frames) >= 2*FramesKept { // trimmed in halves: amortised O(1)
		u.frames = append(u.frames[:0:0], u.frames[len(u.frames)-FramesKept:]...)
	}
	var ws []*frameWaiter
	if u.connSeq == gen {
		u.connFrames = append(u.connFrames, f)
		if len(u.connFrames) > connFramesKept {
			u.connFrames = append(u.connFrames[:0:0], u.connFrames[len(u.connFrames)-connFramesKept/2:]...)
		}
		for w := range u.waiters {
			if w.gen == gen {
				ws = append(ws, w)
			}
		}
	}
	u.mu.Unlock()
	for _, w := range ws {
		w.push(f)
	}
}

// push queues f for the waiter without blocking.
func (w *frameWaiter) push(f client.Frame) {
	w.mu.Lock()
	w.queue = append(w.queue, f)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// take empties the waiter's queue.
func (w *frameWaiter) take() []client.Frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// WaitFrame returns the first frame pred matches among those of the
// current connection (or, when disconnected, of the last one): first the
// frames already received on it (up to the last 4096), then those still to
// come, in order. pred is called only from the calling goroutine, once per
// frame, in order, so it may keep state (e.g. count frames). WaitFrame
// fails with ErrConnectionEnded when that connection ends without a match,
// ErrNotConnected before any connection, and ctx's error when ctx ends
// first. A later Connect does not carry a wait over to the new connection.
func (u *SimUser) WaitFrame(ctx context.Context, pred func(client.Frame) bool) (client.Frame, error) {
	u.mu.Lock()
	if u.connSeq == 0 {
		u.mu.Unlock()
		return client.Frame{}, ErrNotConnected
	}
	w := &frameWaiter{gen: u.connSeq, signal: make(chan struct{}, 1), ended: make(chan struct{})}
	held := append([]client.Frame(nil), u.connFrames...)
	ended := u.connEnded
	if !ended {
		u.waiters[w] = struct{}{}
	}
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		delete(u.waiters, w)
		u.mu.Unlock()
	}()
	for _, f := range held {
		if pred(f) {
			return f, nil
		}
	}
	if ended {
		return client.Frame{}, ErrConnectionEnded
	}
	for {
		var end bool
		select {
		case <-w.signal:
		case <-w.ended:
			end = true
		case <-ctx.Done():
			return client.Frame{}, ctx.Err()
		}
		// Frames are queued before the end is signalled: after the end,
		// one last take sees them all.
		for _, f := range w.take() {
			if pred(f) {
				return f, nil
			}
		}
		if end {
			return client.Frame{}, ErrConnectionEnded
		}
	}
}

// WaitReady waits for REPLAY_DONE on the current connection. A banned user
// gets an error carrying the BANNED code instead (the connection ends).
func (u *SimUser) WaitReady(ctx context.Context) error {
	f, err := u.WaitFrame(ctx, client.OfType(chat.TypeReplayDone, chat.TypeError))
	switch {
	case err != nil:
		return err
	case f.Type == chat.TypeError && f.Code == chat.CodeBanned:
		return fmt.Errorf("sandbox: %s: %w", u.name, errBanned)
	case f.Type == chat.TypeError:
		// Some other error before the replay ended: keep waiting for it.
		_, err := u.WaitFrame(ctx, client.OfType(chat.TypeReplayDone))
		return err
	}
	return nil
}

// errBanned is returned by WaitReady for a banned user.
var errBanned = errors.New("banned")

// AckPending sends a DELIVERY_ACK for every received message not yet
// acked (the manual ack when auto-ack is off). Acks the user was told to
// drop (DropDeliveryAcks) are dropped here too.
func (u *SimUser) AckPending(ctx context.Context) error {
	u.mu.Lock()
	conn := u.conn
	if conn == nil {
		u.mu.Unlock()
		return ErrNotConnected
	}
	base := history.Event{Instance: u.instance, User: u.id, Conn: u.connID}
	type item struct {
		mid, from string
		drop      bool
	}
	var todo []item
	for i := range u.inbox {
		e := &u.inbox[i]
		if e.Acked {
			continue
		}
		it := item{mid: e.MessageID, from: e.FromID}
		if u.dropAcks > 0 {
			u.dropAcks--
			it.drop = true
		} else {
			e.Acked = true
		}
		todo = append(todo, it)
	}
	u.mu.Unlock()
	for _, it := range todo {
		if it.drop {
			u.c.hist.Record(history.Event{Kind: history.AckDropped, Instance: base.Instance, User: u.id,
				Conn: base.Conn, MessageID: it.mid, Peer: it.from})
			continue
		}
		if err := ctx.Err(); err != nil {
			u.unack(it.mid)
			continue
		}
		u.sendAck(conn, base, it.mid, it.from)
	}
	u.c.notify()
	return ctx.Err()
}

// unack marks the inbox entry mid as not acked.
func (u *SimUser) unack(mid string) {
	u.mu.Lock()
	if i, ok := u.inboxIdx[mid]; ok {
		u.inbox[i].Acked = false
	}
	u.mu.Unlock()
}
