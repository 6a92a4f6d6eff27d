package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// rawConnPrefix starts the connection ids of raw sockets in the history.
const rawConnPrefix = "raw:"

// rawConn is a user's extra socket for "raw" steps: the runner's own
// client.Conn, so that any text can be sent (bad frames, oversized
// frames, floods) without disturbing the simulated user. What it receives
// is recorded in the history like a simulated user's socket (it never
// acks by itself; a raw DELIVERY_ACK frame is recorded as sent).
type rawConn struct {
	conn     *client.Conn
	id       string // history connection id
	userID   string
	instance string
	rec      *history.Recorder
	done     chan struct{} // closed when the reader ended

	mu        sync.Mutex // guards the fields below
	frames    []client.Frame
	consumed  map[string]int
	replaying bool
	ended     bool
	closeCode int
}

// raw returns the user's raw socket, opening it on the user's instance
// (and waiting for its REPLAY_DONE, or its refusal) the first time, or
// again after it ended.
func (x *execution) raw(ctx context.Context, name string) (*rawConn, error) {
	x.mu.Lock()
	rc := x.raws[name]
	x.mu.Unlock()
	if rc != nil {
		rc.mu.Lock()
		ended := rc.ended
		rc.mu.Unlock()
		if !ended {
			return rc, nil
		}
	}
	u, err := x.user(name)
	if err != nil {
		return nil, err
	}
	inst := x.instanceOf(name)
	in := x.c.Instance(inst)
	if in == nil || !in.Running() {
		return nil, fmt.Errorf("instance %s is not running", inst)
	}
	x.mu.Lock()
	n := len(x.raws) + 1
	x.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	conn, _, err := client.Dial(dctx, in.WSURL(), client.DialOptions{Token: u.Token()})
	if err != nil {
		return nil, fmt.Errorf("raw socket of %s: %w", name, err)
	}
	rc = &rawConn{
		conn: conn, id: fmt.Sprintf("%s%s#%d", rawConnPrefix, name, n), userID: u.ID(), instance: inst,
		rec: x.c.History(), done: make(chan struct{}), consumed: map[string]int{}, replaying: true,
	}
	rc.rec.Record(history.Event{Kind: history.Connect, Instance: inst, User: rc.userID, Conn: rc.id})
	go rc.read()
	x.mu.Lock()
	x.raws[name] = rc
	x.mu.Unlock()
	err = poll(ctx, x.timeout, func() (bool, string, error) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, f := range rc.frames {
			if f.Type == chat.TypeReplayDone || f.Type == chat.TypeError && f.Code == chat.CodeBanned {
				return true, "", nil
			}
		}
		return rc.ended, "no REPLAY_DONE on " + rc.id, nil
	})
	return rc, err
}

// read records every frame until the socket ends.
func (rc *rawConn) read() {
	defer close(rc.done)
	base := history.Event{Instance: rc.instance, User: rc.userID, Conn: rc.id}
	for {
		f, err := rc.conn.Next(context.Background())
		if err != nil {
			break
		}
		rc.mu.Lock()
		replay := rc.replaying
		if f.Type == chat.TypeReplayDone {
			rc.replaying = false
		}
		rc.frames = append(rc.frames, f)
		rc.mu.Unlock()
		ev := base
		switch f.Type {
		case chat.TypeMessage:
			ev.Kind, ev.MessageID, ev.Peer, ev.Replay = history.Receive, f.MessageID, f.SenderID, replay
		case chat.TypeMessageAck:
			ev.Kind, ev.ClientMessageID, ev.MessageID = history.Ack, f.ClientMessageID, f.MessageID
		case chat.TypeMessageState:
			ev.Kind, ev.MessageID = history.StateChange, f.MessageID
		case chat.TypeReplayDone:
			ev.Kind = history.ReplayDone
			if f.Count != nil {
				ev.Count = *f.Count
			}
		case chat.TypeError:
			ev.Kind, ev.Code, ev.ClientMessageID, ev.MessageID, ev.Detail = history.ErrorFrame, f.Code, f.ClientMessageID, f.MessageID, f.Message
		default:
			continue
		}
		rc.rec.Record(ev)
	}
	code, _, _ := rc.conn.CloseStatus()
	rc.mu.Lock()
	rc.ended, rc.closeCode = true, code
	rc.mu.Unlock()
	ev := base
	ev.Kind, ev.CloseCode = history.Disconnect, code
	rc.rec.Record(ev)
}

