package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dmchat/dmchat/core/chat"
)

// stuckConn is a socket whose writes and close handshake each block until
// the test lets them go: a writer in the middle of a slow Write, and a
// peer slow to answer the close frame.
type stuckConn struct {
	writing      chan struct{} // closed when the first Write begins
	writeRelease chan struct{} // Writes return once closed
	closeRelease chan struct{} // Close returns once closed
	code         chan int      // the close code, sent when Close begins
	once         sync.Once
}

func newStuckConn() *stuckConn {
	return &stuckConn{writing: make(chan struct{}), writeRelease: make(chan struct{}),
		closeRelease: make(chan struct{}), code: make(chan int, 1)}
}

func (s *stuckConn) Write(time.Time, [][]byte) error {
	s.once.Do(func() { close(s.writing) })
	<-s.writeRelease
	return nil
}

func (s *stuckConn) Close(code int, _ string) error {
	s.code <- code
	<-s.closeRelease
	return nil
}

// waitEvent fails the test unless ch yields within 5 s.
func waitEvent[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// stuckClient registers a socket of user on a stuckConn and queues a frame,
// so that its writer goroutine is inside Write when this returns.
func stuckClient(t *testing.T, h *Hub, user string) (*Socket, *stuckConn) {
	t.Helper()
	sc := newStuckConn()
	c := h.NewSocket(user, chat.RoleUser, sc)
	if err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	c.Send(chat.StateFrame("1").Encode())
	waitEvent(t, sc.writing, "the writer to enter Write")
	return c, sc
}

// TestShutdownClosesGoingAwayAndWaitsForWritersAndHandshakes: Shutdown
// closes every socket with 1001, then returns only once every writer has
// finished and every close handshake has ended, leaving no goroutine of
// the hub behind.
func TestShutdownClosesGoingAwayAndWaitsForWritersAndHandshakes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := New(Options{})
	var running atomic.Int32
	exited := make(chan struct{}, 2)
	h.writerHook = func(fn func()) func() {
		running.Add(1)
		return func() {
			defer func() { running.Add(-1); exited <- struct{}{} }()
			fn()
		}
	}
	_, a := stuckClient(t, h, "alice")
	_, b := stuckClient(t, h, "bob")

	done := make(chan error, 1)
	go func() { done <- h.Shutdown(context.Background()) }()
	for _, sc := range []*stuckConn{a, b} {
		if code := waitEvent(t, sc.code, "the close handshake to begin"); code != chat.CloseGoingAway {
			t.Fatalf("closed with %d, want %d", code, chat.CloseGoingAway)
		}
	}
	if h.Count() != 0 {
		t.Fatalf("%d sockets still registered after the close", h.Count())
	}
	// Both writers are still inside Write, so Shutdown cannot be done.
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while writers were still writing", err)
	default:
	}
	close(a.writeRelease)
	close(b.writeRelease)
	waitEvent(t, exited, "a writer to exit")
	waitEvent(t, exited, "the other writer to exit")
	// The writers have ended, the close handshakes have not: Shutdown must
	// still be waiting. Nothing signals "still waiting", so it is given a
	// moment in which it must not return.
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while close handshakes were still running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(a.closeRelease)
	close(b.closeRelease)
	if err := waitEvent(t, done, "Shutdown to return"); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if n := running.Load(); n != 0 {
		t.Fatalf("Shutdown returned with %d writers still running", n)
	}

	// After Shutdown nothing starts a goroutine: a new socket that needs a
	// writer is closed with 1001 at once, its handshake on this goroutine.
	fc := newFakeConn()
	late := h.NewSocket("carol", chat.RoleUser, fc)
	late.Send(chat.StateFrame("2").Encode())
	if code := fc.waitClosed(t); code != chat.CloseGoingAway {
		t.Fatalf("late socket closed with %d, want %d", code, chat.CloseGoingAway)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v, want nil", err)
	}
}

// TestShutdownRespectsItsDeadline: a socket whose write never ends does not
// hold Shutdown past its context, and is still closed with 1001; a later
// call waits again, and returns once the write has ended.
func TestShutdownRespectsItsDeadline(t *testing.T) {
	h := New(Options{})
	_, sc := stuckClient(t, h, "alice")
	close(sc.closeRelease) // only the write is stuck

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v past a 50 ms deadline", d)
	}
	if code := waitEvent(t, sc.code, "the close"); code != chat.CloseGoingAway {
		t.Fatalf("closed with %d, want %d", code, chat.CloseGoingAway)
	}
	close(sc.writeRelease)
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after the write ended = %v, want nil", err)
	}
}
