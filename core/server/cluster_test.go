package server_test

// The two-instance checklist (shared/seeds "Phase E") and what lies beyond
// it, in process: instances A and B share one store value and one
// miniredis, which the tests stop and restart on the same address.

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/logging/logtest"
)

// Step 5: a DM from user1 on A to user2 on B is published by A, delivered
// by B's bus handler, seen by user2 without a refresh; user2's ack reaches
// user1 on A as MESSAGE_STATE. The log lines carry ids, never content.
func TestClusterDirectMessage(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			a, b := c.pair(nil)
			u1ID, u1Tok := a.user("user1")
			u2ID, u2Tok := a.user("user2")
			u1, _ := a.dial(u1Tok)
			u2, _ := b.dial(u2Tok)

			const content = "hello across instances, marker-Qz8"
			send(t, u1, "c1", u2ID, content)
			ack := expectType(t, u1, chat.TypeMessageAck)
			m := expectType(t, u2, chat.TypeMessage)
			if m.MessageID != ack.MessageID || m.SenderID != u1ID || m.RecipientID != u2ID || m.Content != content || m.CreatedAt != ack.CreatedAt {
				t.Fatalf("user2 got %s, want %s from %s", m.Raw, ack.MessageID, u1ID)
			}
			a.logs.WaitFor(t, waitFor, fieldsMatch("RedisBus", "chat_message_published",
				map[string]string{"messageId": m.MessageID, "recipientId": u2ID, "originInstanceId": "A"}))
			b.logs.WaitFor(t, waitFor, fieldsMatch("RedisBusHandler", "chat_message_delivered",
				map[string]string{"messageId": m.MessageID, "recipientId": u2ID, "originInstanceId": "A"}))

			// The state crosses back: user2 acks on B, user1 hears it on A.
			if err := u2.Ack(ctxT(t), m.MessageID); err != nil {
				t.Fatal(err)
			}
			st := waitType(t, u1, chat.TypeMessageState, waitFor)
			if st.MessageID != m.MessageID || st.State != chat.StateDelivered {
				t.Fatalf("state %s", st.Raw)
			}
			barrier(t, u1) // one MESSAGE_STATE, not two
			if got, err := c.st.MessageByID(ctxT(t), m.MessageID); err != nil || !got.Delivered() {
				t.Fatalf("stored %+v, %v", got, err)
			}
			for _, e := range []*env{a, b} {
				logtest.AssertNoSecrets(t, e.logs.Records(), content, u1Tok, u2Tok, testPassword, testSecret)
				noContentFields(t, e.logs.Records())
			}
		})
	}
}

// Step 6: an admin on A bans user2, connected on B; A publishes the kick,
// B applies it: ERROR BANNED then 4003, as for a local ban.
func TestClusterBanFromOtherInstance(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			a, b := c.pair(nil)
			u2ID, u2Tok := a.user("user2")
			u2, _ := b.dial(u2Tok)

			if err := a.api.Ban(ctxT(t), a.admin, u2ID); err != nil {
				t.Fatal(err)
			}
			expectBanned(t, u2, waitFor)
			a.logs.WaitFor(t, waitFor, fieldsMatch("RedisBus", "admin_kick_published",
				map[string]string{"action": "ban", "targetUserId": u2ID, "originInstanceId": "A"}))
			b.logs.WaitFor(t, waitFor, fieldsMatch("RedisBusHandler", "admin_kick_ban_applied",
				map[string]string{"targetUserId": u2ID, "originInstanceId": "A", "sockets": "1"}))

			// Reconnecting to B: banned at once, nothing replayed.
			again := b.dialRaw(u2Tok)
			expectError(t, again, chat.CodeBanned)
			expectClose(t, again, chat.CloseBanned)
		})
	}
}