// send writes one text frame, recording what the history needs: a
// DELIVERY_ACK as sent, a MESSAGE_SEND as a send.
func (rc *rawConn) send(ctx context.Context, text string) error {
	var f chat.InFrame
	if json.Unmarshal([]byte(text), &f) == nil {
		switch {
		case f.Type == chat.TypeDeliveryAck && f.MessageID != "":
			rc.rec.Record(history.Event{Kind: history.DeliveryAck, Instance: rc.instance, User: rc.userID,
				Conn: rc.id, MessageID: f.MessageID})
		case f.Type == chat.TypeMessageSend && f.ClientMessageID != "":
			rc.rec.Record(history.Event{Kind: history.Send, Instance: rc.instance, User: rc.userID,
				Conn: rc.id, ClientMessageID: f.ClientMessageID, Peer: f.RecipientID, Attempt: 1})
		}
	}
	return rc.conn.Send(ctx, []byte(text))
}

// close ends the socket and waits for its reader.
func (rc *rawConn) close() {
	_ = rc.conn.Close()
	select {
	case <-rc.done:
	case <-time.After(5 * time.Second):
		rc.conn.CloseNow()
		<-rc.done
	}
}

// closeRaw closes every raw socket (at the end of a run).
func (x *execution) closeRaw() {
	x.mu.Lock()
	raws := make([]*rawConn, 0, len(x.raws))
	for _, rc := range x.raws {
		raws = append(raws, rc)
	}
	x.raws = map[string]*rawConn{}
	x.mu.Unlock()
	for _, rc := range raws {
		rc.close()
	}
}

func (s *rawStep) run(ctx context.Context, x *execution) (string, error) {
	text, err := x.expand(s.text)
	if err != nil {
		return "", err
	}
	rc, err := x.raw(ctx, s.user)
	if err != nil {
		return "", err
	}
	for i := 0; i < s.times; i++ {
		if err := rc.send(ctx, text); err != nil {
			if i > 0 {
				// The server may close the socket mid-flood (1008).
				return fmt.Sprintf("%d of %d frame(s) written before the socket closed", i, s.times), nil
			}
			return "", err
		}
	}
	return fmt.Sprintf("%d frame(s) of %d bytes on %s", s.times, len(text), rc.id), nil
}

// rawSocket returns the user's raw socket for an expectation, without
// opening one.
func (x *execution) rawSocket(name string) (*rawConn, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if rc := x.raws[name]; rc != nil {
		return rc, nil
	}
	return nil, errors.New(name + " has no raw socket (no raw step ran for it)")
}

func (x *execution) expectRawFrame(ctx context.Context, s *expectFrameStep, want map[string]string, what string) (string, error) {
	rc, err := x.rawSocket(s.user)
	if err != nil {
		return "", err
	}
	var got client.Frame
	err = poll(ctx, x.within(s.within), func() (bool, string, error) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		seen := map[string]int{}
		for _, f := range rc.frames {
			if !frameMatches(f, s.typ, want) {
				continue
			}
			seen[string(f.Raw)]++
			if seen[string(f.Raw)] > rc.consumed[string(f.Raw)] {
				got = f
				rc.consumed[string(f.Raw)]++
				return true, "", nil
			}
		}
		why := "no " + what + " on " + rc.id
		if rc.ended {
			return false, "", fmt.Errorf("%s: the socket ended (close %d); frames: %s", why, rc.closeCode, lastFrames(rc.frames, 4))
		}
		return false, why + "; frames: " + lastFrames(rc.frames, 4), nil
	})
	if err != nil {
		return "", err
	}
	return describeFrame(got), nil
}

func (x *execution) expectRawClosed(ctx context.Context, s *expectClosedStep) (string, error) {
	rc, err := x.rawSocket(s.user)
	if err != nil {
		return "", err
	}
	err = poll(ctx, x.within(s.within), func() (bool, string, error) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		switch {
		case !rc.ended:
			return false, rc.id + " is still open", nil
		case rc.closeCode != s.code:
			return false, "", fmt.Errorf("%s closed with %d", rc.id, rc.closeCode)
		}
		return true, "", nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s closed with %d", rc.id, s.code), nil
}
