package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// waitFor bounds every wait on a socket or a bus: a test fails rather than
// hangs when an expected frame never comes.
const waitFor = 5 * time.Second

// connEvent is one thing that happened to a fakeConn, in order: a frame
// written (Frame) or the socket closed (Closed, with Code).
type connEvent struct {
	Frame  chat.OutFrame
	Raw    []byte // the frame as written
	Closed bool
	Code   int
}

// fakeConn is a hub.Transport that decodes every frame written to it and
// reports frames and the close, in order, on events.
type fakeConn struct {
	events chan connEvent
}

func newFakeConn() *fakeConn { return &fakeConn{events: make(chan connEvent, 4096)} }

func (c *fakeConn) Write(_ time.Time, frames [][]byte) error {
	for _, b := range frames {
		var f chat.OutFrame
		if err := json.Unmarshal(b, &f); err != nil {
			f = chat.OutFrame{Type: "UNDECODABLE", Message: string(b)}
		}
		c.events <- connEvent{Frame: f, Raw: b}
	}
	return nil
}

func (c *fakeConn) Close(code int, _ string) error {
	c.events <- connEvent{Closed: true, Code: code}
	return nil
}

// next returns the next event on c, failing the test after waitFor.
func (c *fakeConn) next(t *testing.T) connEvent {
	t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-time.After(waitFor):
		t.Fatalf("no frame or close within %v", waitFor)
		return connEvent{}
	}
}

// fakeBus is a connected bus.Bus that records what the node publishes,
// presence announcements aside. Tests play other instances' events by
// calling Node.HandleEvent themselves.
type fakeBus struct {
	published chan bus.Event
}

func newFakeBus() *fakeBus { return &fakeBus{published: make(chan bus.Event, 256)} }

func (b *fakeBus) Publish(_ context.Context, ev bus.Event) error {
	if ev.Kind != bus.KindPresence {
		b.published <- ev
	}
	return nil
}
func (b *fakeBus) State() bus.State                   { return bus.StateConnected }
func (b *fakeBus) Start(context.Context, bus.Handler) {}
func (b *fakeBus) Close() error                       { return nil }
func (b *fakeBus) Subscribe(string)                   {}
func (b *fakeBus) Unsubscribe(string)                 {}
func (b *fakeBus) WaitSubscribed(context.Context, string) error {
	return nil
}
func (b *fakeBus) SetPresence(context.Context, []string) error { return nil }
func (b *fakeBus) Presence(context.Context) (map[string][]string, error) {
	return nil, nil
}

// nextPublished returns the next event the node published.
func (b *fakeBus) nextPublished(t *testing.T) bus.Event {
	t.Helper()
	select {
	case ev := <-b.published:
		return ev
	case <-time.After(waitFor):
		t.Fatalf("nothing published within %v", waitFor)
		return bus.Event{}
	}
}

// env is a started node on a fresh in-memory store.
type env struct {
	n  *node.Node
	st *store.Memory
}

// newEnv starts a node with opts on a fresh memory store (opts.Store is
// ignored) and shuts it down when the test ends.
func newEnv(t *testing.T, opts node.Options) *env {
	t.Helper()
	return newEnvOn(t, store.NewMemory(), opts)
}

// newEnvOn is newEnv on a given store.
func newEnvOn(t *testing.T, st *store.Memory, opts node.Options) *env {
	t.Helper()
	opts.Store = st
	return &env{n: startNode(t, opts), st: st}
}

// startNode starts a node with opts (instance "test" unless named) and
// shuts it down when the test ends.
func startNode(t *testing.T, opts node.Options) *node.Node {
	t.Helper()
	if opts.InstanceID == "" {
		opts.InstanceID = "test"
	}
	n, err := node.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return n
}

