package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/dmchat/dmchat/core/sandbox"
)

// flowWait bounds every wait of the flows.
const flowWait = 15 * time.Second

// screen accumulates a program's output, so text drawn before a wait
// started is still found (the renderer draws each line once).
type screen struct {
	mu  sync.Mutex
	r   io.Reader
	buf bytes.Buffer
}

// mark is a position in the output to search from.
func (s *screen) mark() int {
	s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Len()
}

func (s *screen) read() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = io.Copy(&s.buf, s.r)
}

// waitFor waits until every one of want appears in the output after from.
func (s *screen) waitFor(t *testing.T, from int, want ...string) {
	t.Helper()
	deadline := time.Now().Add(flowWait)
	for {
		s.read()
		s.mu.Lock()
		out := s.buf.String()[from:]
		s.mu.Unlock()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q; last output:\n%s", missing, tail(out, 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLine is how the logs pane, 120 cells wide, starts an info line of
// instance, logger and event.
func logLine(instance, logger, event string) string {
	return fmt.Sprintf("%-3s INF %-15s %s", instance, logger, event)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// eventually waits for cond, polling, and fails with what after flowWait,
// showing the end of the output.
func (f *flow) eventually(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(flowWait)
	for !cond() {
		if time.Now().After(deadline) {
			f.sc.read()
			f.sc.mu.Lock()
			out := tail(f.sc.buf.String(), 4000)
			f.sc.mu.Unlock()
			f.t.Fatalf("timed out waiting for %s; last output:\n%s", what, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flow is a running program on a real cluster: user1 and user3 on A,
// user2 and user4 on B, and an admin.
type flow struct {
	t  *testing.T
	c  *sandbox.Cluster
	m  *Model
	tm *teatest.TestModel
	sc *screen
}

func setupFlow(t *testing.T) *flow { t.Helper(); return setupFlowWith(t, Options{}) }

// setupFlowWith is setupFlow with model options (Cluster, AutoConnect and
// Renderer are set here).
func setupFlowWith(t *testing.T, o Options) *flow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), flowWait)
	defer cancel()
	c, err := sandbox.Start(ctx, sandbox.Options{Users: 4, Seed: 1, RetryAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	o.Cluster, o.AutoConnect, o.Renderer = c, true, asciiRenderer()
	m := New(o)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	t.Cleanup(func() {
		// A test that failed before q: end the program and what it started.
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(flowWait))
		_ = m.Shutdown()
	})
	f := &flow{t: t, c: c, m: m, tm: tm, sc: &screen{r: tm.Output()}}
	f.eventually("the users to connect", func() bool {
		for _, u := range c.Users() {
			if !u.IsAdmin() && !u.Connected() {
				return false
			}
		}
		return true
	})
	f.sc.waitFor(t, 0, "user1  A ●", "user4  B ●") // the screen shows it: keys act on it
	return f
}

// keys sends keys one by one.
func (f *flow) keys(ks ...string) {
	for _, k := range ks {
		f.tm.Send(keyMsg(k))
	}
}

// typeText types s into the program.
func (f *flow) typeText(s string) { f.tm.Type(s) }

// quit presses q and checks the program ends with the cluster closed.
func (f *flow) quit() {
	f.t.Helper()
	f.keys("q")
	fm := f.tm.FinalModel(f.t, teatest.WithFinalTimeout(flowWait)).(*Model)
	if err := fm.Err(); err != nil {
		f.t.Fatalf("shutdown error: %v", err)
	}
	if err := f.c.StartRedis(); !errors.Is(err, sandbox.ErrClosed) {
		f.t.Fatalf("the cluster still runs after q: StartRedis = %v", err)
	}
}

// inboxHas reports whether user's inbox holds content.
func (f *flow) inboxHas(user, content string) bool {
	u := f.m.Cluster().User(user)
	if u == nil {
		return false
	}
	for _, e := range u.Inbox() {
		if e.Content == content {
			return true
		}
	}
	return false
}

// outState is the state of user's send of content ("" when none).
func (f *flow) outState(user, content string) string {
	for _, e := range f.c.User(user).Outbox() {
		if e.Content == content {
			return e.State
		}
	}
	return ""
}

func TestFlowDMFromAToB(t *testing.T) {
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("s")
	f.sc.waitFor(t, mark, "DM from user1 →", "user2 (on B)")
	f.typeText("hello B")
	f.keys("enter")

	f.eventually("user2 on B to receive the DM", func() bool { return f.inboxHas("user2", "hello B") })
	f.eventually("user1's DM to be DELIVERED", func() bool { return f.outState("user1", "hello B") == sandbox.OutDelivered })
	f.sc.waitFor(t, mark, `→ to user2 DELIVERED "hello B"`,
		logLine("A", "RedisBus", "chat_message_published"), logLine("B", "RedisBusHandler", "chat_message_delivered"))

	mark = f.sc.mark()
	f.keys("j") // user2's messages
	f.sc.waitFor(t, mark, "user2 on B · in 1", `← from user1 DELIVERED "hello B"`)
	f.quit()
}

func TestFlowBanKicksUserOnB(t *testing.T) {
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("j", "x")
	f.sc.waitFor(t, mark, "Ban user2 through instance:")
	f.keys("enter") // through A: the kick crosses the bus to B

	f.eventually("user2 to be closed with 4003", func() bool {
		code, ok := f.c.User("user2").LastClose()
		return ok && code == 4003
	})
	// What the socket received, in order: ERROR BANNED, then close 4003.
	f.sc.waitFor(t, mark, "admin banned user2 through A", "ERROR BANNED→4003", "! ERROR BANNED", "! closed 4003 by the server",
		logLine("A", "Admin", "user_banned"), logLine("B", "RedisBusHandler", "admin_kick_ban_applied"))

	// Unban through B, then user2 connects again.
	mark = f.sc.mark()
	f.keys("x", "b", "enter")
	f.sc.waitFor(t, mark, "admin unbanned user2 through B")
	f.keys("b")
	f.eventually("user2 to connect again", func() bool { return f.c.User("user2").Connected() })
	f.quit()
}

func TestFlowRedisStopThenRestartCatchesUp(t *testing.T) {
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("R")
	f.sc.waitFor(t, mark, "Redis DOWN", "FAULTS: redis down", "WRN RedisBus        bus_lost")

	// A DM within A still works while the bus is down.
	f.keys("s", "down") // recipients: admin, user2 (picked), user3, user4
	f.sc.waitFor(t, mark, "user3 (on A)")
	f.typeText("local")
	f.keys("enter")
	f.eventually("user3 on A to receive the local DM", func() bool { return f.inboxHas("user3", "local") })
	f.eventually("the local DM to be DELIVERED", func() bool { return f.outState("user1", "local") == sandbox.OutDelivered })

	// A DM to B is stored but cannot cross until Redis is back (the
	// prompt starts on the last recipient, user3: up picks user2).
	mark = f.sc.mark()
	f.keys("s", "up")
	f.sc.waitFor(t, mark, "◂ user2 (on B) ▸")
	f.typeText("across the outage")
	f.keys("enter")
	f.eventually("the DM to B to be stored (SENT)", func() bool {
		return f.outState("user1", "across the outage") != "" && f.outState("user1", "across the outage") != sandbox.OutPending
	})

	mark = f.sc.mark()
	f.keys("R")
	f.sc.waitFor(t, mark, "Redis up", "bus_restored")
	f.eventually("user2 on B to catch up without reconnecting", func() bool { return f.inboxHas("user2", "across the outage") })
	f.quit()
}

func TestFlowInstanceStopAndToggles(t *testing.T) {
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("B")
	f.sc.waitFor(t, mark, "B stopped", "STOPPED")
	f.eventually("user2 to be disconnected with 1001", func() bool {
		code, ok := f.c.User("user2").LastClose()
		return ok && code == 1001
	})
	mark = f.sc.mark()
	f.keys("B")
	f.sc.waitFor(t, mark, "B started again")
	f.keys("j", "b") // user2 back to B
	f.eventually("user2 to reconnect to B", func() bool {
		u := f.c.User("user2")
		return u.Connected() && u.Instance() == "B"
	})

	// Toggles and a bus fault show in the status bar while on.
	mark = f.sc.mark()
	f.keys("t", "D")
	f.typeText("2")
	f.keys("enter", "F")
	f.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("50ms 10")})
	f.keys("enter")
	f.sc.waitFor(t, mark, "user2 auto-ack off", "user2 drops next 2 acks", "bus latency 50ms, drop 10%",
		"reaches its recipient on reconnect")
	if f.c.User("user2").AutoAck() {
		t.Fatal("t did not turn user2's auto-ack off")
	}
	f.quit()
}

// TestFlowSendPromptDefaults: the send prompt's default recipient does not
// move to an admin when the users of the other instance go offline, and a
// disconnected sender is refused before typing.
func TestFlowSendPromptDefaults(t *testing.T) {
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("A") // user1 and user3 lose their sockets
	f.sc.waitFor(t, mark, "A stopped")
	f.eventually("user1 to be disconnected", func() bool { return !f.c.User("user1").Connected() })

	mark = f.sc.mark()
	f.keys("s") // user1, selected, is offline
	f.sc.waitFor(t, mark, "user1 is not connected: press a or b to connect it first")
	if f.m.prompt.Active() {
		t.Fatal("the send prompt opened for a disconnected sender")
	}

	mark = f.sc.mark()
	f.keys("j", "s") // user2 on B: the default is user1 (offline), not the admin
	f.sc.waitFor(t, mark, "DM from user2 →", "◂ user1 (offline) ▸")
	f.keys("esc")
	f.quit()
}

// TestFlowMessageTimeline: T on a message row shows its life across both
// instances: the send, A's publish, B's delivery, the delivery ack and the
// sender's MESSAGE_STATE.
func TestFlowMessageTimeline(t *testing.T) {
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("s")
	f.sc.waitFor(t, mark, "DM from user1 →", "user2 (on B)")
	f.typeText("trace me")
	f.keys("enter")
	f.sc.waitFor(t, mark, `→ to user2 DELIVERED "trace me"`)
	mark = f.sc.mark()
	f.keys("tab", "T") // the messages pane, its newest row
	f.sc.waitFor(t, mark, "Timeline of message", "user1 sends MESSAGE_SEND", "chat_message_published",
		"chat_message_delivered", "user2 sends DELIVERY_ACK", "user1 gets MESSAGE_STATE DELIVERED")
	mark = f.sc.mark()
	f.keys("x") // any key closes it
	f.sc.waitFor(t, mark, "user1 on A · in 0 · out 1")
	f.quit()
}
