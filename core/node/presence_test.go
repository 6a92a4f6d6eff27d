package node_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/node"
)

// presenceBus is a fakeBus whose presence records can be taken away, as
// when Redis goes: its other instance "far" holds the users in remote.
type presenceBus struct {
	*fakeBus
	down   atomic.Bool
	remote []string
}

func (b *presenceBus) Presence(context.Context) (map[string][]string, error) {
	if b.down.Load() {
		return nil, bus.ErrUnavailable
	}
	return map[string][]string{"far": b.remote}, nil
}

// While Redis is away the admin list shows this instance's users only and
// the log says so once per outage, not on every list (the sandbox lists
// users ten times a second); once presence answers again the log says so,
// with how many lists went without it.
func TestUsersWithoutPresenceLogOncePerOutage(t *testing.T) {
	b := &presenceBus{fakeBus: newFakeBus()}
	rec := logtest.New(t)
	e := newEnv(t, node.Options{Bus: b, Logger: rec.Logger()})
	bob := e.user(t, "bob")
	b.remote = []string{bob.ID}

	instancesOfBob := func() []string {
		t.Helper()
		users, err := e.n.Users(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.ID == bob.ID {
				return u.Instances
			}
		}
		t.Fatalf("bob is not in the list %+v", users)
		return nil
	}
	lines := func(event string) int { return len(rec.Events("Admin", event)) }

	for outage := 1; outage <= 2; outage++ {
		b.down.Store(true)
		for range 5 {
			if got := instancesOfBob(); len(got) != 0 {
				t.Fatalf("outage %d: bob on %v without presence; want on none known", outage, got)
			}
		}
		if n := lines("presence_unavailable"); n != outage {
			t.Fatalf("outage %d: %d presence_unavailable lines after 5 lists; want %d (one per outage)\n%s",
				outage, n, outage, logtest.Format(rec.Records()))
		}

		b.down.Store(false)
		if got := instancesOfBob(); !slices.Equal(got, []string{"far"}) {
			t.Fatalf("outage %d over: bob on %v; want [far]", outage, got)
		}
		instancesOfBob() // a second list with presence logs nothing more
		restored := rec.Events("Admin", "presence_restored")
		if len(restored) != outage || restored[outage-1].Fields["unanswered"] != int64(5) {
			t.Fatalf("outage %d over: presence_restored lines %+v; want %d, the last with unanswered 5",
				outage, restored, outage)
		}
	}
}
