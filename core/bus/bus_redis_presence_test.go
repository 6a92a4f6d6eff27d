package bus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// TestRedisPresenceRecords: each instance's record is read by every other
// on demand; a record not refreshed within PresenceTTL (its instance died
// without a goodbye) is gone; Close removes its own at once.
func TestRedisPresenceRecords(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	a := newTestBus(t, m.Addr(), "A")
	b := newTestBus(t, m.Addr(), "B")
	c := newTestBus(t, m.Addr(), "C")
	for _, tb := range []*testBus{a, b, c} {
		tb.start(t)
	}
	ctx := context.Background()
	if err := a.SetPresence(ctx, []string{"u1", "u2"}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPresence(ctx, []string{"u3"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPresence(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.Presence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got); s != "map[A:[u1 u2] B:[u3] C:[]]" {
		t.Errorf("Presence = %s", s)
	}

	// B says goodbye; A stops refreshing (as if it died) and its record
	// expires, while C refreshes.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Presence(ctx)
	if _, ok := got["B"]; ok {
		t.Errorf("B's record outlived its Close: %v", got)
	}
	m.FastForward(PresenceTTL + time.Second)
	if err := c.SetPresence(ctx, []string{"u4"}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.Presence(ctx)
	if s := fmt.Sprint(got); s != "map[C:[u4]]" {
		t.Errorf("after A's record expired: Presence = %s, want only C", s)
	}
}
