package hub

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// rawConn keeps the bytes written to it, to compare them with the frame
// handed to the hub.
type rawConn struct {
	mu     sync.Mutex
	frames [][]byte
	wrote  chan struct{}
}

func (r *rawConn) Write(_ time.Time, frames [][]byte) error {
	r.mu.Lock()
	r.frames = append(r.frames, frames...)
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return nil
}

func (r *rawConn) Close(int, string) error { return nil }

// wait returns the first n frames written, failing after a deadline.
func (r *rawConn) wait(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([][]byte(nil), r.frames...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.wrote:
		case <-deadline:
			t.Fatalf("%d frames written, want %d", len(got), n)
		}
	}
}

// TestDeliverMessageWritesTheFrameGiven: a ready frame reaches every socket
// as it is, and counts as the message's delivery for the pending and ack
// tracking, whichever entry point pushes the message next.
func TestDeliverMessageWritesTheFrameGiven(t *testing.T) {
	h := New(Options{})
	conns := []*rawConn{{wrote: make(chan struct{}, 16)}, {wrote: make(chan struct{}, 16)}}
	var clients []*Socket
	for _, rc := range conns {
		c := h.NewSocket("bob", chat.RoleUser, rc)
		h.Register(c)
		t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
		clients = append(clients, c)
	}
	m := msg(1, "bob")
	frame := chat.MessageFrame(m).Encode()
	if n := h.DeliverMessage(chat.Message{ID: m.ID, RecipientID: "bob"}, frame, nil); n != 2 {
		t.Fatalf("delivered to %d sockets, want 2", n)
	}
	for _, rc := range conns {
		if got := rc.wait(t, 1); !bytes.Equal(got[0], frame) {
			t.Fatalf("wrote %s, want %s", got[0], frame)
		}
	}
	if n := h.DeliverMessage(m, nil, nil); n != 0 {
		t.Fatalf("the same message as a chat.Message reached %d sockets while pending, want 0", n)
	}
	if n := h.DeliverMessage(chat.Message{ID: m.ID, RecipientID: "bob"}, frame, nil); n != 0 {
		t.Fatalf("a repeat frame reached %d sockets while pending, want 0", n)
	}
	for _, c := range clients {
		if !c.AwaitingAck(m.ID) {
			t.Fatal("the frame's message is not awaiting its ack")
		}
	}
	if n := h.DeliverMessage(chat.Message{ID: m.ID, RecipientID: "nobody"}, frame, nil); n != 0 {
		t.Fatalf("a user with no socket got %d deliveries", n)
	}
}

// TestDeliverMessageFrameHeldDuringReplay: a frame that arrives during a replay
// is held and follows REPLAY_DONE, unless the replay sent its message.
func TestDeliverMessageFrameHeldDuringReplay(t *testing.T) {
	h := New(Options{})
	rc := &rawConn{wrote: make(chan struct{}, 16)}
	c := h.NewSocket("bob", chat.RoleUser, rc)
	h.Register(c)
	t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
	c.BeginReplay()
	live := chat.MessageFrame(msg(2, "bob")).Encode()
	if n := h.DeliverMessage(chat.Message{ID: "2", RecipientID: "bob"}, live, nil); n != 0 {
		t.Fatalf("a held frame counted as %d deliveries", n)
	}
	c.EndReplay(0)
	got := rc.wait(t, 2)
	if !bytes.Contains(got[0], []byte(chat.TypeReplayDone)) || !bytes.Equal(got[1], live) {
		t.Fatalf("frames %q, want REPLAY_DONE then the live frame", got)
	}
	if !c.AwaitingAck("2") {
		t.Fatal("the released frame's message is not awaiting its ack")
	}
}
