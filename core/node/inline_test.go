package node_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
)

// tryConn is a hub.TryWriter with room for everything: it records each
// frame's type and whether it was tried (written by the goroutine that
// queued it) or written by a writer goroutine.
type tryConn struct {
	mu     sync.Mutex
	frames []triedFrame
	wrote  chan struct{}
}

type triedFrame struct {
	typ   string
	tried bool
}

func newTryConn() *tryConn { return &tryConn{wrote: make(chan struct{}, 64)} }

func (c *tryConn) record(frames [][]byte, tried bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range frames {
		var f chat.OutFrame
		_ = json.Unmarshal(b, &f)
		c.frames = append(c.frames, triedFrame{f.Type, tried})
		c.wrote <- struct{}{}
	}
}

func (c *tryConn) TryWrite(frames [][]byte) (bool, error) { c.record(frames, true); return true, nil }

func (c *tryConn) Write(_ time.Time, frames [][]byte) error { c.record(frames, false); return nil }

func (c *tryConn) Close(int, string) error { return nil }

// taken returns the frames recorded so far and forgets them (and their
// signals on wrote).
func (c *tryConn) taken() []triedFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.frames
	c.frames = nil
	for range out {
		<-c.wrote
	}
	return out
}

// TestFramesOfAReadLoopAreWrittenByIt: what a socket's frame causes (its
// MESSAGE_ACK, the recipient's MESSAGE, the sender's MESSAGE_STATE after
// the recipient's ack) is written before HandleFrame returns, by the
// goroutine handling the frame, while a delivery from the bus is left to
// a writer goroutine.
func TestFramesOfAReadLoopAreWrittenByIt(t *testing.T) {
	e := newEnv(t, node.Options{})
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	ac, bc := newTryConn(), newTryConn()
	as, err := e.n.Attach(t.Context(), alice, time.Time{}, ac)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := e.n.Attach(t.Context(), bob, time.Time{}, bc)
	if err != nil {
		t.Fatal(err)
	}
	want := func(c *tryConn, who string, types ...string) {
		t.Helper()
		got := c.taken()
		if len(got) != len(types) {
			t.Fatalf("%s: frames %+v, want %v written by the frame's goroutine", who, got, types)
		}
		for i, f := range got {
			if f.typ != types[i] || !f.tried {
				t.Fatalf("%s: frames %+v, want %v written by the frame's goroutine", who, got, types)
			}
		}
	}
	want(ac, "alice", chat.TypeReplayDone)
	want(bc, "bob", chat.TypeReplayDone)

	as.HandleFrame(t.Context(), []byte(sendJSON("c1", bob.ID, "hi")))
	want(ac, "alice", chat.TypeMessageAck)
	want(bc, "bob", chat.TypeMessage)
	ms := e.stored(t, alice, bob)
	bs.HandleFrame(t.Context(), []byte(ackJSON(ms[0].ID)))
	want(ac, "alice", chat.TypeMessageState)

	e.n.HandleEvent(bus.Event{Kind: bus.KindMessage, OriginInstanceID: "elsewhere", MessageID: "999",
		SenderID: alice.ID, RecipientID: bob.ID, ClientMessageID: "c2", Content: "from the bus",
		CreatedAt: chat.FormatTime(time.Now())})
	select {
	case <-bc.wrote:
		bc.wrote <- struct{}{} // taken drains it with its frame
	case <-time.After(waitFor):
		t.Fatal("the bus delivery was not written")
	}
	if got := bc.taken(); len(got) != 1 || got[0].typ != chat.TypeMessage || got[0].tried {
		t.Fatalf("bus delivery written as %+v, want one MESSAGE from a writer goroutine", got)
	}
}
