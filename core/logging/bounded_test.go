package logging_test

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/time/rate"

	"github.com/dmchat/dmchat/core/logging"
)

// TestBoundedDropsPastTheBoundAndCountsThem: lines past the burst are
// dropped, the next line written says how many, and the one after that
// does not count them again.
func TestBoundedDropsPastTheBoundAndCountsThem(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b := logging.NewBounded(zap.New(core), zapcore.WarnLevel, "some_event", 0, 2)
	for i := range 5 {
		b.Log(zap.Int("i", i))
	}
	if n := logs.Len(); n != 2 {
		t.Fatalf("%d lines for 5 with a burst of 2 and no refill; want 2", n)
	}
	b.Limiter().SetLimit(rate.Inf)
	b.Log(zap.Int("i", 5))
	b.Log(zap.Int("i", 6))
	all := logs.All()
	if len(all) != 4 || all[0].Message != "some_event" || all[0].Level != zapcore.WarnLevel {
		t.Fatalf("lines %+v; want 4 some_event lines at warn", all)
	}
	if got := all[2].ContextMap(); got["suppressed"] != int64(3) || got["i"] != int64(5) {
		t.Fatalf("line after the drops %v; want i 5 and suppressed 3", got)
	}
	for _, i := range []int{0, 1, 3} {
		if _, ok := all[i].ContextMap()["suppressed"]; ok {
			t.Fatalf("line %d %v counts drops it should not", i, all[i].ContextMap())
		}
	}
}
