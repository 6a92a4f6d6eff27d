package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestCommitterLingersForTheLastBatchsCallers: after a batch of 8, requests
// that trickle in one by one are gathered into one batch instead of being
// committed one at a time. The linger is long here so the test does not
// depend on timing.
func TestCommitterLingersForTheLastBatchsCallers(t *testing.T) {
	release := make(chan struct{})
	first := make(chan struct{}, 1)
	var (
		mu    sync.Mutex
		sizes []int
	)
	c := newCommitterLinger(16, 10*time.Second, func(batch []*writeReq) {
		select {
		case first <- struct{}{}:
			<-release // hold the first batch so the next 8 queue up
		default:
		}
		mu.Lock()
		sizes = append(sizes, len(batch))
		mu.Unlock()
	})
	defer c.stop()
	queued, taken := watchQueue(c)
	submit := func(wg *sync.WaitGroup) {
		defer wg.Done()
		r := c.get()
		if err := c.submit(context.Background(), r); err != nil {
			t.Error(err)
		}
		c.put(r)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go submit(&wg)
	<-first
	for range 8 {
		wg.Add(1)
		go submit(&wg)
	}
	queued.waitFor(t, 1+8, "queued") // the first, held, and 8 behind it
	close(release)
	wg.Wait() // batches [1, 8] committed

	// Now 8 more arrive one after another, each submitted only once the
	// previous one is queued: without the linger each would be its own batch.
	var trickle sync.WaitGroup
	// At most two are ever queued at once, fewer than half the last batch,
	// so the writer must linger to gather all eight.
	for i := range int64(8) {
		trickle.Add(1)
		go submit(&trickle)
		taken.waitFor(t, 9+i+1, "taken") // into the batch being gathered
	}
	trickle.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 3 || sizes[0] != 1 || sizes[1] != 8 || sizes[2] != 8 {
		t.Fatalf("batch sizes %v, want [1 8 8]", sizes)
	}
}
