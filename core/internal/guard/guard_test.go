package guard

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGoRunsUntilClosedThenRefuses: an open group starts fn and Wait waits
// for it; once closed, Go starts nothing.
func TestGoRunsUntilClosedThenRefuses(t *testing.T) {
	var g Group
	release := make(chan struct{})
	ran := make(chan struct{})
	if !g.Go(func() { close(ran); <-release }) {
		t.Fatal("Go refused on an open group")
	}
	<-ran
	if !g.Close() {
		t.Fatal("first Close reported the group already closed")
	}
	if g.Close() {
		t.Fatal("second Close reported it closed the group")
	}
	if !g.Closed() {
		t.Fatal("Closed is false after Close")
	}
	if g.Go(func() { t.Error("fn started after Close") }) {
		t.Fatal("Go admitted fn after Close")
	}
	if g.Enter() {
		t.Fatal("Enter admitted a call after Close")
	}
	waited := make(chan error, 1)
	go func() { waited <- g.Wait(context.Background()) }()
	select {
	case err := <-waited:
		t.Fatalf("Wait returned %v while a goroutine was still running", err)
	case <-time.After(20 * time.Millisecond):
		// Wait is still blocked, as it must be: nothing signals "still
		// blocked", so a short look is the only way to see it.
	}
	close(release)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the goroutine ended")
	}
}

// TestWaitRespectsItsDeadline: a call that never leaves does not hold Wait
// past ctx.
func TestWaitRespectsItsDeadline(t *testing.T) {
	var g Group
	if !g.Enter() {
		t.Fatal("Enter refused on an open group")
	}
	g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := g.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Wait took %v past a 30 ms deadline", d)
	}
	g.Leave()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after Leave = %v", err)
	}
}

// TestCloseRacingAdmissions: many goroutines admitted while Close runs;
// every admitted one is waited for (the race detector checks the Add/Wait
// order), every refused one never runs.
func TestCloseRacingAdmissions(t *testing.T) {
	var g Group
	var mu sync.Mutex
	started, finished := 0, 0
	var callers sync.WaitGroup
	for range 64 {
		callers.Go(func() {
			if g.Go(func() {
				mu.Lock()
				started++
				mu.Unlock()
				time.Sleep(time.Millisecond) // work, not synchronisation
				mu.Lock()
				finished++
				mu.Unlock()
			}) {
				return
			}
		})
	}
	g.Close()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if started != finished {
		t.Errorf("Wait returned with %d of %d admitted goroutines unfinished", started-finished, started)
	}
	mu.Unlock()
	callers.Wait()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if started != finished {
		t.Errorf("%d goroutines ran after Close", started-finished)
	}
}

// TestShutWaitsWithoutDeadline: Shut closes and waits.
func TestShutWaitsWithoutDeadline(t *testing.T) {
	var g Group
	done := false
	release := make(chan struct{})
	g.Go(func() { <-release; done = true })
	go close(release)
	if !g.Shut() {
		t.Fatal("Shut reported the group already closed")
	}
	if !done {
		t.Fatal("Shut returned before the goroutine ended")
	}
	if g.Shut() {
		t.Fatal("second Shut reported it closed the group")
	}
}
