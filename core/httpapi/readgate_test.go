package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/gate"
)

// A gated route runs only while the gate has room: with its one slot held,
// a request whose client leaves while it waits is answered without its
// handler running, the next waits and runs once the slot is freed, and one
// past the queue (of one) is answered 429 RATE_LIMITED, Retry-After 1, at
// once.
func TestGatedRouteWaitsForRoomAndGivesUpWithItsClient(t *testing.T) {
	a := &API{reads: gate.New(1, 1), log: zap.NewNop()}
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
	ctxC, cancelC := context.WithCancel(context.Background())
	cDone := serve(ctxC, "c")
	waitWaiting(t, a.reads, 1)
	cancelC()
	select {
	case <-cDone:
	case <-time.After(5 * time.Second):
		t.Fatal("a request whose client left did not give up its wait")
	}
	if ranC.Load() {
		t.Fatal("c's handler ran while a held the only slot")
	}
	waitWaiting(t, a.reads, 0)
	bDone := serve(context.Background(), "b")
	waitWaiting(t, a.reads, 1)
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/api/messages?n=d", nil), principal{})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" ||
		!strings.Contains(rec.Body.String(), chat.CodeRateLimited) {
		t.Fatalf("past the queue: %d, Retry-After %q, %s; want 429 RATE_LIMITED, Retry-After 1",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
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

// waitWaiting waits until n requests wait at g (a count with no event to
// wait on), up to a deadline.
func waitWaiting(t *testing.T, g *gate.Gate, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting, want %d", g.Waiting(), n)
		}
		runtime.Gosched()
	}
}
