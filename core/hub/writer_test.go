package hub

import (
	"sync"
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
	h := New(Options{Go: func(fn func()) bool {
		mu.Lock()
		running++
		mu.Unlock()
		go func() {
			fn()
			mu.Lock()
			running--
			mu.Unlock()
			idle <- struct{}{}
		}()
		return true
	}})
	bc := &batchConn{entered: make(chan struct{}), release: make(chan struct{}), wrote: make(chan struct{}, 16)}
	c := h.NewClient("bob", chat.RoleUser, bc)
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

// TestRefusedWriterClosesAsGoingAway: once the owner is shutting down and
// refuses new goroutines, a socket with something to write is closed with
// 1001 instead of keeping it queued forever.
func TestRefusedWriterClosesAsGoingAway(t *testing.T) {
	h := New(Options{Go: func(func()) bool { return false }})
	fc := newFakeConn()
	c := h.NewClient("bob", chat.RoleUser, fc)
	h.Register(c)
	c.Send(chat.StateFrame("1").Encode())
	if code := fc.waitClosed(t); code != chat.CloseGoingAway {
		t.Fatalf("closed with %d, want %d", code, chat.CloseGoingAway)
	}
}
