package bus

import (
	"io"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestPublishedLineOfAStateAllocations: a delivery state's published line
// is at Debug, so at Info its publish logs nothing and allocates nothing
// for it (its fields were built before the level was checked, one
// allocation per state).
func TestPublishedLineOfAStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	b := withLogger(zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel)))
	ev := Event{Kind: KindState, MessageID: "m1", SenderID: "u1", RecipientID: "u2", OriginInstanceID: "A"}
	at := time.Now()
	if got := testing.AllocsPerRun(200, func() { b.logPublished(&ev, at) }); got != 0 {
		t.Fatalf("a state's published line at Info costs %.1f allocations, want 0", got)
	}
}

// withLogger returns a bus that is only a logger, for its log helpers.
func withLogger(l *zap.Logger) *Redis { return &Redis{log: l} }
