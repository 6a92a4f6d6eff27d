package server_test

// The two-instance checklist and a shard outage on a real Redis Cluster
// (three masters started by the test, sharded pub/sub).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/store"
	"github.com/dmchat/dmchat/core/testsvc"
)

// clusterPair starts instances A and B on one store and the Redis Cluster
// rc, and waits until both buses are connected.
func clusterPair(t *testing.T, rc *testsvc.Cluster) (a, b *env) {
	t.Helper()
	st, err := store.Open(context.Background(), "mem", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := func(id string) *env {
		return setup(t, func(cfg *config.Config) {
			cfg.InstanceID = id
			cfg.RedisURL = rc.URL()
			cfg.RedisInitTimeout = 5 * time.Second
		}, st)
	}
	a, b = start("A"), start("B")
	for _, e := range []*env{a, b} {
		if s := e.srv.Node().BusState(); s != bus.StateConnected {
			t.Fatalf("instance %s: bus %v after start", e.srv.Config().InstanceID, s)
		}
	}
	return a, b
}

// userChannel is the bus channel of a user (bus.Redis.userChannel).
func userChannel(id string) string { return bus.DefaultChannel + ":u:{" + id + "}" }

// TestRedisClusterChecklist: a DM each way across instances, DELIVERED
// back to the sender, the admin list's instances, and a ban on A kicking
// the user's socket on B.
func TestRedisClusterChecklist(t *testing.T) {
	rc := testsvc.StartCluster(t, 3)
	a, b := clusterPair(t, rc)
	u1ID, u1Tok := a.user("user1")
	u2ID, u2Tok := a.user("user2")
	u1, _ := a.dial(u1Tok)
	u2, _ := b.dial(u2Tok)

	for _, d := range []struct {
		from, to *client.Conn
		toID     string
	}{{u1, u2, u2ID}, {u2, u1, u1ID}} {
		send(t, d.from, "c-"+d.toID, d.toID, "across the cluster")
		ack := expectType(t, d.from, chat.TypeMessageAck)
		msg := expectType(t, d.to, chat.TypeMessage)
		if msg.MessageID != ack.MessageID {
			t.Fatalf("got %s, want %s", msg.MessageID, ack.MessageID)
		}
		if err := d.to.Ack(ctxT(t), msg.MessageID); err != nil {
			t.Fatal(err)
		}
		if st := expectType(t, d.from, chat.TypeMessageState); st.MessageID != ack.MessageID {
			t.Fatalf("state for %s, want %s", st.MessageID, ack.MessageID)
		}
	}
	// Presence records live on the cluster too: A's admin list shows
	// user2 on B.
	eventually(t, waitFor, "user2 on [B] in A's list", func() bool {
		return fmt.Sprint(instancesOf(t, a, u2ID)) == "[B]"
	})
	if err := a.api.Ban(ctxT(t), a.admin, u2ID); err != nil {
		t.Fatal(err)
	}
	expectBanned(t, u2, 5*time.Second)
}

// TestRedisClusterShardKilledMidRun: user1 on A writes to users on B
// while the shard holding user r0's channel is SIGKILLed and restarted.
// Every message reaches its recipient (the ones for that shard's users by
// the catch-up once it is back), and bans made during the outage, of a
// user on the dead shard and of one on a live shard, apply within 5 s of
// the shard's return (the live one's at once).
func TestRedisClusterShardKilledMidRun(t *testing.T) {
	rc := testsvc.StartCluster(t, 3)
	a, b := clusterPair(t, rc)
	_, u1Tok := a.user("user1")
	u1, _ := a.dial(u1Tok)
	// Recipients until two share the first one's shard and one is on
	// another: then each case below has a user.
	var ids []string
	var conns []*client.Conn
	var shard []int
	for n := 0; ; n++ {
		id, tok := a.user(fmt.Sprintf("rcpt%d", n))
		conn, _ := b.dial(tok)
		ids, conns, shard = append(ids, id), append(conns, conn), append(shard, rc.NodeOf(userChannel(id)))
		same, other := 0, 0
		for _, s := range shard {
			if s == shard[0] {
				same++
			} else {
				other++
			}
		}
		if len(ids) >= 6 && same >= 2 && other >= 1 {
			break
		}
		if n > 40 {
			t.Fatal("no spread of users over the shards")
		}
	}
	recipients := len(ids)
	victim := shard[0]
	live := -1 // a recipient on another shard, to ban during the outage
	for i := range recipients {
		if shard[i] != victim {
			live = i
			break
		}
	}

	deadBan := -1 // a recipient on the victim shard, to ban during the outage
	for i := 1; i < recipients; i++ {
		if shard[i] == victim {
			deadBan = i
			break
		}
	}
	want := make([]map[string]bool, recipients) // message ids each must get
	for i := range want {
		want[i] = map[string]bool{}
	}
	sendRound := func(round int) {
		t.Helper()
		for i := range recipients {
			if (i == live || i == deadBan) && round > 1 {
				continue // banned by then
			}
			send(t, u1, fmt.Sprintf("m%d-%d", round, i), ids[i], "mid-run")
			ack := expectType(t, u1, chat.TypeMessageAck)
			want[i][ack.MessageID] = true
		}
	}
	sendRound(0)
	rc.Kill(victim)
	sendRound(1)
	if err := a.api.Ban(ctxT(t), a.admin, ids[live]); err != nil {
		t.Fatal(err)
	}
	expectBanned(t, conns[live], 5*time.Second)
	// The victim shard is down: this ban's kick cannot travel; the ban
	// is stored, and applied when the shard is back.
	if err := a.api.Ban(ctxT(t), a.admin, ids[deadBan]); err != nil {
		t.Fatal(err)
	}
	rc.Restart(victim)
	expectBanned(t, conns[deadBan], 5*time.Second)
	sendRound(2)

	for i := range recipients {
		if i == live || i == deadBan {
			continue
		}
		got := map[string]bool{}
		for len(got) < len(want[i]) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			f, err := conns[i].WaitFor(ctx, client.OfType(chat.TypeMessage))
			cancel()
			if err != nil {
				t.Fatalf("r%d (shard %d, victim %d): got %d of %d messages: %v", i, shard[i], victim, len(got), len(want[i]), err)
			}
			if !want[i][f.MessageID] {
				t.Fatalf("r%d got unexpected message %s", i, f.MessageID)
			}
			got[f.MessageID] = true
			if err := conns[i].Ack(ctxT(t), f.MessageID); err != nil {
				t.Fatal(err)
			}
		}
	}
}
