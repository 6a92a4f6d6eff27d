package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/server"
)

// silenceableBus stops refreshing its instance's presence record once
// silenced: to the others it looks like an instance that died without a
// goodbye.
type silenceableBus struct {
	bus.Bus
	silent atomic.Bool
}

func (s *silenceableBus) SetPresence(ctx context.Context, users []string) error {
	if s.silent.Load() {
		return nil
	}
	return s.Bus.SetPresence(ctx, users)
}

// TestClusterPresenceWithoutGoodbye: A's admin list shows user2 on B from
// B's record in Redis; when B stops refreshing it, user2 is shown offline
// once the record's TTL has passed, with no help from B. When C shuts down
// its record goes at once.
func TestClusterPresenceWithoutGoodbye(t *testing.T) {
	c := newCluster(t, "mem", false)
	var sb *silenceableBus
	a := c.instance("A", nil)
	b := c.instanceWith("B", nil, func(o *server.Options) {
		o.WrapBus = func(inner bus.Bus) bus.Bus { sb = &silenceableBus{Bus: inner}; return sb }
	})
	cc := c.instance("C", nil)
	u2ID, u2Tok := a.user("user2")
	u3ID, u3Tok := a.user("user3")
	b.dial(u2Tok)
	cc.dial(u3Tok)
	eventually(t, waitFor, "user2 on [B] and user3 on [C] in A's list", func() bool {
		return fmt.Sprint(instancesOf(t, a, u2ID), instancesOf(t, a, u3ID)) == "[B] [C]"
	})

	sb.silent.Store(true)
	c.mr.FastForward(bus.PresenceTTL)
	eventually(t, waitFor, "user2 offline in A's list", func() bool {
		return len(instancesOf(t, a, u2ID)) == 0
	})

	sctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := cc.srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if inst := instancesOf(t, a, u3ID); len(inst) != 0 {
		t.Errorf("user3 still on %v after C shut down", inst)
	}
}
