package history

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hb builds hand-made histories: each event 10 ms after the previous one.
type hb struct {
	evs []Event
	t   time.Time
}

func newHB() *hb { return &hb{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (h *hb) add(e Event) *hb {
	e.Seq = int64(len(h.evs) + 1)
	if e.Time.IsZero() {
		e.Time = h.t
	}
	h.t = h.t.Add(10 * time.Millisecond)
	h.evs = append(h.evs, e)
	return h
}

func (h *hb) wait(d time.Duration) *hb { h.t = h.t.Add(d); return h }

const (
	alice = "ua"
	bob   = "ub"
)

func (h *hb) connect(user, conn, inst string) *hb {
	return h.add(Event{Kind: Connect, User: user, Conn: conn, Instance: inst})
}
func (h *hb) replayDone(user, conn, inst string, n int) *hb {
	return h.add(Event{Kind: ReplayDone, User: user, Conn: conn, Instance: inst, Count: n})
}
func (h *hb) send(user, conn, cmid, to string, attempt int) *hb {
	return h.add(Event{Kind: Send, User: user, Conn: conn, Instance: "A", ClientMessageID: cmid, Peer: to, Attempt: attempt})
}
func (h *hb) ack(user, conn, cmid, mid string) *hb {
	return h.add(Event{Kind: Ack, User: user, Conn: conn, Instance: "A", ClientMessageID: cmid, MessageID: mid})
}
func (h *hb) recv(user, conn, inst, mid, from string, replay bool) *hb {
	return h.add(Event{Kind: Receive, User: user, Conn: conn, Instance: inst, MessageID: mid, Peer: from, Replay: replay})
}
func (h *hb) dack(user, conn, inst, mid string) *hb {
	return h.add(Event{Kind: DeliveryAck, User: user, Conn: conn, Instance: inst, MessageID: mid})
}
func (h *hb) state(user, conn, inst, mid string) *hb {
	return h.add(Event{Kind: StateChange, User: user, Conn: conn, Instance: inst, MessageID: mid})
}
func (h *hb) stored(mid, from, to, cmid string, delivered bool) *hb {
	return h.add(Event{Kind: Stored, MessageID: mid, User: from, Peer: to, ClientMessageID: cmid, Delivered: delivered})
}

// clean is a history where every guarantee holds: a live DM A to B, a
// lost MESSAGE_ACK and its retry, a dropped DELIVERY_ACK healed by a
// replay, a ban with a message to the banned user stored after it (never
// received), and the store snapshot.
func clean() *hb {
	h := newHB()
	h.connect(alice, "a#1", "A").replayDone(alice, "a#1", "A", 0)
	h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
	// m1: live.
	h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
	h.recv(bob, "b#1", "B", "1", alice, false).dack(bob, "b#1", "B", "1").state(alice, "a#1", "A", "1")
	// m2: MESSAGE_ACK lost, retried with the same cmid, same id.
	h.send(alice, "a#1", "c2", bob, 1)
	h.add(Event{Kind: Ack, User: alice, Conn: "a#1", ClientMessageID: "c2", MessageID: "2", LostOnPurpose: true})
	h.recv(bob, "b#1", "B", "2", alice, false)
	h.add(Event{Kind: AckDropped, User: bob, Conn: "b#1", MessageID: "2"})
	h.send(alice, "a#1", "c2", bob, 2).ack(alice, "a#1", "c2", "2")
	// m3 while bob's ack of m2 is still missing; bob reconnects: replay 2, 3.
	h.send(alice, "a#1", "c3", bob, 1).ack(alice, "a#1", "c3", "3")
	h.recv(bob, "b#1", "B", "3", alice, false)
	h.add(Event{Kind: AckDropped, User: bob, Conn: "b#1", MessageID: "3"})
	h.add(Event{Kind: Disconnect, User: bob, Conn: "b#1", Instance: "B"})
	h.wait(time.Second)
	h.connect(bob, "b#2", "B")
	h.recv(bob, "b#2", "B", "2", alice, true).dack(bob, "b#2", "B", "2")
	h.recv(bob, "b#2", "B", "3", alice, true).dack(bob, "b#2", "B", "3")
	h.replayDone(bob, "b#2", "B", 2)
	h.state(alice, "a#1", "A", "2").state(alice, "a#1", "A", "3")
	// m4 to bob, never acked: still pending replay at the end.
	h.send(alice, "a#1", "c4", bob, 1).ack(alice, "a#1", "c4", "4")
	h.recv(bob, "b#2", "B", "4", alice, false)
	h.add(Event{Kind: AckDropped, User: bob, Conn: "b#2", MessageID: "4"})
	// A ban of bob via A; m5 sent after it is stored but not received.
	h.add(Event{Kind: Ban, Instance: "A", User: bob})
	h.add(Event{Kind: ErrorFrame, User: bob, Conn: "b#2", Instance: "B", Code: "BANNED"})
	h.add(Event{Kind: Disconnect, User: bob, Conn: "b#2", Instance: "B", CloseCode: 4003})
	h.send(alice, "a#1", "c5", bob, 1).ack(alice, "a#1", "c5", "5")
	// Snapshot.
	h.stored("1", alice, bob, "c1", true)
	h.stored("2", alice, bob, "c2", true)
	h.stored("3", alice, bob, "c3", true)
	h.stored("4", alice, bob, "c4", false)
	h.stored("5", alice, bob, "c5", false)
	return h
}

func TestCheckCleanHistoryPasses(t *testing.T) {
	res := Check(clean().evs, CheckOptions{Seed: 42, Names: map[string]string{alice: "alice", bob: "bob"}})
	if !res.OK() {
		t.Fatalf("clean history has violations:\n%s", res)
	}
	if !res.Snapshot || res.Messages != 5 || res.Events != len(clean().evs) {
		t.Errorf("result = %+v", res)
	}
	if s := res.String(); !strings.Contains(s, "every guarantee holds") {
		t.Errorf("String = %q", s)
	}
}

func TestCheckWithoutSnapshotSkipsStoreRules(t *testing.T) {
	h := newHB()
	h.connect(alice, "a#1", "A").send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
	res := Check(h.evs, CheckOptions{})
	if !res.OK() || res.Snapshot {
		t.Fatalf("result:\n%s", res)
	}
	if !strings.Contains(res.String(), "store rules skipped") {
		t.Errorf("String = %q", res.String())
	}
}

func TestCheckViolations(t *testing.T) {
	tests := []struct {
		name   string
		build  func() *hb
		rule   string
		msg    string // substring of the message
		events int    // at least this many events shown
		also   string // another rule the same fault breaks, if any
	}{
		{"two rows for one send", func() *hb {
			h := clean()
			return h.stored("9", alice, bob, "c1", false)
		}, RuleOneRow, "2 stored rows for sender alice clientMessageId c1", 2, ""},
		{"retry acked with a new id", func() *hb {
			h := clean()
			return h.send(alice, "a#1", "c1", bob, 2).ack(alice, "a#1", "c1", "7")
		}, RuleOneRow, "clientMessageId c1 of alice acknowledged with messageId 1, then 7", 2, RuleAckedStored},
		{"acked id differs from the stored row", func() *hb {
			h := newHB()
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
			return h.stored("2", alice, bob, "c1", false)
		}, RuleOneRow, "acknowledged as messageId 1 but stored as 2", 2, RuleAckedStored},
		{"acked but lost", func() *hb {
			h := clean()
			return h.send(alice, "a#1", "c8", bob, 1).ack(alice, "a#1", "c8", "8").stored("1", alice, bob, "c1x", true)
		}, RuleAckedStored, "message 8 was acknowledged to alice but is not in the store", 2, ""},
		{"DELIVERED before the recipient's ack", func() *hb {
			h := newHB()
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
			h.recv(bob, "b#1", "B", "1", alice, false).state(alice, "a#1", "A", "1").dack(bob, "b#1", "B", "1")
			return h
		}, RuleDeliveredAfterAck, "alice was told message 1 is DELIVERED before bob acknowledged it", 3, ""},
		{"DELIVERED after an ack by someone else", func() *hb {
			h := newHB()
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
			h.dack("uc", "c#1", "A", "1").state(alice, "a#1", "A", "1")
			return h.stored("1", alice, bob, "c1", true)
		}, RuleDeliveredAfterAck, "before bob acknowledged it", 2, ""},
		{"stored DELIVERED without any ack", func() *hb {
			h := newHB()
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1").recv(bob, "b#1", "B", "1", alice, false)
			return h.stored("1", alice, bob, "c1", true)
		}, RuleDeliveredAfterAck, "message 1 is stored as DELIVERED but bob never acknowledged it", 3, ""},
		{"DELIVERED twice on one connection", func() *hb {
			h := clean()
			return h.dack(bob, "b#2", "B", "1").state(alice, "a#1", "A", "1")
		}, RuleDeliveredOnce, "message 1: MESSAGE_STATE DELIVERED twice on connection a#1", 2, ""},
		{"DELIVERED again on a later connection", func() *hb {
			h := clean()
			h.add(Event{Kind: Disconnect, User: alice, Conn: "a#1", Instance: "A"})
			h.connect(alice, "a#2", "A").replayDone(alice, "a#2", "A", 0)
			return h.dack(bob, "b#2", "B", "1").state(alice, "a#2", "A", "1")
		}, RuleDeliveredOnce, "DELIVERED again on a#2 after a later DELIVERY_ACK, on a connection opened after the first MESSAGE_STATE", 4, ""},
		{"twice on one connection with the ack pending", func() *hb {
			h := clean()
			return h.recv(bob, "b#2", "B", "4", alice, false)
		}, RuleNoRepeat, "message 4 sent twice on connection b#2 with no DELIVERY_ACK in between", 2, ""},
		{"replay newest first", func() *hb {
			h := newHB()
			h.connect(bob, "b#1", "B").recv(bob, "b#1", "B", "10", alice, true).recv(bob, "b#1", "B", "9", alice, true)
			return h.replayDone(bob, "b#1", "B", 2)
		}, RuleReplayOrder, "replay on b#1 sent message 9 after 10", 2, ""},
		{"REPLAY_DONE miscounts", func() *hb {
			h := newHB()
			h.connect(bob, "b#1", "B").recv(bob, "b#1", "B", "9", alice, true)
			return h.replayDone(bob, "b#1", "B", 0)
		}, RuleReplayOrder, "REPLAY_DONE on b#1 counts 0 but 1 messages were replayed", 2, ""},
		{"stored message missing from a later replay", func() *hb {
			h := clean()
			h.add(Event{Kind: Unban, Instance: "A", User: bob}).wait(time.Second)
			// m4 and m5 are undelivered: the replay must hold them.
			h.connect(bob, "b#3", "A").recv(bob, "b#3", "A", "4", alice, true)
			return h.replayDone(bob, "b#3", "A", 1)
		}, RuleReached, "message 5 to bob, stored and not DELIVERED, was not replayed on b#3", 4, ""},
		{"banned user receives a message sent after the ban", func() *hb {
			h := clean()
			// bob's socket on A (the ban's instance) was somehow kept.
			return h.recv(bob, "b#9", "A", "5", alice, false)
		}, RuleBanned, "bob, banned via A, received message 5 first sent after the ban", 3, ""},
		{"banned user receives on another instance long after the ban", func() *hb {
			h := clean()
			h.wait(3 * time.Second)
			return h.recv(bob, "b#9", "B", "5", alice, false)
		}, RuleBanned, "bob, banned via A, received message 5", 3, ""},
		{"ban during an outage not applied within the grace after Redis is back", func() *hb {
			h := newHB()
			h.add(Event{Kind: Fault, Detail: "redis_stop"})
			h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
			h.add(Event{Kind: Ban, Instance: "A", User: bob})
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
			h.add(Event{Kind: Fault, Detail: "redis_start"}).wait(7 * time.Second)
			h.send(alice, "a#1", "c2", bob, 1).ack(alice, "a#1", "c2", "2")
			return h.recv(bob, "b#1", "B", "2", alice, false)
		}, RuleBanned, "received message 2 first sent after the ban", 4, ""},
		{"banned user's replay before ERROR BANNED", func() *hb {
			h := clean()
			h.wait(time.Second).connect(bob, "b#3", "A")
			h.recv(bob, "b#3", "A", "4", alice, true)
			h.add(Event{Kind: ErrorFrame, User: bob, Conn: "b#3", Instance: "A", Code: "BANNED"})
			return h.add(Event{Kind: Disconnect, User: bob, Conn: "b#3", Instance: "A", CloseCode: 4003})
		}, RuleBannedOnlyError, "bob, banned via A, connected as b#3 and first got receive, not ERROR BANNED", 3, ""},
		{"banned user gets REPLAY_DONE after ERROR BANNED", func() *hb {
			h := clean()
			h.wait(time.Second).connect(bob, "b#3", "A")
			h.add(Event{Kind: ErrorFrame, User: bob, Conn: "b#3", Instance: "A", Code: "BANNED"})
			return h.replayDone(bob, "b#3", "A", 0)
		}, RuleBannedOnlyError, "got replay_done on b#3 besides ERROR BANNED", 4, RuleReached},
		{"sender never told DELIVERED across instances", func() *hb {
			h := newHB()
			h.connect(alice, "a#1", "A").replayDone(alice, "a#1", "A", 0)
			h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
			h.recv(bob, "b#1", "B", "1", alice, false).dack(bob, "b#1", "B", "1")
			return h.wait(time.Second).stored("1", alice, bob, "c1", true)
		}, RuleSenderTold, "message 1 was acked by bob but alice, connected as a#1 throughout, was never told DELIVERED", 3, ""},
		{"stored during the outage never reaches a connected recipient", func() *hb {
			h := newHB()
			h.connect(alice, "a#1", "A").replayDone(alice, "a#1", "A", 0)
			h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
			h.add(Event{Kind: Fault, Detail: "redis_stop"})
			h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
			h.add(Event{Kind: Fault, Detail: "redis_start"}).wait(4 * time.Second)
			return h.stored("1", alice, bob, "c1", false)
		}, RuleOutageCatchUp, "message 1, stored while Redis was down, never reached bob, connected as b#1", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Check(tt.build().evs, CheckOptions{Seed: 1234, Names: map[string]string{alice: "alice", bob: "bob"}})
			var found *Violation
			for i := range res.Violations {
				if res.Violations[i].Rule == tt.rule {
					found = &res.Violations[i]
					break
				}
			}
			if found == nil {
				t.Fatalf("no %s violation; result:\n%s", tt.rule, res)
			}
			if !strings.Contains(found.Message, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", found.Message, tt.msg)
			}
			if len(found.Events) < tt.events {
				t.Errorf("%d events shown, want at least %d: %+v", len(found.Events), tt.events, found.Events)
			}
			for _, v := range res.Violations {
				if v.Rule != tt.rule && v.Rule != tt.also {
					t.Errorf("unexpected %s violation:\n%s", v.Rule, res)
				}
			}
			s := res.String()
			if !strings.Contains(s, "VIOLATION "+tt.rule) || !strings.Contains(s, "reproduce with seed 1234") {
				t.Errorf("String lacks the rule or the seed:\n%s", s)
			}
		})
	}
}

func TestCheckGraces(t *testing.T) {
	names := map[string]string{alice: "alice", bob: "bob"}
	t.Run("push in flight on another instance right after the ban", func(t *testing.T) {
		h := newHB()
		h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
		h.add(Event{Kind: Ban, Instance: "A", User: bob})
		h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1").recv(bob, "b#1", "B", "1", alice, false)
		if res := Check(h.evs, CheckOptions{Names: names}); !res.OK() {
			t.Fatalf("violations:\n%s", res)
		}
	})
	t.Run("message stored before the ban, received after it", func(t *testing.T) {
		h := newHB()
		h.connect(bob, "b#1", "A").replayDone(bob, "b#1", "A", 0)
		h.send(alice, "a#1", "c1", bob, 1)
		h.add(Event{Kind: Ban, Instance: "A", User: bob})
		h.ack(alice, "a#1", "c1", "1").recv(bob, "b#1", "A", "1", alice, false)
		if res := Check(h.evs, CheckOptions{Names: names}); !res.OK() {
			t.Fatalf("violations:\n%s", res)
		}
	})
	t.Run("ban during an outage, received before Redis is back", func(t *testing.T) {
		h := newHB()
		h.add(Event{Kind: Fault, Detail: "redis_stop"})
		h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
		h.add(Event{Kind: Ban, Instance: "A", User: bob}).wait(5 * time.Second)
		h.send(alice, "a#2", "c1", bob, 1).ack(alice, "a#2", "c1", "1").recv(bob, "b#1", "B", "1", alice, false)
		if res := Check(h.evs, CheckOptions{Names: names}); !res.OK() {
			t.Fatalf("violations:\n%s", res)
		}
	})
	t.Run("after an unban", func(t *testing.T) {
		h := newHB()
		h.add(Event{Kind: Ban, Instance: "A", User: bob})
		h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
		h.add(Event{Kind: Unban, Instance: "A", User: bob})
		h.connect(bob, "b#1", "A").recv(bob, "b#1", "A", "1", alice, true).replayDone(bob, "b#1", "A", 1)
		if res := Check(h.evs, CheckOptions{Names: names}); !res.OK() {
			t.Fatalf("violations:\n%s", res)
		}
	})
	t.Run("connection opened just as the message was acked", func(t *testing.T) {
		h := newHB()
		h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
		h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
		h.stored("1", alice, bob, "c1", false)
		if res := Check(h.evs, CheckOptions{Names: names}); !res.OK() {
			t.Fatalf("violations:\n%s", res)
		}
	})
	t.Run("DELIVERED told on two sockets open at once", func(t *testing.T) {
		h := newHB()
		h.connect(alice, "a#1", "A").connect(alice, "a#2", "B")
		h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
		h.recv(bob, "b#1", "B", "1", alice, false).dack(bob, "b#1", "B", "1")
		h.state(alice, "a#1", "A", "1").state(alice, "a#2", "B", "1")
		if res := Check(h.evs, CheckOptions{Names: names}); !res.OK() {
			t.Fatalf("violations:\n%s", res)
		}
	})
}

func TestCheckLateStateOverTheBusIsNotASecondMarking(t *testing.T) {
	// Seen in the soak: DELIVERED told on A during an outage, the sender
	// moves to B, and the held state published when Redis returns reaches
	// B. One DELIVERY_ACK, one marking.
	h := newHB()
	h.connect(alice, "a#1", "A").add(Event{Kind: Fault, Detail: "redis_stop"})
	h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
	h.recv(bob, "b#1", "A", "1", alice, false).dack(bob, "b#1", "A", "1").state(alice, "a#1", "A", "1")
	h.add(Event{Kind: Disconnect, User: alice, Conn: "a#1", Instance: "A"})
	h.wait(time.Second).connect(alice, "a#2", "B").add(Event{Kind: Fault, Detail: "redis_start"})
	h.wait(time.Second).state(alice, "a#2", "B", "1")
	if res := Check(h.evs, CheckOptions{}); !res.OK() {
		t.Fatalf("violations:\n%s", res)
	}
}

func TestCheckCapsViolationsPerRule(t *testing.T) {
	h := newHB()
	for i := 0; i < 8; i++ {
		h.recv(bob, "b#1", "B", "1", alice, false)
	}
	res := Check(h.evs, CheckOptions{MaxPerRule: 3})
	if len(res.Violations) != 3 || res.Omitted != 4 {
		t.Fatalf("violations %d omitted %d, want 3 and 4", len(res.Violations), res.Omitted)
	}
	if !strings.Contains(res.String(), "(4 more not shown)") {
		t.Errorf("String:\n%s", res)
	}
}

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.json")
	in := File{Runs: []Run{{Name: "x.scn", Seed: 7, Names: map[string]string{alice: "alice"}, Events: clean().evs}}}
	if err := WriteFile(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Runs) != 1 || out.Runs[0].Seed != 7 || len(out.Runs[0].Events) != len(in.Runs[0].Events) ||
		!out.Runs[0].Events[3].Time.Equal(in.Runs[0].Events[3].Time) || out.Runs[0].Events[3] != in.Runs[0].Events[3] {
		t.Fatalf("round trip changed the file: %+v", out.Runs[0].Events[3])
	}
	if res := Check(out.Runs[0].Events, CheckOptions{}); !res.OK() {
		t.Errorf("reloaded clean history fails:\n%s", res)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

func TestIDLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"9", "10", true}, {"10", "9", false}, {"2", "2", false}, {"ab", "b", false}, {"b", "ab", true}, {"a1", "a2", true}} {
		if got := idLess(c.a, c.b); got != c.want {
			t.Errorf("idLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// TestCheckNewRulesGraces: the new rules wait for the history to go on
// long enough, and a socket that went away excuses the sender's state.
func TestCheckNewRulesGraces(t *testing.T) {
	outage := func(after time.Duration) *hb {
		h := newHB()
		h.connect(bob, "b#1", "B").replayDone(bob, "b#1", "B", 0)
		h.add(Event{Kind: Fault, Detail: "redis_stop"})
		h.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
		h.add(Event{Kind: Fault, Detail: "redis_start"}).wait(after)
		return h.stored("1", alice, bob, "c1", false)
	}
	if res := Check(outage(time.Second).evs, CheckOptions{}); !res.OK() {
		t.Errorf("a run that ends 1s after Redis is back is blamed:\n%s", res)
	}
	if res := Check(outage(4*time.Second).recv(bob, "b#1", "B", "1", alice, false).evs, CheckOptions{}); !res.OK() {
		t.Errorf("a caught-up message is blamed:\n%s", res)
	}
	told := newHB()
	told.connect(alice, "a#1", "A").connect(bob, "b#1", "B")
	told.send(alice, "a#1", "c1", bob, 1).ack(alice, "a#1", "c1", "1")
	told.recv(bob, "b#1", "B", "1", alice, false).dack(bob, "b#1", "B", "1")
	told.add(Event{Kind: Disconnect, User: alice, Conn: "a#1", Instance: "A"})
	told.wait(time.Second).stored("1", alice, bob, "c1", true)
	if res := Check(told.evs, CheckOptions{}); !res.OK() {
		t.Errorf("a sender whose socket closed right after the ack is blamed:\n%s", res)
	}
}