// user creates a user named name.
func (e *env) user(t *testing.T, name string) chat.User {
	t.Helper()
	u, err := e.st.CreateUser(context.Background(), name, []byte("hash"), chat.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// stored returns every stored message between a and b, newest first.
func (e *env) stored(t *testing.T, a, b chat.User) []chat.Message {
	t.Helper()
	msgs, err := e.st.Conversation(context.Background(), store.Page{UserA: a.ID, UserB: b.ID, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// peer is one attached socket of one user.
type peer struct {
	user chat.User
	s    *node.Session
	conn *fakeConn
}

// attach attaches u on a new socket, requiring no error; the replay is
// left for the caller to read.
func (e *env) attach(t *testing.T, u chat.User) *peer {
	t.Helper()
	conn := newFakeConn()
	s, err := e.n.Attach(context.Background(), u, time.Time{}, conn)
	if err != nil {
		t.Fatalf("Attach(%s): %v", u.Username, err)
	}
	return &peer{user: u, s: s, conn: conn}
}

// connect attaches u and reads its empty replay (REPLAY_DONE 0).
func (e *env) connect(t *testing.T, u chat.User) *peer {
	t.Helper()
	p := e.attach(t, u)
	p.expectReplayDone(t, 0)
	return p
}

// do hands one client frame to the session.
func (p *peer) do(frame string) { p.s.HandleFrame(context.Background(), []byte(frame)) }

// expect returns the next frame, which must be of type typ.
func (p *peer) expect(t *testing.T, typ string) chat.OutFrame {
	t.Helper()
	ev := p.conn.next(t)
	if ev.Closed {
		t.Fatalf("%s: socket closed with %d, want a %s frame", p.user.Username, ev.Code, typ)
	}
	if ev.Frame.Type != typ {
		t.Fatalf("%s: got frame %+v, want type %s", p.user.Username, ev.Frame, typ)
	}
	return ev.Frame
}

// expectError returns the next frame, which must be ERROR with code.
func (p *peer) expectError(t *testing.T, code string) chat.OutFrame {
	t.Helper()
	f := p.expect(t, chat.TypeError)
	if f.Code != code {
		t.Fatalf("%s: got ERROR %s (%s), want %s", p.user.Username, f.Code, f.Message, code)
	}
	return f
}

// expectReplayDone reads REPLAY_DONE and checks its count.
func (p *peer) expectReplayDone(t *testing.T, count int) {
	t.Helper()
	f := p.expect(t, chat.TypeReplayDone)
	if f.Count == nil || *f.Count != count {
		t.Fatalf("%s: REPLAY_DONE count %v, want %d", p.user.Username, f.Count, count)
	}
}

// expectClose reads events up to the socket's close, which must carry
// code, failing on any frame first.
func (p *peer) expectClose(t *testing.T, code int) {
	t.Helper()
	ev := p.conn.next(t)
	if !ev.Closed {
		t.Fatalf("%s: got frame %+v, want close %d", p.user.Username, ev.Frame, code)
	}
	if ev.Code != code {
		t.Fatalf("%s: closed with %d, want %d", p.user.Username, ev.Code, code)
	}
}

// expectFloodClose reads the RATE_LIMITED errors still queued up to the
// socket's close, which must be 1008 (flooding).
func (p *peer) expectFloodClose(t *testing.T) {
	t.Helper()
	for {
		ev := p.conn.next(t)
		if ev.Closed {
			if ev.Code != chat.ClosePolicy {
				t.Fatalf("%s: closed with %d, want %d", p.user.Username, ev.Code, chat.ClosePolicy)
			}
			return
		}
		if ev.Frame.Code != chat.CodeRateLimited {
			t.Fatalf("%s: unexpected frame %+v before the flood close", p.user.Username, ev.Frame)
		}
	}
}

// barrierType is a frame no server sends; the tests queue it themselves.
const barrierType = "TEST_BARRIER"

// pending returns every frame queued on p's socket so far. It queues a
// barrier frame behind them and reads up to it: frames are written in
// queue order, so whatever the node queued before this call is returned,
// and a frame the node did not send is proven absent without sleeping.
func (p *peer) pending(t *testing.T) []chat.OutFrame {
	t.Helper()
	if !p.s.Client().Send([]byte(`{"type":"` + barrierType + `"}`)) {
		t.Fatalf("%s: socket is closed", p.user.Username)
	}
	var out []chat.OutFrame
	for {
		ev := p.conn.next(t)
		if ev.Closed {
			t.Fatalf("%s: socket closed with %d before the barrier", p.user.Username, ev.Code)
		}
		if ev.Frame.Type == barrierType {
			return out
		}
		out = append(out, ev.Frame)
	}
}

// expectNothing checks that nothing was queued on p's socket.
func (p *peer) expectNothing(t *testing.T) {
	t.Helper()
	if got := p.pending(t); len(got) != 0 {
		t.Fatalf("%s: got %d unexpected frames: %+v", p.user.Username, len(got), got)
	}
}

// sendJSON is a MESSAGE_SEND frame.
func sendJSON(cmid, recipientID, content string) string {
	b, _ := json.Marshal(chat.InFrame{Type: chat.TypeMessageSend, ClientMessageID: cmid,
		RecipientID: recipientID, Content: content})
	return string(b)
}

// ackJSON is a DELIVERY_ACK frame.
func ackJSON(messageID string) string {
	b, _ := json.Marshal(chat.InFrame{Type: chat.TypeDeliveryAck, MessageID: messageID})
	return string(b)
}

// isClosed reports whether p's hub client is closed.
func (p *peer) isClosed() bool {
	select {
	case <-p.s.Client().Done():
		return true
	default:
		return false
	}
}

// contentOf is a content of exactly size bytes.
func contentOf(size int) string { return strings.Repeat("x", size) }

// storeMissed stores n messages of 1000 bytes from one user to another
// straight in the store, as if sent while the bus was down (no socket
// heard of them), and returns their ids, oldest first.
func (e *env) storeMissed(t *testing.T, from, to chat.User, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		m, _, err := e.st.SaveMessage(context.Background(), store.NewMessage{SenderID: from.ID, RecipientID: to.ID,
			ClientMessageID: fmt.Sprint("lost", i), Content: contentOf(1000)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	return ids
}
