package hub

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// batchConn records the size of each Write; the first Write blocks until
// release is closed, so frames pile up behind it.
type batchConn struct {
	mu      sync.Mutex
	sizes   []int
	entered chan struct{}
	release chan struct{}
	wrote   chan struct{}
}

func (b *batchConn) Write(_ time.Time, frames [][]byte) error {
	b.mu.Lock()
	first := len(b.sizes) == 0
	b.sizes = append(b.sizes, len(frames))
	b.mu.Unlock()
	if first {
		close(b.entered)
		<-b.release
	}
	b.wrote <- struct{}{}
	return nil
}

func (b *batchConn) Close(int, string) error { return nil }

// TestFramesQueuedDuringAWriteGoOutTogether: what piles up behind a slow
// write is handed to the socket in one Write (one system call), and the
// writer goroutine exists only while there is something to write.
func TestFramesQueuedDuringAWriteGoOutTogether(t *testing.T) {
	var mu sync.Mutex
	running := 0
	idle := make(chan struct{}, 16)
	h := New(Options{})
	h.writerHook = func(fn func()) func() {
		mu.Lock()
		running++
		mu.Unlock()
		return func() {
			fn()
			mu.Lock()
			running--
			mu.Unlock()
			idle <- struct{}{}
		}
	}
	bc := &batchConn{entered: make(chan struct{}), release: make(chan struct{}), wrote: make(chan struct{}, 16)}
	c := h.NewSocket("bob", chat.RoleUser, bc)
	h.Register(c)
	defer c.Close(chat.CloseNormal, "")

	c.Send(chat.StateFrame("1").Encode())
	<-bc.entered
	for i := 2; i <= 6; i++ {
		c.Send(chat.StateFrame("x").Encode())
	}
	close(bc.release)
	for range 2 {
		select {
		case <-bc.wrote:
		case <-time.After(5 * time.Second):
			t.Fatal("frames not written")
		}
	}
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer did not exit once the queue was empty")
	}
	mu.Lock()
	defer mu.Unlock()
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if len(bc.sizes) != 2 || bc.sizes[0] != 1 || bc.sizes[1] != 5 {
		t.Fatalf("writes of %v frames, want [1 5]", bc.sizes)
	}
	if running != 0 {
		t.Fatalf("%d writer goroutines left on an idle socket", running)
	}
}

// TestRefusedWriterClosesAsGoingAway: once the hub is shutting down and
// refuses new writers, a socket with something to write is closed with
// 1001 instead of keeping it queued forever. The socket is not registered,
// so Shutdown itself does not close it.
func TestRefusedWriterClosesAsGoingAway(t *testing.T) {
	h := New(Options{})
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	fc := newFakeConn()
	c := h.NewSocket("bob", chat.RoleUser, fc)
	if c.Send(chat.StateFrame("1").Encode()) {
		t.Error("Send reported true for a frame dropped with the refused writer")
	}
	if code := fc.waitClosed(t); code != chat.CloseGoingAway {
		t.Fatalf("closed with %d, want %d", code, chat.CloseGoingAway)
	}
	if got := fc.snapshot(); len(got) != 0 {
		t.Fatalf("wrote %v after refusing the writer", got)
	}
}

// TestRefusedWriterAfterAnInlineWrite: when the socket takes only part of
// an inline write and the hub refuses the writer for the rest, the part
// held is still sent before the close, and Send reports the frame sent.
func TestRefusedWriterAfterAnInlineWrite(t *testing.T) {
	h := New(Options{})
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	tc := newTryConn(0) // takes nothing at once: the frame is held
	c := h.NewSocket("bob", chat.RoleUser, tc)
	frame := chat.StateFrame("1").Encode()
	if !c.Send(frame) {
		t.Error("Send reported false for a frame the flush sent")
	}
	tc.waitWritten(t, 1)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.written) != 1 || tc.written[0] != string(frame) {
		t.Fatalf("wrote %q, want the one frame", tc.written)
	}
	if code := c.CloseCode(); code != chat.CloseGoingAway {
		t.Fatalf("closed with %d, want %d", code, chat.CloseGoingAway)
	}
}

// failConn is a TryWriter whose writes all fail.
type failConn struct{ closed chan int }

func (f *failConn) TryWrite([][]byte) (bool, error) { return false, errors.New("broken pipe") }
func (f *failConn) Write(time.Time, [][]byte) error { return errors.New("broken pipe") }
func (f *failConn) Close(code int, _ string) error {
	f.closed <- code
	return nil
}

// TestFailedInlineWriteReportsFalse: a reply whose inline write fails is
// lost with its socket, and Send says so.
func TestFailedInlineWriteReportsFalse(t *testing.T) {
	h := New(Options{})
	fc := &failConn{closed: make(chan int, 1)}
	c := h.NewSocket("bob", chat.RoleUser, fc)
	if c.Send(chat.StateFrame("1").Encode()) {
		t.Error("Send reported true for a frame whose write failed")
	}
	if code := waitEvent(t, fc.closed, "the close"); code != CloseWriteFailed {
		t.Fatalf("closed with %d, want %d", code, CloseWriteFailed)
	}
}

// tryConn is a TryWriter: TryWrite takes at most take frames per call
// (all when take < 0) and keeps the rest, which the next Write sends first.
type tryConn struct {
	mu      sync.Mutex
	take    int
	held    [][]byte
	written []string // frames in the order they left
	writes  int      // blocking Write calls
	wrote   chan struct{}
}

func newTryConn(take int) *tryConn { return &tryConn{take: take, wrote: make(chan struct{}, 64)} }