// Step 7 (Redis down at start): init_timeout, bus_disabled, then
// listening; local DMs work. When Redis appears the bus connects, and a DM
// stored while it was away reaches the other instance's user.
func TestClusterStartWithRedisDown(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, true)
			short := func(cfg *config.Config) { cfg.RedisInitTimeout = 300 * time.Millisecond }
			a := c.instance("A", short)
			b := c.instance("B", short)
			for _, e := range []*env{a, b} {
				it := e.logs.WaitFor(t, waitFor, logtest.Event("RedisBus", "init_timeout"))
				if ms, ok := it.Fields["timeoutMs"].(int64); !ok || ms != 300 {
					t.Errorf("init_timeout timeoutMs = %v, want 300", it.Fields["timeoutMs"])
				}
				bd := e.logs.WaitFor(t, waitFor, logtest.Event("RedisBus", "bus_disabled"))
				if bd.String("reason") == "" {
					t.Errorf("bus_disabled without reason: %v", bd.Fields)
				}
				assertOrder(t, e.logs, "init_timeout", "bus_disabled", "listening")
				if st := e.srv.Node().BusState(); st == bus.StateConnected {
					t.Fatalf("bus connected with Redis down")
				}
			}
			_, u1Tok := a.user("user1")
			u2ID, u2Tok := a.user("user2")
			u3ID, u3Tok := a.user("user3")
			u1, _ := a.dial(u1Tok)
			u2, _ := a.dial(u2Tok)
			u3, _ := b.dial(u3Tok)

			// Local delivery is unchanged.
			send(t, u1, "local", u2ID, "same instance")
			ack := expectType(t, u1, chat.TypeMessageAck)
			if m := expectType(t, u2, chat.TypeMessage); m.MessageID != ack.MessageID {
				t.Fatalf("user2 got %s", m.Raw)
			}
			if err := u2.Ack(ctxT(t), ack.MessageID); err != nil {
				t.Fatal(err)
			}
			expectType(t, u1, chat.TypeMessageState)

			// Across instances nothing can travel yet; the row is stored.
			send(t, u1, "cross", u3ID, "waits for the bus")
			cross := expectType(t, u1, chat.TypeMessageAck)
			barrier(t, u3)

			c.redisUp()
			up := time.Now()
			for _, e := range []*env{a, b} {
				e.logs.WaitFor(t, waitFor, logtest.Event("RedisBus", "bus_connected"))
			}
			waitMessage(t, u3, cross.MessageID, waitFor)
			t.Logf("stored-while-down message arrived %v after Redis started", time.Since(up).Round(time.Millisecond))

			// And now the bus carries new messages at once.
			waitBus(t, a, bus.StateConnected, waitFor)
			waitBus(t, b, bus.StateConnected, waitFor)
			send(t, u1, "after", u3ID, "over the bus")
			after := expectType(t, u1, chat.TypeMessageAck)
			waitMessage(t, u3, after.MessageID, waitFor)
		})
	}
}

// Step 7 (Redis stopped mid-run): no crash, bus_lost logged once however
// many sends follow, local DMs delivered and acknowledged.
func TestClusterRedisStoppedMidRun(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			// 60 sends in a burst: above the default limit of 40.
			a, b := c.pair(func(cfg *config.Config) { cfg.WSRate, cfg.WSBurst = 200, 200 })
			_, u1Tok := a.user("user1")
			u2ID, u2Tok := a.user("user2")
			u3ID, u3Tok := a.user("user3")
			u1, _ := a.dial(u1Tok)
			u2, _ := a.dial(u2Tok)
			u3, _ := b.dial(u3Tok)

			c.redisDown()
			for _, e := range []*env{a, b} {
				e.logs.WaitFor(t, waitFor, logtest.Event("RedisBus", "bus_lost"))
			}
			const n = 30
			for i := 0; i < n; i++ {
				send(t, u1, fmt.Sprintf("local-%d", i), u2ID, "local while down")
				ack := expectType(t, u1, chat.TypeMessageAck)
				if m := expectType(t, u2, chat.TypeMessage); m.MessageID != ack.MessageID {
					t.Fatalf("user2 got %s, want %s", m.Raw, ack.MessageID)
				}
				if err := u2.Ack(ctxT(t), ack.MessageID); err != nil {
					t.Fatal(err)
				}
				expectType(t, u1, chat.TypeMessageState)
				// Sends to the other instance are stored and acknowledged.
				send(t, u1, fmt.Sprintf("cross-%d", i), u3ID, "cross while down")
				expectType(t, u1, chat.TypeMessageAck)
			}
			for _, e := range []*env{a, b} {
				if err := e.api.Healthz(ctxT(t)); err != nil {
					t.Fatalf("instance %s not healthy: %v", e.srv.Config().InstanceID, err)
				}
				if k := countEvents(e.logs, "RedisBus", "bus_lost"); k != 1 {
					t.Errorf("instance %s logged bus_lost %d times, want once", e.srv.Config().InstanceID, k)
				}
			}
			barrier(t, u3) // nothing arrived on B while the bus was down
			c.redisUp()
			ctx := ctxT(t)
			got := map[string]bool{}
			for len(got) < n {
				f, err := u3.WaitFor(ctx, client.OfType(chat.TypeMessage))
				if err != nil {
					t.Fatalf("user3 got %d of %d after Redis returned: %v", len(got), n, err)
				}
				if got[f.MessageID] {
					t.Fatalf("message %s pushed twice on one connection", f.MessageID)
				}
				got[f.MessageID] = true
			}
		})
	}
}

