// Package wheel runs many deadlines on one runtime timer. Items due in the
// same tick wait in one slice, and the timer is armed for the earliest
// tick that holds any, so an item costs a 24 B entry and a slice slot
// instead of a runtime timer and its callback (~120 B), which matters
// when every idle socket has a deadline or two. An item fires at most one
// tick after its deadline, never before.
package wheel

import (
	"container/heap"
	"sync"
	"time"
)

// tickNum numbers a wheel's ticks: tick n ends at the wheel's start plus
// n ticks.
type tickNum int64

// Entry is an item waiting in a wheel, as Add returns it; Remove takes
// it. It knows its place in its tick, so that taking one item out of a
// tick holding thousands (every session whose token expires in the same
// tick, closed at once) costs the same as out of a tick holding one.
type Entry[T any] struct {
	item T
	tick tickNum
	i    int // index in its tick's items; -1 once fired or removed
}

// Wheel calls fire with the items whose deadline has passed, from the
// timer's goroutine, one call per turn. The timer is armed only while
// items wait, so a wheel holds no goroutine and needs no shutdown.
//
// Methods are safe for concurrent use. Lock rule: mu guards every field
// but the read-only ones, and every Entry's tick and i; it is never held
// while calling fire, so fire may Add and Remove.
type Wheel[T any] struct {
	tick  time.Duration
	start time.Time
	fire  func(due []T)

	mu    sync.Mutex
	due   map[tickNum][]*Entry[T]
	ticks ticks       // the ticks of due, earliest first (and some emptied ones)
	timer *time.Timer // made on first use
	armed tickNum     // the tick the timer is armed for, if isArmed
	// isArmed says the timer will fire (for tick armed).
	isArmed bool
}

// New returns a wheel of the given tick (at least a millisecond) that
// calls fire with the items due.
func New[T any](tick time.Duration, fire func(due []T)) *Wheel[T] {
	return &Wheel[T]{tick: max(tick, time.Millisecond), start: time.Now(), fire: fire, due: make(map[tickNum][]*Entry[T])}
}

// Add schedules item for the first tick that ends at or after at (at
// once if at has passed) and returns its entry, for Remove.
func (w *Wheel[T]) Add(item T, at time.Time) *Entry[T] {
	n := tickNum((at.Sub(w.start) + w.tick - 1) / w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	items, ok := w.due[n]
	if !ok {
		heap.Push(&w.ticks, n)
	}
	e := &Entry[T]{item: item, tick: n, i: len(items)}
	w.due[n] = append(items, e)
	if !w.isArmed || n < w.armed {
		w.armLocked(n)
	}
	return e
}

// Remove takes e out of the wheel, if it is still there: an entry Remove
// misses has fired or is firing.
func (w *Wheel[T]) Remove(e *Entry[T]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.i < 0 {
		return
	}
	items := w.due[e.tick]
	// The tick's last entry takes e's place: order within a tick does not
	// matter, they fire together.
	last := len(items) - 1
	items[e.i] = items[last]
	items[e.i].i = e.i
	items[last] = nil
	e.i = -1
	if items = items[:last]; len(items) > 0 {
		w.due[e.tick] = items
		return
	}
	delete(w.due, e.tick)
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
		for _, e := range w.due[n] {
			ready = append(ready, e.item)
			e.i = -1
		}
		delete(w.due, n)
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
