package hub

import (
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// TestWriteTimeoutClosesAStuckSocket: a write that outlives WriteTimeout
// fails at its deadline and the client is closed as write-failed; the
// deadline is per batch, so writes that finish in time never trip it.
func TestWriteTimeoutClosesAStuckSocket(t *testing.T) {
	h := New(Options{WriteTimeout: 50 * time.Millisecond})

	fast := newFakeConn()
	ok := h.NewSocket("alice", chat.RoleUser, fast)
	h.Register(ok)
	defer ok.Close(chat.CloseNormal, "")
	for i := 0; i < 20; i++ {
		if !ok.Send(chat.StateFrame("1").Encode()) {
			t.Fatal("send refused")
		}
		select {
		case <-fast.wrote:
		case <-time.After(5 * time.Second):
			t.Fatal("frame not written")
		}
		time.Sleep(5 * time.Millisecond) // spread the writes over longer than one WriteTimeout
	}
	if code := ok.CloseCode(); code != 0 {
		t.Fatalf("a socket whose writes all finished in time was closed with %d", code)
	}

	stuck := newFakeConn()
	stuck.block = make(chan struct{}) // never released: only the deadline ends the write
	c := h.NewSocket("bob", chat.RoleUser, stuck)
	h.Register(c)
	c.Send(chat.StateFrame("2").Encode())
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a stuck write was not timed out")
	}
	if code := c.CloseCode(); code != CloseWriteFailed {
		t.Fatalf("close code %d, want %d", code, CloseWriteFailed)
	}
	if h.Online("bob") {
		t.Fatal("the timed-out client is still registered")
	}
}
