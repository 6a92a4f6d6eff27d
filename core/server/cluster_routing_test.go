package server_test

// Routing by interest: a bus event reaches only the instances holding a
// socket of the user it is for.

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dmchat/dmchat/core/chat"
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
