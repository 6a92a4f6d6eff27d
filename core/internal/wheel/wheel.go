// Package wheel runs many deadlines on one runtime timer. Items due in the
// same tick wait in one slice, and the timer is armed for the earliest
// tick that holds any, so an item costs a slice entry instead of a
// runtime timer and its callback (~120 B each), which matters when every
// idle socket has a deadline or two. An item fires at most one tick after
// its deadline, never before.
package wheel

import (
	"container/heap"
	"sync"
	"time"
)

// tickNum numbers a wheel's ticks: tick n ends at the wheel's start plus
// n ticks.
type tickNum int64

// Slot says where Add put an item: its tick and its place in that tick.
// Remove needs it, so that taking one item out of a tick holding
// thousands (every session whose token expires in the same tick, closed
// at once) costs the same as out of a tick holding one.
type Slot struct {
	tick tickNum
	i    int
}

// Wheel calls fire with the items whose deadline has passed, from the
// timer's goroutine, one call per turn. The timer is armed only while
// items wait, so a wheel holds no goroutine and needs no shutdown.
//
// Methods are safe for concurrent use. Lock rule: mu guards every field
// but the read-only ones, and is never held while calling fire, so fire
// may Add and Remove.
type Wheel[T comparable] struct {
	tick  time.Duration
	start time.Time
	fire  func(due []T)

	mu    sync.Mutex
	due   map[tickNum]*tickItems[T]
	ticks ticks       // the ticks of due, earliest first (and some emptied ones)
	timer *time.Timer // made on first use
	armed tickNum     // the tick the timer is armed for, if isArmed
	// isArmed says the timer will fire (for tick armed).
	isArmed bool
}

// tickItems are the items of one tick. Remove leaves a hole where an item
// was, rather than moving the ones after it, so every Slot stays true
// until the tick fires.
type tickItems[T comparable] struct {
	items []entry[T]
	live  int // entries not removed
}

type entry[T comparable] struct {
	item    T
	removed bool
}

// New returns a wheel of the given tick (at least a millisecond) that
// calls fire with the items due.
func New[T comparable](tick time.Duration, fire func(due []T)) *Wheel[T] {
	return &Wheel[T]{tick: max(tick, time.Millisecond), start: time.Now(), fire: fire, due: make(map[tickNum]*tickItems[T])}
}

// Add schedules item for the first tick that ends at or after at (at
// once if at has passed) and returns where it waits.
func (w *Wheel[T]) Add(item T, at time.Time) Slot {
	n := tickNum((at.Sub(w.start) + w.tick - 1) / w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.due[n]
	if !ok {
		t = &tickItems[T]{}
		w.due[n] = t
		heap.Push(&w.ticks, n)
	}
	t.items = append(t.items, entry[T]{item: item})
	t.live++
	if !w.isArmed || n < w.armed {
		w.armLocked(n)
	}
	return Slot{tick: n, i: len(t.items) - 1}
}

// Remove takes item out of slot, if it is still there: an item Remove
// misses has fired or is firing.
func (w *Wheel[T]) Remove(item T, slot Slot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.due[slot.tick]
	if t == nil || slot.i < 0 || slot.i >= len(t.items) {
		return
	}
	e := &t.items[slot.i]
	if e.removed || e.item != item {
		return // fired already, and the tick has been filled again since
	}
	var zero T
	e.item, e.removed = zero, true // the wheel must not keep item alive
	if t.live--; t.live > 0 {
		return
	}
	delete(w.due, slot.tick)
	if len(w.due) == 0 {
		// Nothing waits: the timer need not fire.
		w.ticks = w.ticks[:0]
		w.timer.Stop()
		w.isArmed = false
	}
}

func (w *Wheel[T]) armLocked(n tickNum) {
	w.armed, w.isArmed = n, true
	d := time.Until(w.start.Add(time.Duration(n) * w.tick))
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.turn)
		return
	}
	w.timer.Reset(d)
}

// turn fires every item whose tick has come and arms the timer for the
// next tick that holds any.
func (w *Wheel[T]) turn() {
	now := tickNum(time.Since(w.start) / w.tick)
	var ready []T
	w.mu.Lock()
	for len(w.ticks) > 0 && w.ticks[0] <= now {
		n := heap.Pop(&w.ticks).(tickNum)
		if t := w.due[n]; t != nil {
			for _, e := range t.items {
				if !e.removed {
					ready = append(ready, e.item)
				}
			}
			delete(w.due, n)
		}
	}
	w.isArmed = false
	if len(w.ticks) > 0 {
		w.armLocked(w.ticks[0])
	}
	w.mu.Unlock()
	if len(ready) > 0 {
		w.fire(ready)
	}
}

// ticks is a min-heap of tick numbers (container/heap's interface).
type ticks []tickNum

func (t ticks) Len() int           { return len(t) }
func (t ticks) Less(i, j int) bool { return t[i] < t[j] }
func (t ticks) Swap(i, j int)      { t[i], t[j] = t[j], t[i] }
func (t *ticks) Push(x any)        { *t = append(*t, x.(tickNum)) }
func (t *ticks) Pop() any {
	old := *t
	n := old[len(old)-1]
	*t = old[:len(old)-1]
	return n
}
