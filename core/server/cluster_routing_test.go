package server_test

// Routing by interest: a bus event reaches only the instances holding a
// socket of the user it is for.

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/config"
)

// metricValue reads one counter or gauge series.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// received is how many events of kind arrived on e's subscriptions.
func received(e *env, kind string) int {
	return int(metricValue(e.t, e.srv.Node().Metrics().Bus.Received.WithLabelValues(kind)))
}

// published is how many events of kind e sent to Redis.
func published(e *env, kind string) int {
	return int(metricValue(e.t, e.srv.Node().Metrics().Bus.Published.WithLabelValues(kind)))
}

// controlBarrier publishes a presence event on the control channel, which
// every instance holds, and waits until each of envs received it: Redis
// hands one subscriber its messages in publish order, so whatever was
// published before has arrived by then.
func (c *cluster) controlBarrier(envs ...*env) {
	c.t.Helper()
	before := make([]int, len(envs))
	for i, e := range envs {
		before[i] = received(e, "presence")
	}
	c.mr.Publish("dmchat:events", `{"kind":"presence","originInstanceId":"test-barrier"}`)
	for i, e := range envs {
		eventually(c.t, waitFor, "control barrier at "+e.srv.Node().InstanceID(), func() bool {
			return received(e, "presence") > before[i]
		})
	}
}

// TestClusterRoutesByInterest: user1 on A writes to user2 on B; C holds
// no socket of either. Every message is received by B only, every
// delivery state by A only, and C receives no chat event at all. Once
// user2 has left, a message for them is one publish nobody receives.
func TestClusterRoutesByInterest(t *testing.T) {
	c := newCluster(t, "mem", false)
	a := c.instance("A", nil)
	b := c.instance("B", nil)
	cc := c.instance("C", nil)
	_, u1Tok := a.user("user1")
	u2ID, u2Tok := a.user("user2")
	u1, _ := a.dial(u1Tok)
	u2, _ := b.dial(u2Tok)

	const n = 5
	for i := range n {
		send(t, u1, "r-"+string(rune('a'+i)), u2ID, "routed")
		ack := expectType(t, u1, chat.TypeMessageAck)
		msg := expectType(t, u2, chat.TypeMessage)
		if msg.MessageID != ack.MessageID {
			t.Fatalf("user2 got %s, want %s", msg.MessageID, ack.MessageID)
		}
		if err := u2.Ack(ctxT(t), msg.MessageID); err != nil {
			t.Fatal(err)
		}
		expectType(t, u1, chat.TypeMessageState)
	}
	c.controlBarrier(a, b, cc)

	for _, k := range []struct {
		e          *env
		kind       string
		want       int
		instanceID string
	}{
		{b, "chat.message", n, "B"}, {a, "chat.message", 0, "A"}, {cc, "chat.message", 0, "C"},
		{a, "chat.state", n, "A"}, {b, "chat.state", 0, "B"}, {cc, "chat.state", 0, "C"},
	} {
		if got := received(k.e, k.kind); got != k.want {
			t.Errorf("%s received %d %s events, want %d", k.instanceID, got, k.kind, k.want)
		}
	}

	// user2 leaves: B drops the channel, and a message for user2 is
	// published once and received by nobody.
	if err := u2.Close(); err != nil {
		t.Fatal(err)
	}
	subs := func(e *env) float64 { return metricValue(t, e.srv.Node().Metrics().Bus.Subscriptions) }
	eventually(t, waitFor, "B to drop user2's channel", func() bool { return subs(b) == 0 })
	if got := subs(a); got != 1 {
		t.Errorf("A holds %v user channels, want 1 (user1's)", got)
	}
	pubBefore := published(a, "chat.message")
	send(t, u1, "r-offline", u2ID, "for later")
	expectType(t, u1, chat.TypeMessageAck)
	eventually(t, waitFor, "the publish", func() bool { return published(a, "chat.message") == pubBefore+1 })
	c.controlBarrier(a, b, cc)
	if got := received(a, "chat.message") + received(b, "chat.message") + received(cc, "chat.message"); got != n {
		t.Errorf("%d chat.message events received in all, want %d (the offline one reached nobody)", got, n)
	}
}

// TestClusterUserMovesWhileMessagesFlow: user1 on A sends a stream of DMs
// while user2 hops between A, B and C, sometimes opening the next socket
// before closing the last, sometimes leaving a gap with no socket at all.
// The subscriptions follow (each instance joins and leaves user2's
// channel), and every DM reaches user2 and is DELIVERED: none falls
// between an instance's replay and its subscription, or after its last
// socket left.
func TestClusterUserMovesWhileMessagesFlow(t *testing.T) {
	c := newCluster(t, "mem", false)
	fast := func(cfg *config.Config) { cfg.WSRate, cfg.WSBurst = 1000, 1000 } // the stream is no flood
	envs := []*env{c.instance("A", fast), c.instance("B", fast), c.instance("C", fast)}
	_, u1Tok := envs[0].user("user1")
	u2ID, u2Tok := envs[0].user("user2")
	u1, _ := envs[0].dial(u1Tok)

	var mu sync.Mutex
	got := map[string]bool{}
	var readers sync.WaitGroup
	rctx, stopReaders := context.WithCancel(context.Background())
	own := func(conn *client.Conn, replayed []client.Frame) {
		ack := func(id string) {
			mu.Lock()
			got[id] = true
			mu.Unlock()
			_ = conn.Ack(context.Background(), id) // the socket may be closing: a later one gets it again
		}
		for _, f := range replayed {
			ack(f.MessageID)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				f, err := conn.Next(rctx)
				if err != nil {
					return
				}
				if f.Type == chat.TypeMessage {
					ack(f.MessageID)
				}
			}
		}()
	}

	const total = 60
	sent := make(chan string, total)
	go func() {
		defer close(sent)
		for i := range total {
			if err := u1.SendMessage(context.Background(), fmt.Sprintf("mv-%d", i), u2ID, "moving"); err != nil {
				return
			}
			f, err := u1.WaitFor(context.Background(), func(f client.Frame) bool {
				return f.Type == chat.TypeMessageAck || f.Type == chat.TypeError
			})
			if err != nil || f.Type == chat.TypeError {
				return
			}
			sent <- f.MessageID
		}
	}()

	var cur *client.Conn
	for hop := 0; ; hop++ {
		next, replayed := envs[hop%3].dial(u2Tok)
		own(next, replayed)
		if cur != nil {
			cur.Close()
		}
		cur = next
		if hop%2 == 1 { // a gap: no socket of user2 anywhere for a moment
			cur.Close()
			cur = nil
			next, replayed := envs[(hop+1)%3].dial(u2Tok)
			own(next, replayed)
			cur = next
		}
		if len(sent) == cap(sent) || hop > 200 {
			break
		}
		select {
		case <-ctxT(t).Done():
			t.Fatal("timed out")
		default:
		}
		if done := func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= total }(); done {
			break
		}
	}
	var ids []string
	for id := range sent {
		ids = append(ids, id)
	}
	if len(ids) != total {
		t.Fatalf("sent %d of %d", len(ids), total)
	}
	eventually(t, waitFor, "every DM at user2", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if !got[id] {
				return false
			}
		}
		return true
	})
	eventually(t, waitFor, "every DM DELIVERED", func() bool {
		left, err := c.st.Undelivered(context.Background(), u2ID, "", 1000)
		return err == nil && len(left) == 0
	})
	stopReaders()
	readers.Wait()
}
