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
	got := map[int]bool{}
	for range 5 {
		select {
		case i := <-f.ch:
			got[i] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("fired %v, want 5 items", got)
		}
	}
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
	w.Remove(1, n)
	w.Remove(7, n) // never added: nothing happens
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
	w.Remove(1, n)
	w.mu.Lock()
	armed, waiting := w.isArmed, len(w.ticks)
	w.mu.Unlock()
	if armed || waiting != 0 {
		t.Fatalf("emptied wheel: armed %v, %d ticks waiting", armed, waiting)
	}
	w.Add(2, time.Now())
	f.wait(t, 2)
}
