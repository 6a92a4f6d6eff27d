package bench

import (
	"context"
	"testing"
)

// TestMeasureCyclesCompletesEveryCycle: the fixed-work harness runs the
// asked number of full cycles (each one waits for its MESSAGE and its
// MESSAGE_STATE) on both stores and counts the server's allocations.
func TestMeasureCyclesCompletesEveryCycle(t *testing.T) {
	for _, c := range []struct {
		store string
		pairs int
	}{{"mem", 1}, {"sqlite", 4}} {
		run, err := measureCycles(context.Background(), c.store, c.pairs, 200)
		if err != nil {
			t.Fatalf("%s: %v", c.store, err)
		}
		if run.Cycles != 200 || run.Pairs != c.pairs {
			t.Fatalf("%s: %d cycles over %d pairs, want 200 over %d", c.store, run.Cycles, run.Pairs, c.pairs)
		}
		// A cycle decodes two frames and encodes three: it cannot be free.
		if run.AllocsPerDM < 1 || run.BytesPerDM < 100 || run.CPUPerDMus <= 0 {
			t.Fatalf("%s: implausible figures %+v", c.store, run)
		}
	}
}