// A DM stored during an outage reaches its recipient on the other
// instance within 5 s of Redis returning, without a reconnect; the state
// of its ack reaches the sender on the first instance.
func TestClusterOutageMessageArrivesAfterRestore(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			a, b := c.pair(nil)
			_, u1Tok := a.user("user1")
			u2ID, u2Tok := a.user("user2")
			u1, _ := a.dial(u1Tok)
			u2, _ := b.dial(u2Tok)

			c.redisDown()
			waitBus(t, a, bus.StateLost, waitFor)
			send(t, u1, "during", u2ID, "sent during the outage")
			ack := expectType(t, u1, chat.TypeMessageAck)
			barrier(t, u2) // it did not arrive during the outage

			c.redisUp()
			up := time.Now()
			m := waitMessage(t, u2, ack.MessageID, 5*time.Second)
			t.Logf("arrived %v after Redis returned", time.Since(up).Round(time.Millisecond))
			if m.Content != "sent during the outage" {
				t.Fatalf("content %q", m.Content)
			}
			waitBus(t, a, bus.StateConnected, waitFor)
			waitBus(t, b, bus.StateConnected, waitFor)
			if err := u2.Ack(ctxT(t), m.MessageID); err != nil {
				t.Fatal(err)
			}
			if st := waitType(t, u1, chat.TypeMessageState, waitFor); st.MessageID != m.MessageID {
				t.Fatalf("state %s", st.Raw)
			}
		})
	}
}

// A ban made during an outage kicks the user on the other instance within
// 5 s of Redis returning.
func TestClusterBanDuringOutage(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			a, b := c.pair(nil)
			u2ID, u2Tok := a.user("user2")
			u2, _ := b.dial(u2Tok)

			c.redisDown()
			waitBus(t, a, bus.StateLost, waitFor)
			if err := a.api.Ban(ctxT(t), a.admin, u2ID); err != nil {
				t.Fatal(err)
			}
			c.redisUp()
			up := time.Now()
			expectBanned(t, u2, 5*time.Second)
			t.Logf("kicked %v after Redis returned", time.Since(up).Round(time.Millisecond))
			b.logs.WaitFor(t, waitFor, fieldsMatch("RedisBusHandler", "admin_kick_ban_applied",
				map[string]string{"targetUserId": u2ID, "sockets": "1"}))
		})
	}
}

// A user with a tab on each instance gets each message on both; the
// sender's tabs on both instances get the state; a ban closes every tab.
func TestClusterTwoTabsAcrossInstances(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			a, b := c.pair(nil)
			_, u1Tok := a.user("user1")
			u2ID, u2Tok := a.user("user2")
			u1a, _ := a.dial(u1Tok)
			u1b, _ := b.dial(u1Tok)
			u2a, _ := a.dial(u2Tok)
			u2b, _ := b.dial(u2Tok)

			for i, from := range []*client.Conn{u1a, u1b} {
				send(t, from, "tab-"+strconv.Itoa(i), u2ID, "to both tabs")
				ack := expectType(t, from, chat.TypeMessageAck)
				ma := waitMessage(t, u2a, ack.MessageID, waitFor)
				waitMessage(t, u2b, ack.MessageID, waitFor)
				// Ack on the tab of the other instance than the sender's.
				acker := []*client.Conn{u2b, u2a}[i]
				if err := acker.Ack(ctxT(t), ma.MessageID); err != nil {
					t.Fatal(err)
				}
				for _, s := range []*client.Conn{u1a, u1b} {
					if st := waitType(t, s, chat.TypeMessageState, waitFor); st.MessageID != ack.MessageID {
						t.Fatalf("state %s, want %s", st.Raw, ack.MessageID)
					}
				}
			}
			// One MESSAGE per tab, one MESSAGE_STATE per sender tab.
			for _, s := range []*client.Conn{u1a, u1b, u2a, u2b} {
				barrier(t, s)
			}

			if err := b.api.Ban(ctxT(t), b.admin, u2ID); err != nil {
				t.Fatal(err)
			}
			expectBanned(t, u2a, waitFor)
			expectBanned(t, u2b, waitFor)
			a.logs.WaitFor(t, waitFor, fieldsMatch("RedisBusHandler", "admin_kick_ban_applied",
				map[string]string{"targetUserId": u2ID, "originInstanceId": "B", "sockets": "1"}))
		})
	}
}

