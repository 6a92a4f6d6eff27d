package hub

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// fakeConn records frames and the close; block, when set, stalls writes
// until it is closed (a slow client).
type fakeConn struct {
	mu     sync.Mutex
	frames []chat.OutFrame
	code   int
	block  chan struct{}
	wrote  chan struct{}
	closed chan struct{}
}

func newFakeConn() *fakeConn {
	return &fakeConn{wrote: make(chan struct{}, 1024), closed: make(chan struct{})}
}

func (f *fakeConn) Write(deadline time.Time, frames [][]byte) error {
	if f.block != nil {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case <-f.block:
		case <-t.C:
			return os.ErrDeadlineExceeded
		}
	}
	for _, b := range frames {
		var fr chat.OutFrame
		if err := json.Unmarshal(b, &fr); err != nil {
			return err
		}
		f.mu.Lock()
		f.frames = append(f.frames, fr)
		f.mu.Unlock()
		f.wrote <- struct{}{}
	}
	return nil
}

func (f *fakeConn) Close(code int, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.code == 0 {
		f.code = code
		close(f.closed)
	}
	return nil
}

func (f *fakeConn) snapshot() []chat.OutFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.OutFrame(nil), f.frames...)
}

// waitFrames waits until n frames were written.
func (f *fakeConn) waitFrames(t *testing.T, n int) []chat.OutFrame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(f.snapshot()) < n {
		select {
		case <-f.wrote:
		case <-deadline:
			t.Fatalf("got %d frames, want %d: %+v", len(f.snapshot()), n, f.snapshot())
		}
	}
	return f.snapshot()
}

func (f *fakeConn) waitClosed(t *testing.T) int {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("connection was not closed")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.code
}

func setup(t *testing.T, opts Options) (*Hub, func(user string) (*Socket, *fakeConn)) {
	t.Helper()
	h := New(opts)
	connect := func(user string) (*Socket, *fakeConn) {
		fc := newFakeConn()
		c := h.NewSocket(user, chat.RoleUser, fc)
		h.Register(c)
		t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
		return c, fc
	}
	return h, connect
}

func msg(id int, to string) chat.Message {
	return chat.Message{ID: strconv.Itoa(id), SenderID: "s", RecipientID: to, Content: "x", CreatedAt: time.Now()}
}

func TestDeliverNeverTwiceWhilePending(t *testing.T) {
	h, connect := setup(t, Options{})
	c, fc := connect("bob")
	if n := h.DeliverMessage(msg(1, "bob"), nil, nil); n != 1 {
		t.Fatalf("first delivery reached %d sockets, want 1", n)
	}
	if n := h.DeliverMessage(msg(1, "bob"), nil, nil); n != 0 {
		t.Fatalf("repeat while pending reached %d sockets, want 0", n)
	}
	if !c.AwaitingAck("1") || c.AwaitingAck("2") {
		t.Fatal("AwaitingAck is wrong before the ack")
	}
	if !c.MarkAcked("1") {
		t.Fatal("MarkAcked: the first ack of a pushed message must count")
	}
	if c.MarkAcked("1") {
		t.Fatal("MarkAcked: a repeat ack counted again")
	}
	if n := h.DeliverMessage(msg(1, "bob"), nil, nil); n != 0 {
		t.Fatalf("after its ack, a late push reached %d sockets, want 0", n)
	}
	if c.AwaitingAck("1") {
		t.Fatal("AwaitingAck still true after the ack")
	}
	c.Forget("1") // the ack could not be recorded
	if n := h.DeliverMessage(msg(1, "bob"), nil, nil); n != 1 {
		t.Fatalf("after Forget, delivery reached %d sockets, want 1", n)
	}
	frames := fc.waitFrames(t, 2)
	for _, f := range frames {
		if f.Type != chat.TypeMessage || f.MessageID != "1" {
			t.Fatalf("unexpected frame %+v", f)
		}
	}
}

func TestEveryTabGetsTheMessage(t *testing.T) {
	h, connect := setup(t, Options{})
	_, a := connect("bob")
	_, b := connect("bob")
	_, other := connect("carol")
	if n := h.DeliverMessage(msg(7, "bob"), nil, nil); n != 2 {
		t.Fatalf("reached %d sockets, want 2", n)
	}
	a.waitFrames(t, 1)
	b.waitFrames(t, 1)
	if got := other.snapshot(); len(got) != 0 {
		t.Fatalf("carol got %v", got)
	}
	if h.Count() != 3 || len(h.UserIDs()) != 2 || !h.Online("bob") || h.Online("dave") {
		t.Fatalf("count %d users %v", h.Count(), h.UserIDs())
	}
}