func (c *tryConn) TryWrite(frames [][]byte) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(frames)
	if c.take >= 0 && c.take < n {
		n = c.take
	}
	c.emit(frames[:n])
	for _, f := range frames[n:] {
		c.held = append(c.held, append([]byte(nil), f...))
	}
	return n == len(frames), nil
}

func (c *tryConn) Write(_ time.Time, frames [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	c.emit(c.held)
	c.held = nil
	c.emit(frames)
	return nil
}

func (c *tryConn) emit(frames [][]byte) {
	for _, f := range frames {
		c.written = append(c.written, string(f))
		c.wrote <- struct{}{}
	}
}

func (c *tryConn) Close(int, string) error { return nil }

// waitWritten waits until n more frames have left, failing after 5 s.
func (c *tryConn) waitWritten(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-c.wrote:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d frames written", i, n)
		}
	}
}

// tryClient registers bob on a tryConn that takes take frames per try, in
// a hub that counts the writer goroutines it starts. With replaying, bob's
// client is in a replay when registered.
func tryClient(t *testing.T, take int, replaying bool) (*Hub, *Socket, *tryConn, *atomic.Int32) {
	t.Helper()
	started := new(atomic.Int32)
	h := New(Options{})
	h.writerHook = func(fn func()) func() { started.Add(1); return fn }
	tc := newTryConn(take)
	c := h.NewSocket("bob", chat.RoleUser, tc)
	if replaying {
		c.BeginReplay()
	}
	h.Register(c)
	t.Cleanup(func() { c.Close(chat.CloseNormal, "") })
	return h, c, tc, started
}

// TestFramesTheSocketTakesAtOnceNeedNoGoroutine: on a socket with room, a
// frame is written by the goroutine that queued it.
func TestFramesTheSocketTakesAtOnceNeedNoGoroutine(t *testing.T) {
	_, c, tc, started := tryClient(t, -1, false)
	for _, id := range []string{"1", "2", "3"} {
		c.Send(chat.StateFrame(id).Encode())
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.written) != 3 || tc.writes != 0 {
		t.Fatalf("%d frames written inline, %d blocking writes; want 3 and 0", len(tc.written), tc.writes)
	}
	if n := started.Load(); n != 0 {
		t.Fatalf("%d writer goroutines started for frames written inline", n)
	}
}

// TestWhatTheSocketLeavesGoesOutFirstFromAGoroutine: when the socket takes
// only part of a batch, a writer goroutine sends the rest before anything
// queued later, in order.
func TestWhatTheSocketLeavesGoesOutFirstFromAGoroutine(t *testing.T) {
	_, c, tc, started := tryClient(t, 0, false) // the socket is full: nothing leaves inline
	c.Send([]byte("a"))
	c.Send([]byte("b"))
	tc.waitWritten(t, 2)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if got := strings.Join(tc.written, ""); got != "ab" {
		t.Fatalf("frames left as %q, want %q", got, "ab")
	}
	if started.Load() == 0 || tc.writes == 0 {
		t.Fatalf("goroutines %d, blocking writes %d: the rest must go out from a writer goroutine", started.Load(), tc.writes)
	}
}

// TestReplayIsBatchedNotWrittenInline: a replay queues many frames at once;
// they go out from the writer goroutine in batches, not one system call
// each from the replaying goroutine.
func TestReplayIsBatchedNotWrittenInline(t *testing.T) {
	_, c, tc, started := tryClient(t, -1, true)
	msgs := []chat.Message{msg(1, "bob"), msg(2, "bob"), msg(3, "bob")}
	if n, err := c.Replay(context.Background(), msgs); err != nil || n != 3 {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	tc.waitWritten(t, 3)
	if started.Load() == 0 {
		t.Fatal("the replay was written inline by the replaying goroutine")
	}
}

// TestDeliveriesFromElsewhereAreLeftToTheWriter: a delivery with no
// socket behind it (a burst from the bus) is written by a writer
// goroutine, never by the pushing goroutine, while one a socket's frame
// caused (a send, an ack: from set) is written at once on the same kind
// of socket.
func TestDeliveriesFromElsewhereAreLeftToTheWriter(t *testing.T) {
	h, _, tc, started := tryClient(t, -1, false)
	alice := h.NewSocket("alice", chat.RoleUser, newTryConn(-1))
	defer alice.Close(chat.CloseNormal, "")

	h.DeliverMessage(msg(1, "bob"), nil, alice)
	h.SendState("bob", "4", alice)
	if n := started.Load(); n != 0 {
		t.Fatalf("deliveries from a socket's frame started %d goroutines", n)
	}
	tc.mu.Lock()
	inline := len(tc.written)
	tc.mu.Unlock()
	if inline != 2 {
		t.Fatalf("%d of 2 frames from a socket's frame written inline", inline)
	}
	h.DeliverMessage(msg(2, "bob"), nil, nil)
	h.SendState("bob", "3", nil)
	tc.waitWritten(t, 4)
	if started.Load() == 0 {
		t.Fatal("deliveries from elsewhere were written by the pushing goroutine")
	}
}

// TestShutdownSendsWhatAnInlineWriteLeftBeforeClosing: when the hub
// refuses new writers, the rest of a frame the socket did not take is
// still sent before the close, so the close frame never cuts a frame.
func TestShutdownSendsWhatAnInlineWriteLeftBeforeClosing(t *testing.T) {
	h := New(Options{})
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	tc := newTryConn(0)
	c := h.NewSocket("bob", chat.RoleUser, tc)
	c.Send([]byte("a"))
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.writes != 1 || strings.Join(tc.written, "") != "a" {
		t.Fatalf("blocking writes %d, written %q: the held frame must go out before the close", tc.writes, tc.written)
	}
	if code := c.CloseCode(); code != chat.CloseGoingAway {
		t.Fatalf("close code %d, want %d", code, chat.CloseGoingAway)
	}
}
