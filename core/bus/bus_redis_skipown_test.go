package bus

import (
	"context"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// TestSkipOwnDropsOnlyOwnEvents: with SkipOwn, A never sees what it
// published, but still sees everything from B and from "AB" (whose id
// starts like A's), including content that imitates A's origin field.
func TestSkipOwnDropsOnlyOwnEvents(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	skip := func(o *RedisOptions) { o.SkipOwn = true }
	a := newTestBus(t, m.Addr(), "A", skip)
	b := newTestBus(t, m.Addr(), "B")
	ab := newTestBus(t, m.Addr(), "AB")
	a.start(t)
	b.start(t)
	ab.start(t)

	ctx := context.Background()
	publish := func(tb *testBus, id, content string) {
		t.Helper()
		if err := tb.Publish(ctx, Event{Kind: KindMessage, MessageID: id, Content: content}); err != nil {
			t.Fatalf("Publish %s: %v", id, err)
		}
	}
	publish(a, "own", "")
	publish(b, "from-b", `,"originInstanceId":"A"`)
	publish(ab, "from-ab", "")
	// Redis hands each subscriber the events in publish order and A
	// handles them one at a time, so once A has from-ab, its own event
	// would have been handled already.
	b.rec.waitEvent(t, "own at B", isMessage("own"))
	a.rec.waitEvent(t, "B's event at A", isMessage("from-b"))
	a.rec.waitEvent(t, "AB's event at A", isMessage("from-ab"))
	b.rec.waitEvent(t, "AB's event at B", isMessage("from-ab"))
	if n := a.rec.count(isMessage("own")); n != 0 {
		t.Fatalf("A got %d of its own events with SkipOwn", n)
	}
	// B, without SkipOwn, still gets its own.
	b.rec.waitEvent(t, "B's own event at B", isMessage("from-b"))
}
