package httpapi

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestKeyedLimiterRefusesWithAWaitAndSpendsNothing(t *testing.T) {
	l := newKeyedLimiter(rate.Every(time.Minute), 2)
	for i := range 2 {
		if ok, _ := l.take("alice"); !ok {
			t.Fatalf("try %d refused within the burst", i+1)
		}
	}
	ok, wait := l.take("alice")
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("over the burst: ok %t wait %v, want a refusal with a wait up to 1m", ok, wait)
	}
	// A refusal spends nothing: the wait does not grow.
	if _, again := l.take("alice"); again > wait {
		t.Fatalf("second refusal waits %v, more than the first %v", again, wait)
	}
	if ok, _ := l.take("bob"); !ok {
		t.Fatal("another key was refused")
	}
	l.forget("alice")
	if ok, _ := l.take("alice"); !ok {
		t.Fatal("refused after forget")
	}
}

// Refilled buckets are swept, so the map holds only keys limited lately;
// past the cap a new key is refused rather than the map growing.
func TestKeyedLimiterIsBounded(t *testing.T) {
	l := newKeyedLimiter(rate.Limit(1e9), 1) // refills at once
	for i := range maxLimiterKeys {
		l.take(strconv.Itoa(i))
	}
	l.swept = time.Time{} // as if the last sweep were long ago
	if ok, _ := l.take("new"); !ok {
		t.Fatal("a new key was refused although every bucket had refilled")
	}
	if n := len(l.buckets); n > 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}

	slow := newKeyedLimiter(rate.Every(time.Hour), 1)
	for i := range maxLimiterKeys {
		slow.take(strconv.Itoa(i))
	}
	ok, wait := slow.take("new")
	if ok || wait != time.Second || len(slow.buckets) != maxLimiterKeys {
		t.Fatalf("full of live buckets: ok %t wait %v len %d, want a 1s refusal and no growth", ok, wait, len(slow.buckets))
	}
}
