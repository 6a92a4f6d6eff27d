package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestCommitterBatches(t *testing.T) {
	release := make(chan struct{})
	var (
		mu    sync.Mutex
		sizes []int
	)
	first := make(chan struct{}, 1)
	c := newCommitter(8, func(batch []*writeReq) {
		select {
		case first <- struct{}{}:
			<-release // hold the first batch so the rest queue up
		default:
		}
		mu.Lock()
		sizes = append(sizes, len(batch))
		mu.Unlock()
		for _, r := range batch {
			r.changed = true
			r.out.ID = r.msg.ClientMessageID
		}
	})
	queued, _ := watchQueue(c)
	const n = 21
	var wg sync.WaitGroup
	results := make(chan string, n)
	submit := func(i int) {
		defer wg.Done()
		r := c.get()
		r.op = opSave
		r.msg.ClientMessageID = string(rune('a' + i))
		if err := c.submit(context.Background(), r); err != nil {
			t.Error(err)
			return
		}
		if !r.changed || r.out.ID != r.msg.ClientMessageID {
			t.Errorf("request %d got another's result: %+v", i, r)
		}
		results <- r.out.ID
		c.put(r)
	}
	wg.Add(1)
	go submit(0)
	<-first
	for i := 1; i < n; i++ {
		wg.Add(1)
		go submit(i)
	}
	// Wait until the queue is full: the first request (taken) and 8 more
	// (the queue holds 8; the rest block).
	queued.waitFor(t, 1+8, "queued")
	close(release)
	wg.Wait()
	c.stop()
	close(results)
	seen := map[string]bool{}
	for id := range results {
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct results, want %d", len(seen), n)
	}
	total, most := 0, 0
	for _, s := range sizes {
		total += s
		most = max(most, s)
		if s > 8 {
			t.Fatalf("batch of %d, max 8", s)
		}
	}
	if total != n || most != 8 {
		t.Fatalf("batch sizes %v: want %d writes in total and a full batch of 8", sizes, n)
	}
}

func TestCommitterCanceledBeforeQueue(t *testing.T) {
	block := make(chan struct{})
	running := make(chan struct{}, 1)
	c := newCommitter(1, func(batch []*writeReq) {
		running <- struct{}{}
		<-block
	})
	queued, _ := watchQueue(c)
	// Occupy the writer, then fill the queue (capacity 1), so the next
	// submit must wait for room.
	var wg sync.WaitGroup
	bg := func() {
		defer wg.Done()
		_ = c.submit(context.Background(), c.get())
	}
	wg.Add(1)
	go bg()
	<-running
	wg.Add(1)
	go bg()
	queued.waitFor(t, 2, "queued") // the one running and one waiting
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.submit(ctx, c.get()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("submit to a full queue: %v, want DeadlineExceeded", err)
	}
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := c.submit(canceled, c.get()); !errors.Is(err, context.Canceled) {
		t.Fatalf("submit with a canceled context: %v", err)
	}
	close(block)
	<-running // the second batch
	wg.Wait()
	c.stop()
}

func TestCommitterStopDrains(t *testing.T) {
	var mu sync.Mutex
	done := 0
	c := newCommitter(4, func(batch []*writeReq) {
		mu.Lock()
		done += len(batch)
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.get()
			if err := c.submit(context.Background(), r); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait() // all submitted and answered
	c.stop()
	if done != 50 {
		t.Fatalf("%d writes run, want 50", done)
	}
}
