package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"
)

// A gated route runs only while the gate has room: with one slot held, a
// second request waits and runs once the slot is freed, and a third whose
// client leaves while it waits is answered without its handler running.
func TestGatedRouteWaitsForRoomAndGivesUpWithItsClient(t *testing.T) {
	a := &API{reads: semaphore.NewWeighted(1), log: zap.NewNop()}
	a.internal = newInternalLog(a.log)
	entered := make(chan string, 3)
	release := make(chan struct{})
	var ranC atomic.Bool
	h := a.gated(func(w http.ResponseWriter, r *http.Request, _ principal) {
		name := r.URL.Query().Get("n")
		if name == "c" {
			ranC.Store(true)
		}
		entered <- name
		if name == "a" {
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	})
	serve := func(ctx context.Context, name string) <-chan int {
		done := make(chan int, 1)
		go func() {
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequestWithContext(ctx, "GET", "/api/messages?n="+name, nil), principal{})
			done <- rec.Code
		}()
		return done
	}
	aDone := serve(context.Background(), "a")
	if got := waitEntered(t, entered); got != "a" {
		t.Fatalf("%s entered first, want a", got)
	}
	bDone := serve(context.Background(), "b")
	ctxC, cancelC := context.WithCancel(context.Background())
	cDone := serve(ctxC, "c")
	cancelC()
	select {
	case <-cDone:
	case <-time.After(5 * time.Second):
		t.Fatal("a request whose client left did not give up its wait")
	}
	if ranC.Load() {
		t.Fatal("c's handler ran while a held the only slot")
	}
	close(release)
	if got := waitEntered(t, entered); got != "b" {
		t.Fatalf("%s entered after a, want b", got)
	}
	for _, done := range []<-chan int{aDone, bDone} {
		if code := <-done; code != http.StatusNoContent {
			t.Fatalf("answered %d, want 204", code)
		}
	}
}

func waitEntered(t *testing.T, entered <-chan string) string {
	t.Helper()
	select {
	case name := <-entered:
		return name
	case <-time.After(5 * time.Second):
		t.Fatal("no gated handler ran within 5s")
		return ""
	}
}
