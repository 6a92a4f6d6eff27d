package store

import (
	"testing"
	"time"
)

// recordBatches returns a batchFunc that reports each batch's size and
// start time on the returned channel.
func recordBatches() (batchFunc, <-chan committed) {
	ch := make(chan committed, 16)
	return func(batch []*writeReq) { ch <- committed{n: len(batch), at: time.Now()} }, ch
}

// committed is one batch seen by recordBatches.
type committed struct {
	n  int
	at time.Time
}

// nextBatch waits for the next batch with a deadline.
func nextBatch(t *testing.T, ch <-chan committed) committed {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no commit within 5 s")
		return committed{}
	}
}

// TestCommitterIntervalGathersWhatComesTooSoon: a write that comes right
// after a commit started waits for the interval and shares the next commit
// with what arrives meanwhile, while the first write after a quiet spell is
// committed at once. The interval is an hour, so only a full batch can end
// the wait: the test does not depend on timing.
func TestCommitterIntervalGathersWhatComesTooSoon(t *testing.T) {
	run, batches := recordBatches()
	c := newCommitterTimed(4, commitTimings{interval: time.Hour}, run, nil)
	defer c.stop()
	_, taken := watchQueue(c)

	first := enqueue(c, opSave)
	if b := nextBatch(t, batches); b.n != 1 {
		t.Fatalf("first batch has %d writes, want 1 (nothing had been committed before it)", b.n)
	}
	<-first.done

	// One at a time, each taken by the writer before the next comes: without
	// the interval the first of them would be committed alone.
	var rs []*writeReq
	for i := range 4 {
		rs = append(rs, enqueue(c, opSave))
		taken.waitFor(t, int64(2+i), "taken") // the first write, then these
	}
	if b := nextBatch(t, batches); b.n != 4 {
		t.Fatalf("writes within the interval committed %d at a time, want the full batch of 4", b.n)
	}
	for _, r := range rs {
		<-r.done
	}
}

// TestCommitterIntervalIsTheLeastGapBetweenCommits: a lone write that comes
// too soon is committed once the interval has passed, not before, and not
// only when a batch fills.
func TestCommitterIntervalIsTheLeastGapBetweenCommits(t *testing.T) {
	const interval = 30 * time.Millisecond
	run, batches := recordBatches()
	c := newCommitterTimed(16, commitTimings{interval: interval}, run, nil)
	defer c.stop()

	<-enqueue(c, opSave).done
	a := nextBatch(t, batches)
	second := enqueue(c, opDeliver)
	b := nextBatch(t, batches)
	<-second.done
	if b.n != 1 {
		t.Fatalf("second batch has %d writes, want 1", b.n)
	}
	if gap := b.at.Sub(a.at); gap < interval {
		t.Fatalf("second commit started %v after the first, before the %v interval", gap, interval)
	}
}

// TestCommitterIntervalEndsOnStop: a write waiting for the interval is
// committed when the store closes instead of holding the close for it.
func TestCommitterIntervalEndsOnStop(t *testing.T) {
	run, batches := recordBatches()
	c := newCommitterTimed(16, commitTimings{interval: time.Hour}, run, nil)
	_, taken := watchQueue(c)
	<-enqueue(c, opSave).done
	nextBatch(t, batches)
	waiting := enqueue(c, opSave)
	taken.waitFor(t, 2, "taken")
	stopped := make(chan struct{})
	go func() { c.stop(); close(stopped) }()
	if b := nextBatch(t, batches); b.n != 1 {
		t.Fatalf("%d writes committed on stop, want 1", b.n)
	}
	<-waiting.done
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return")
	}
}
