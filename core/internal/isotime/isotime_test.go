package isotime

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendMillisAgreesWithFormat: the same text as time.Format's layout
// for random times over the whole range it covers, and false outside it.
func TestAppendMillisAgreesWithFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(9999, 12, 31, 23, 59, 59, 999999, time.UTC).UnixMicro()
	for range 20000 {
		tm := time.UnixMicro(lo + r.Int64N(hi-lo)).UTC()
		got, ok := AppendMillis(nil, tm)
		if want := tm.Format("2006-01-02T15:04:05.000"); !ok || string(got) != want {
			t.Fatalf("%v: %q %v, want %q", tm, got, ok, want)
		}
	}
	for _, y := range []int{-1, 10000} {
		if b, ok := AppendMillis([]byte("x"), time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)); ok || string(b) != "x" {
			t.Fatalf("year %d: %q %v, want refused", y, b, ok)
		}
	}
}
