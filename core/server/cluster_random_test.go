package server_test

// A randomized two-instance test: simulated users send, receive, drop
// acks and reconnect to either instance while Redis is killed and
// restarted at random moments. At the end nothing is lost, duplicated or
// delivered twice.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/store"
)

// Sizes and pacing of the randomized test.
const (
	simUsers    = 20
	simMessages = 2000 // in all, simMessages/simUsers per user
	// simSendEvery paces each client's MESSAGE_SEND frames: about 12 per
	// second per connection, under the server's limit set below.
	simSendEvery = 80 * time.Millisecond
	// The server's per-connection limit for this test: WS_RATE=100,
	// WS_BURST=200 instead of 20/40. A client also acks every message it
	// is pushed (acks of pending messages are never limited), and retries
	// its unacknowledged sends at once after a reconnect, so the default
	// burst of 40 would be close; the clients never pass this one, and any
	// RATE_LIMITED fails the test.
	simWSRate  = 100
	simWSBurst = 200
)

// seedFromEnv returns DMCHAT_SEED, or the time.
func seedFromEnv(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("DMCHAT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("DMCHAT_SEED=%q: %v", s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

// TestClusterRandomized: two instances, 20 users, 2,000 messages; Redis
// killed and restarted at random moments; clients that sometimes do not
// ack, then reconnect later, to a random instance. At the end (Redis up,
// every user reconnected and acked everything): each message stored once
// per (sender, clientMessageId) with the id of its MESSAGE_ACK, DELIVERED
// in the store, received by its recipient, MESSAGE_STATE at most once per
// message per sender connection, never pushed twice on one connection, and
// a last reconnect replays nothing.
//
// Reproduce with DMCHAT_SEED=<seed> (the random choices are seeded; the
// goroutine schedule is not, so a seed makes a failure likely, not certain).
func TestClusterRandomized(t *testing.T) {
	if testing.Short() {
		t.Skip("randomized cluster test skipped in -short mode")
	}
	seed := seedFromEnv(t)
	t.Logf("DMCHAT_SEED=%d", seed)
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			newSim(t, seed, kind).run()
		})
	}
}

// sim is the randomized test's world. Fields set before run are read-only
// afterwards; each simUser is touched only by its own goroutine until
// run's users have exited.
type sim struct {
	t     *testing.T
	seed  uint64
	c     *cluster
	insts []*env
	users []*simUser

	ctx    context.Context
	cancel context.CancelFunc

	allSent    sync.WaitGroup // each user: Done once every send is acknowledged
	finalStart chan struct{}  // closed: reconnect and ack everything
	finalDone  chan struct{}  // closed: the store says all delivered

	mu       sync.Mutex // guards failures and outages
	failures []string
	outages  int
}

type simUser struct {
	idx   int
	id    string
	token string
	rnd   *rand.Rand

	issued  map[string]simMsg // cmid -> what was sent
	outbox  []string          // cmids sent, not yet acknowledged, oldest first
	next    int               // messages issued so far
	acked   map[string]string // cmid -> messageId from MESSAGE_ACK
	allSent bool

	received map[string]client.Frame // messageId -> first MESSAGE frame
	conns    []*simConn
}

type simMsg struct{ to, content string }

// simConn is what one connection saw.
type simConn struct {
	inst   string
	msgs   map[string]int  // messageId -> MESSAGE frames
	states map[string]int  // messageId -> MESSAGE_STATE frames
	acks   map[string]bool // messageId -> DELIVERY_ACK sent
	trace  []string        // M<id> received, A<id> acked, RD replay done
}

func newSim(t *testing.T, seed uint64, kind string) *sim {
	t.Helper()
	s := &sim{t: t, seed: seed, finalStart: make(chan struct{}), finalDone: make(chan struct{})}
	s.c = newCluster(t, kind, false)
	a, b := s.c.pair(func(cfg *config.Config) { cfg.WSRate, cfg.WSBurst = simWSRate, simWSBurst })
	s.insts = []*env{a, b}
	for i := 0; i < simUsers; i++ {
		id, tok := a.user(fmt.Sprintf("sim%02d", i))
		s.users = append(s.users, &simUser{
			idx: i, id: id, token: tok,
			rnd:    rand.New(rand.NewPCG(seed, uint64(i)+1)),
			issued: map[string]simMsg{}, acked: map[string]string{}, received: map[string]client.Frame{},
		})
	}
	s.ctx, s.cancel = context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(s.cancel)
	return s
}