// The ack-drop gate across instances: sent on A, received on B and not
// acked, replayed on A after a reconnect, acked there; DELIVERED once, one
// MESSAGE_STATE, and the next reconnect replays nothing.
func TestClusterAckDropAcrossInstances(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			c := newCluster(t, kind, false)
			a, b := c.pair(nil)
			u1ID, u1Tok := a.user("user1")
			u2ID, u2Tok := a.user("user2")
			u1, _ := a.dial(u1Tok)
			u2, _ := b.dial(u2Tok)

			send(t, u1, "drop-1", u2ID, "are you there")
			ack := expectType(t, u1, chat.TypeMessageAck)
			live := waitMessage(t, u2, ack.MessageID, waitFor)
			u2.Close() // the DELIVERY_ACK is never sent

			u2again, replayed := a.dial(u2Tok)
			if len(replayed) != 1 || replayed[0].MessageID != ack.MessageID || replayed[0].Content != live.Content || replayed[0].SenderID != u1ID {
				t.Fatalf("replay %v, want %s once", frameTypes(replayed), ack.MessageID)
			}
			if err := u2again.Ack(ctxT(t), ack.MessageID); err != nil {
				t.Fatal(err)
			}
			if st := expectType(t, u1, chat.TypeMessageState); st.MessageID != ack.MessageID {
				t.Fatalf("state %s", st.Raw)
			}
			if err := u2again.Ack(ctxT(t), ack.MessageID); err != nil {
				t.Fatal(err)
			}
			barrier(t, u2again)
			barrier(t, u1) // no second MESSAGE_STATE
			u2again.Close()

			for _, e := range []*env{b, a} {
				_, replayed = e.dial(u2Tok)
				if len(replayed) != 0 {
					t.Fatalf("reconnect on %s replayed %d", e.srv.Config().InstanceID, len(replayed))
				}
			}
			got, err := c.st.MessageByID(ctxT(t), ack.MessageID)
			if err != nil || !got.Delivered() {
				t.Fatalf("stored %+v, %v", got, err)
			}
			msgs, _, err := a.api.Messages(ctxT(t), u1Tok, u2ID, "", 0)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("%d rows (%v), want 1", len(msgs), err)
			}
		})
	}
}

// The admin user list of either instance shows a user connected to both
// as instances [A, B]; each instance writes its presence record to Redis
// about once a second.
func TestClusterAdminUsersShowsBothInstances(t *testing.T) {
	c := newCluster(t, "mem", false)
	a, b := c.pair(nil)
	u1ID, u1Tok := a.user("user1")
	u2ID, _ := a.user("user2")
	u1a, _ := a.dial(u1Tok)
	b.dial(u1Tok)

	for _, e := range []*env{a, b} {
		eventually(t, waitFor, "user1 on [A B] in "+e.srv.Config().InstanceID+"'s list", func() bool {
			return fmt.Sprint(instancesOf(t, e, u1ID)) == "[A B]"
		})
		if inst := instancesOf(t, e, u2ID); len(inst) != 0 {
			t.Errorf("offline user2 shows instances %v", inst)
		}
	}
	u1a.Close()
	eventually(t, waitFor, "user1 on [B] in B's list", func() bool {
		return fmt.Sprint(instancesOf(t, b, u1ID)) == "[B]"
	})
}

// assertOrder checks the first occurrences of events come in this order.
func assertOrder(t *testing.T, rec *logtest.Recorder, events ...string) {
	t.Helper()
	first := map[string]int{}
	for i, r := range rec.Records() {
		if _, ok := first[r.Event]; !ok {
			first[r.Event] = i
		}
	}
	for i := 1; i < len(events); i++ {
		p, ok1 := first[events[i-1]]
		q, ok2 := first[events[i]]
		if !ok1 || !ok2 || p > q {
			t.Errorf("want %s before %s (positions %v)", events[i-1], events[i], first)
		}
	}
}