func TestReplayHoldsLiveMessagesBack(t *testing.T) {
	h := New(Options{})
	fc := newFakeConn()
	c := h.NewSocket("bob", chat.RoleUser, fc)
	defer c.Close(chat.CloseNormal, "")
	c.BeginReplay()
	h.Register(c)
	// Live messages 5 (new) and 2 (also in the replay) arrive mid-replay.
	h.DeliverMessage(msg(5, "bob"), nil, nil)
	h.DeliverMessage(msg(2, "bob"), nil, nil)
	n, err := c.Replay(context.Background(), []chat.Message{msg(1, "bob"), msg(2, "bob"), msg(3, "bob")})
	if err != nil || n != 3 {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	c.EndReplay(n)
	frames := fc.waitFrames(t, 5)
	var got []string
	for _, f := range frames {
		if f.Type == chat.TypeReplayDone {
			got = append(got, "done:"+strconv.Itoa(*f.Count))
			continue
		}
		got = append(got, f.MessageID)
	}
	want := []string{"1", "2", "3", "done:3", "5"}
	if len(got) != len(want) {
		t.Fatalf("frames %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frames %v, want %v", got, want)
		}
	}
}

func TestSlowConsumerIsClosedNotWaitedFor(t *testing.T) {
	slow := make(chan *Socket, 1)
	h := New(Options{MaxQueueBytes: 1024, OnSlowConsumer: func(c *Socket) { slow <- c }})
	fc := newFakeConn()
	fc.block = make(chan struct{})
	defer close(fc.block)
	c := h.NewSocket("bob", chat.RoleUser, fc)
	h.Register(c)
	for i := 0; i < 100; i++ {
		h.DeliverMessage(msg(i, "bob"), nil, nil) // never blocks, whatever the socket does
	}
	select {
	case got := <-slow:
		if got != c {
			t.Fatal("wrong client reported slow")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow consumer not detected")
	}
	if code := fc.waitClosed(t); code != 1013 {
		t.Fatalf("closed with %d, want 1013", code)
	}
	if h.Online("bob") {
		t.Fatal("slow client still registered")
	}
}

func TestKickSendsFrameThenCloses(t *testing.T) {
	h, connect := setup(t, Options{})
	_, a := connect("bob")
	_, b := connect("bob")
	frame := chat.ErrorFrame(chat.CodeBanned, "banned", "", "").Encode()
	if n := h.Kick("bob", frame, chat.CloseBanned, "banned"); n != 2 {
		t.Fatalf("kicked %d, want 2", n)
	}
	for _, fc := range []*fakeConn{a, b} {
		if code := fc.waitClosed(t); code != chat.CloseBanned {
			t.Fatalf("close code %d", code)
		}
		got := fc.snapshot()
		if len(got) != 1 || got[0].Code != chat.CodeBanned {
			t.Fatalf("frames before close: %+v", got)
		}
	}
	if h.DeliverMessage(msg(1, "bob"), nil, nil) != 0 || h.Online("bob") {
		t.Fatal("kicked user still receives messages")
	}
}

func TestCloseAll(t *testing.T) {
	h, connect := setup(t, Options{})
	_, a := connect("bob")
	_, b := connect("carol")
	h.CloseAll(chat.CloseGoingAway, "shutdown")
	if a.waitClosed(t) != chat.CloseGoingAway || b.waitClosed(t) != chat.CloseGoingAway || h.Count() != 0 {
		t.Fatal("CloseAll did not close every socket with 1001")
	}
}

func TestStateReachesEachSocketOnce(t *testing.T) {
	h, connect := setup(t, Options{})
	_, a := connect("alice")
	_, b := connect("alice")
	if n := h.SendState("alice", "9", nil); n != 2 {
		t.Fatalf("told %d sockets, want 2", n)
	}
	if n := h.SendState("alice", "9", nil); n != 0 {
		t.Fatalf("a republished state reached %d sockets, want 0", n)
	}
	h.SendState("alice", "10", nil)
	for _, fc := range []*fakeConn{a, b} {
		got := fc.waitFrames(t, 2)
		if got[0].MessageID != "9" || got[1].MessageID != "10" || got[0].Type != chat.TypeMessageState {
			t.Fatalf("frames %+v", got)
		}
	}
}

// TestLookingUpAUsersSocketsAllocatesNothing: the per-message paths find a
// user's sockets without allocating.
func TestLookingUpAUsersSocketsAllocatesNothing(t *testing.T) {
	h, connect := setup(t, Options{})
	connect("bob")
	connect("bob")
	allocs := testing.AllocsPerRun(100, func() {
		var few [fewSockets]*Socket
		if got := h.appendSockets(few[:0], "bob"); len(got) != 2 {
			t.Fatalf("%d sockets, want 2", len(got))
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per lookup, want 0", allocs)
	}
}