// fail records a failure from any goroutine and stops the run.
func (s *sim) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
	s.cancel()
}

func (s *sim) run() {
	t := s.t
	start := time.Now()
	s.allSent.Add(len(s.users))
	var users sync.WaitGroup
	for _, u := range s.users {
		users.Add(1)
		go func() {
			defer users.Done()
			s.userLoop(u)
		}()
	}
	chaosStop := make(chan struct{})
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		s.chaos(chaosStop)
	}()

	sent := make(chan struct{})
	go func() { s.allSent.Wait(); close(sent) }()
	select {
	case <-sent:
	case <-s.ctx.Done():
	}
	close(chaosStop)
	<-chaosDone
	sendPhase := time.Since(start)
	if s.ctx.Err() == nil {
		// Redis is up (chaos ends with it up): let both buses reconnect,
		// then every user reconnects and acks everything.
		for _, e := range s.insts {
			s.waitBusConnected(e)
		}
		close(s.finalStart)
		s.waitAllDelivered()
	}
	close(s.finalDone)
	users.Wait()
	s.report(sendPhase, time.Since(start))
	if t.Failed() {
		return
	}
	s.verify()
}

func (s *sim) waitBusConnected(e *env) {
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.Node().BusState() != bus.StateConnected {
		if time.Now().After(deadline) {
			s.fail("instance %s: bus not reconnected within 10 s of the last restart", e.srv.Config().InstanceID)
			return
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// waitAllDelivered polls the store until no message is undelivered.
func (s *sim) waitAllDelivered() {
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, u := range s.users {
			msgs, err := s.c.st.Undelivered(s.ctx, u.id, "", 1000)
			if err != nil {
				s.fail("undelivered: %v", err)
				return
			}
			left += len(msgs)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			s.fail("%d messages still undelivered 20 s after every user reconnected to ack everything", left)
			return
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// chaos kills and restarts Redis at random moments until stop is closed,
// and leaves it running.
func (s *sim) chaos(stop <-chan struct{}) {
	rnd := rand.New(rand.NewPCG(s.seed, 0))
	wait := func(d time.Duration) bool {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-stop:
			return false
		case <-s.ctx.Done():
			return false
		case <-tm.C:
			return true
		}
	}
	for {
		if !wait(time.Duration(300+rnd.IntN(1500)) * time.Millisecond) {
			return
		}
		s.c.redisDown()
		s.mu.Lock()
		s.outages++
		s.mu.Unlock()
		// Some outages are too short for a ping to miss.
		down := time.Duration(rnd.IntN(1200)) * time.Millisecond
		if rnd.IntN(4) == 0 {
			down = time.Duration(rnd.IntN(30)) * time.Millisecond
		}
		wait(down)
		if err := s.c.mr.StartAddr(s.c.addr); err != nil {
			s.fail("restart miniredis on %s: %v", s.c.addr, err)
			return
		}
	}
}

// userLoop runs sessions until the final one ends.
func (s *sim) userLoop(u *simUser) {
	for s.ctx.Err() == nil {
		select {
		case <-s.finalStart:
			s.session(u, true)
			return
		default:
		}
		s.session(u, false)
	}
}

// session is one connection of u to a random instance. The final session
// acks everything and lasts until finalDone; the others last a random
// while, and on some of them the user does not ack some messages.
func (s *sim) session(u *simUser, final bool) {
	e := s.insts[u.rnd.IntN(len(s.insts))]
	inst := e.srv.Config().InstanceID
	conn, _, err := client.Dial(s.ctx, e.api.WSURL("/ws"), client.DialOptions{Token: u.token})
	if err != nil {
		if s.ctx.Err() == nil {
			s.fail("user %d: dial %s: %v", u.idx, inst, err)
		}
		return
	}
	graceful := u.rnd.IntN(2) == 0
	defer func() {
		if graceful {
			_ = conn.Close()
		} else {
			_ = conn.CloseNow()
		}
	}()
	sc := &simConn{inst: inst, msgs: map[string]int{}, states: map[string]int{}, acks: map[string]bool{}}
	u.conns = append(u.conns, sc)

	dropProb := 0.0
	if !final && u.rnd.IntN(10) < 4 {
		dropProb = 0.3
	}
	var end <-chan time.Time
	var finalStart <-chan struct{}
	stopC := s.finalDone
	if !final {
		tm := time.NewTimer(time.Duration(200+u.rnd.IntN(1500)) * time.Millisecond)
		defer tm.Stop()
		end, finalStart, stopC = tm.C, s.finalStart, nil
	}
	retry := append([]string(nil), u.outbox...) // unacknowledged: send again
	tick := time.NewTicker(simSendEvery)
	defer tick.Stop()
	replayDone, beforeDone := false, 0

	for {
		select {
		case <-s.ctx.Done():
			return
		case <-end:
			return
		case <-finalStart:
			return
		case <-stopC:
			return
		case <-tick.C:
			if final || !replayDone {
				continue
			}
			var cmid string
			switch {
			case len(retry) > 0:
				cmid, retry = retry[0], retry[1:]
			case u.next < simMessages/simUsers:
				cmid = fmt.Sprintf("u%02d-%03d", u.idx, u.next)
				u.next++
				to := s.users[(u.idx+1+u.rnd.IntN(simUsers-1))%simUsers]
				u.issued[cmid] = simMsg{to: to.id, content: fmt.Sprintf("content of %s to %s", cmid, to.id)}
				u.outbox = append(u.outbox, cmid)
			default:
				continue
			}
			m := u.issued[cmid]
			if err := conn.SendMessage(s.ctx, cmid, m.to, m.content); err != nil {
				return // closed under us: reconnect and retry
			}
		case f, ok := <-conn.Frames():
			if !ok {
				code, reason, _ := conn.CloseStatus()
				s.fail("user %d: %s closed the connection: %d %q", u.idx, inst, code, reason)
				return
			}
			switch f.Type {
			case chat.TypeMessage:
				if !replayDone {
					beforeDone++
				}
				sc.msgs[f.MessageID]++
				if sc.msgs[f.MessageID] > 1 {
					s.fail("user %d: message %s pushed twice on one connection to %s (acked on it before: %t; connection's trace %v)",
						u.idx, f.MessageID, inst, sc.acks[f.MessageID], sc.trace)
					return
				}
				sc.trace = append(sc.trace, fmt.Sprintf("M%s", f.MessageID))
				if f.RecipientID != u.id {
					s.fail("user %d: got message %s addressed to %s", u.idx, f.MessageID, f.RecipientID)
					return
				}
				if _, seen := u.received[f.MessageID]; !seen {
					u.received[f.MessageID] = f
				}
				if u.rnd.Float64() < dropProb {
					continue // this ack is lost
				}
				if err := conn.Ack(s.ctx, f.MessageID); err != nil {
					return
				}
				sc.acks[f.MessageID] = true
				sc.trace = append(sc.trace, fmt.Sprintf("A%s", f.MessageID))
			case chat.TypeReplayDone:
				if replayDone || f.Count == nil || *f.Count != beforeDone {
					s.fail("user %d: REPLAY_DONE %v after %d replayed (second: %t)", u.idx, f.Count, beforeDone, replayDone)
					return
				}
				replayDone = true
				sc.trace = append(sc.trace, "RD")
			case chat.TypeMessageAck:
				if prev, ok := u.acked[f.ClientMessageID]; ok && prev != f.MessageID {
					s.fail("user %d: %s acknowledged as %s, earlier %s", u.idx, f.ClientMessageID, f.MessageID, prev)
					return
				}
				u.acked[f.ClientMessageID] = f.MessageID
				for i, c := range u.outbox {
					if c == f.ClientMessageID {
						u.outbox = append(u.outbox[:i], u.outbox[i+1:]...)
						break
					}
				}
				if !u.allSent && u.next == simMessages/simUsers && len(u.outbox) == 0 {
					u.allSent = true
					s.allSent.Done()
				}
			case chat.TypeMessageState:
				sc.states[f.MessageID]++
			default:
				s.fail("user %d: unexpected frame from %s: %s", u.idx, inst, f.Raw)
				return
			}
		}
	}
}

func (s *sim) report(sendPhase, total time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := 0
	for _, u := range s.users {
		conns += len(u.conns)
	}
	lost := 0
	for _, e := range s.insts {
		lost += countEvents(e.logs, "RedisBus", "bus_lost")
	}
	s.t.Logf("seed %d: %d messages, %d connections, %d Redis outages (%d bus_lost), sends done in %v, all done in %v",
		s.seed, simMessages, conns, s.outages, lost, sendPhase.Round(time.Millisecond), total.Round(time.Millisecond))
	for _, f := range s.failures {
		s.t.Errorf("seed %d (rerun with DMCHAT_SEED=%d): %s", s.seed, s.seed, f)
	}
}

// verify checks the store and what the clients saw.
func (s *sim) verify() {
	t := s.t
	ctx := ctxT(t)
	failf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d (rerun with DMCHAT_SEED=%d): "+format, append([]any{s.seed, s.seed}, args...)...)
	}
	byID := map[string]*simUser{}
	for _, u := range s.users {
		byID[u.id] = u
	}
	// Every stored row, once per (sender, cmid), by conversation.
	type key struct{ sender, cmid string }
	rows := map[key][]chat.Message{}
	total := 0
	for i := 0; i < len(s.users); i++ {
		for j := i + 1; j < len(s.users); j++ {
			before := ""
			for {
				page, err := s.c.st.Conversation(ctx, store.Page{UserA: s.users[i].id, UserB: s.users[j].id, BeforeID: before, Limit: 200})
				if err != nil {
					t.Fatalf("conversation: %v", err)
				}
				for _, m := range page {
					k := key{m.SenderID, m.ClientMessageID}
					rows[k] = append(rows[k], m)
					total++
				}
				if len(page) < 200 {
					break
				}
				before = page[len(page)-1].ID
			}
		}
	}
	if total != simMessages {
		failf("%d rows stored, want %d", total, simMessages)
	}
	for _, u := range s.users {
		if len(u.issued) != simMessages/simUsers {
			failf("user %d issued %d messages, want %d", u.idx, len(u.issued), simMessages/simUsers)
		}
		for cmid, want := range u.issued {
			rs := rows[key{u.id, cmid}]
			if len(rs) != 1 {
				failf("user %d %s: %d rows, want 1", u.idx, cmid, len(rs))
				continue
			}
			m := rs[0]
			if m.ID != u.acked[cmid] {
				failf("user %d %s: stored as %s, MESSAGE_ACK said %q", u.idx, cmid, m.ID, u.acked[cmid])
			}
			if m.RecipientID != want.to || m.Content != want.content {
				failf("user %d %s: stored to %s with other content", u.idx, cmid, m.RecipientID)
			}
			if !m.Delivered() {
				failf("user %d %s (%s): not DELIVERED", u.idx, cmid, m.ID)
			}
			got, ok := byID[m.RecipientID].received[m.ID]
			if !ok {
				failf("message %s never reached its recipient", m.ID)
			} else if got.Content != m.Content || got.SenderID != m.SenderID || got.CreatedAt != chat.FormatTime(m.CreatedAt) {
				failf("message %s reached its recipient altered", m.ID)
			}
		}
	}
	// MESSAGE_STATE at most once per message per sender connection, and
	// only for the sender's own messages.
	states := 0
	for _, u := range s.users {
		mine := map[string]bool{}
		for _, id := range u.acked {
			mine[id] = true
		}
		for ci, c := range u.conns {
			for id, n := range c.states {
				states += n
				if n > 1 {
					failf("user %d connection %d (%s): MESSAGE_STATE %s %d times", u.idx, ci, c.inst, id, n)
				}
				if !mine[id] {
					failf("user %d got MESSAGE_STATE for %s, not its message", u.idx, id)
				}
			}
		}
	}
	s.t.Logf("seed %d: %d MESSAGE_STATE frames received", s.seed, states)
	// A last reconnect, on each instance, replays nothing. (A
	// MESSAGE_STATE may still come in: states held through an outage are
	// published late, to whatever connections the sender has then.)
	for _, u := range s.users {
		for _, e := range s.insts {
			c := e.dialRaw(u.token)
			f, err := c.WaitFor(ctx, client.OfType(chat.TypeReplayDone, chat.TypeMessage, chat.TypeError))
			switch {
			case err != nil:
				failf("user %d: last reconnect on %s: %v", u.idx, e.srv.Config().InstanceID, err)
			case f.Type != chat.TypeReplayDone || f.Count == nil || *f.Count != 0:
				failf("user %d: last reconnect on %s: %s, want REPLAY_DONE 0", u.idx, e.srv.Config().InstanceID, f.Raw)
			}
			c.CloseNow()
		}
	}
	// Ids in the logs, never content.
	var sample []string
	for _, u := range s.users[:5] {
		for _, m := range u.issued {
			sample = append(sample, m.content)
		}
	}
	sort.Strings(sample)
	for _, e := range s.insts {
		logtest.AssertNoSecrets(t, e.logs.Records(), sample[:50]...)
	}
}
