package hub

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// orderConn logs its writes and its close in the order they happen; the
// first write blocks until release is closed (a writer busy with a slow
// client).
type orderConn struct {
	mu      sync.Mutex
	log     []string
	first   sync.Once
	once    sync.Once
	writing chan struct{}
	release chan struct{}
	closed  chan struct{}
}

func (o *orderConn) Write(_ time.Time, frames [][]byte) error {
	o.first.Do(func() { close(o.writing); <-o.release })
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range frames {
		o.log = append(o.log, "write "+string(f))
	}
	return nil
}

func (o *orderConn) Close(code int, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.log = append(o.log, fmt.Sprintf("close %d", code))
	o.once.Do(func() { close(o.closed) })
	return nil
}

// TestSecondCloseAfterKeepsTheFirstsFrame: a user banned twice at once
// (the bus's kick and a catch-up's) gets ERROR BANNED and then the close,
// not a close that cuts off the frame still queued for it.
func TestSecondCloseAfterKeepsTheFirstsFrame(t *testing.T) {
	h := New(Options{})
	oc := &orderConn{writing: make(chan struct{}), release: make(chan struct{}), closed: make(chan struct{})}
	c := h.NewSocket("u1", chat.RoleUser, oc)
	if err := h.Register(c); err != nil {
		t.Fatal(err)
	}
	c.Send(chat.StateFrame("1").Encode())
	waitEvent(t, oc.writing, "the writer to enter Write")

	banned := []byte(`{"type":"ERROR","code":"BANNED"}`)
	h.Kick("u1", banned, chat.CloseBanned, "banned")
	h.Kick("u1", banned, chat.CloseBanned, "banned")
	close(oc.release)
	waitEvent(t, oc.closed, "the close")

	oc.mu.Lock()
	defer oc.mu.Unlock()
	wrote := -1
	for i, l := range oc.log {
		if l == "write "+string(banned) && wrote < 0 {
			wrote = i
		}
		if l == fmt.Sprintf("close %d", chat.CloseBanned) {
			if wrote < 0 {
				t.Fatalf("closed before ERROR BANNED was written: %q", oc.log)
			}
			return
		}
	}
	t.Fatalf("no close %d: %q", chat.CloseBanned, oc.log)
}
