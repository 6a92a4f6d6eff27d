package wheel

import (
	"sync"
	"testing"
	"time"
)

// fired records what a wheel fires, and when.
type fired struct {
	mu    sync.Mutex
	at    map[int]time.Time
	calls int
	ch    chan int
}

func newFired() *fired { return &fired{at: make(map[int]time.Time), ch: make(chan int, 64)} }

func (f *fired) fire(due []int) {
	now := time.Now()
	f.mu.Lock()
	f.calls++
	for _, i := range due {
		f.at[i] = now
	}
	f.mu.Unlock()
	for _, i := range due {
		f.ch <- i
	}
}

func (f *fired) wait(t *testing.T, want int) {
	t.Helper()
	select {
	case got := <-f.ch:
		if got != want {
			t.Fatalf("fired %d, want %d", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%d never fired", want)
	}
}

// collect waits until n items have fired and returns them, failing after
// 10 s.
func (f *fired) collect(t *testing.T, n int) map[int]bool {
	t.Helper()
	got := map[int]bool{}
	for len(got) < n {
		select {
		case i := <-f.ch:
			got[i] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("fired %v, want %d items", got, n)
		}
	}
	return got
}

func TestItemsFireInOrderNeverEarly(t *testing.T) {
	f := newFired()
	w := New(10*time.Millisecond, f.fire)
	start := time.Now()
	due := map[int]time.Time{1: start.Add(15 * time.Millisecond), 2: start.Add(40 * time.Millisecond), 3: start.Add(70 * time.Millisecond)}
	for _, i := range []int{3, 1, 2} {
		w.Add(i, due[i])
	}
	for _, i := range []int{1, 2, 3} {
		f.wait(t, i)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, at := range due {
		if f.at[i].Before(at) {
			t.Errorf("item %d fired %v before its deadline", i, at.Sub(f.at[i]))
		}
	}
}

func TestItemsOfOneTickFireTogether(t *testing.T) {
	f := newFired()
	w := New(time.Hour, f.fire)
	at := time.Now().Add(-time.Second) // passed: at the first turn
	for i := range 5 {
		w.Add(i, at)
	}
	f.collect(t, 5)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls != 1 {
		t.Fatalf("5 items of one tick took %d calls, want 1", f.calls)
	}
}

func TestRemovedItemNeverFires(t *testing.T) {
	f := newFired()
	w := New(5*time.Millisecond, f.fire)
	now := time.Now()
	n := w.Add(1, now.Add(20*time.Millisecond))
	w.Add(2, now.Add(20*time.Millisecond))
	w.Remove(n)
	w.Remove(n) // removed already: nothing happens
	w.Add(3, now.Add(60*time.Millisecond))
	f.wait(t, 2)
	f.wait(t, 3)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.at[1]; ok {
		t.Fatal("a removed item fired")
	}
}

// TestEmptiedWheelStopsItsTimer: once the last item is removed nothing
// is armed, and a later Add arms it again.
func TestEmptiedWheelStopsItsTimer(t *testing.T) {
	f := newFired()
	w := New(time.Millisecond, f.fire)
	n := w.Add(1, time.Now().Add(time.Hour))
	w.Remove(n)
	w.mu.Lock()
	armed, waiting := w.isArmed, len(w.ticks)
	w.mu.Unlock()
	if armed || waiting != 0 {
		t.Fatalf("emptied wheel: armed %v, %d ticks waiting", armed, waiting)
	}
	w.Add(2, time.Now())
	f.wait(t, 2)
}

// TestRemoveFromACrowdedTick: removing most items of one tick, in a
// scattered order, leaves exactly the others to fire, in one call.
func TestRemoveFromACrowdedTick(t *testing.T) {
	f := newFired()
	f.ch = make(chan int, 1000)
	w := New(20*time.Millisecond, f.fire)
	at := time.Now().Add(200 * time.Millisecond) // time enough to remove them all first
	slots := make([]*Entry[int], 1000)
	for i := range slots {
		slots[i] = w.Add(i, at)
	}
	keep := map[int]bool{}
	for k := range slots {
		i := k * 7919 % len(slots) // every index once, scattered
		if i%97 == 0 {
			keep[i] = true
			continue
		}
		w.Remove(slots[i])
	}
	w.Remove(slots[5]) // twice: nothing happens
	w.mu.Lock()
	if n := len(w.due); n != 1 {
		w.mu.Unlock()
		t.Fatalf("the items fill %d ticks, want 1 (the test relies on it)", n)
	}
	w.mu.Unlock()
	f.collect(t, len(keep))
	f.mu.Lock()
	defer f.mu.Unlock()
	// fire records a call's items before it sends any: all are in at.
	for i := range f.at {
		if !keep[i] {
			t.Fatalf("removed item %d fired", i)
		}
	}
	if len(f.at) != len(keep) {
		t.Fatalf("%d items fired, want %d", len(f.at), len(keep))
	}
	if f.calls != 1 {
		t.Fatalf("one tick's items took %d calls, want 1", f.calls)
	}
}

// TestRemoveAfterFiring: removing an entry that has fired does nothing,
// even to an entry added to the same tick since, which took its place.
func TestRemoveAfterFiring(t *testing.T) {
	f := newFired()
	w := New(time.Hour, f.fire)
	past := time.Now().Add(-time.Minute) // the first tick: due at once
	old := w.Add(1, past)
	f.wait(t, 1)
	w.Add(2, past)
	w.Remove(old)
	f.wait(t, 2)
}

// TestRemovedItemIsNotKept: the wheel forgets a removed item at once,
// even while others of its tick wait, so it does not keep a closed
// session alive until its tick would have come.
func TestRemovedItemIsNotKept(t *testing.T) {
	w := New(time.Hour, func([]*int) {})
	a, b := new(int), new(int)
	at := time.Now().Add(time.Hour)
	ea := w.Add(a, at)
	w.Add(b, at)
	w.Add(new(int), at)
	w.Remove(ea)
	w.mu.Lock()
	defer w.mu.Unlock()
	items := w.due[ea.tick]
	if len(items) != 2 {
		t.Fatalf("%d entries left in the tick, want 2", len(items))
	}
	for i, e := range items {
		if e.item == a {
			t.Fatal("the wheel still holds a removed item")
		}
		if e.i != i {
			t.Fatalf("entry at %d says it is at %d", i, e.i)
		}
	}
}

// BenchmarkRemoveFromACrowdedTick: the cost of one Remove from a tick
// that holds b.N items (every session of a mass close expiring in the
// same tick). It was linear in the tick's size.
func BenchmarkRemoveFromACrowdedTick(b *testing.B) {
	w := New(time.Hour, func([]int) {})
	at := time.Now().Add(time.Hour)
	slots := make([]*Entry[int], b.N)
	for i := range slots {
		slots[i] = w.Add(i, at)
	}
	b.ResetTimer()
	for _, e := range slots {
		w.Remove(e)
	}
}
