package logging_test

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/logging/logtest"
)

// TestRepeatsLogsOnceThenCounts: 1,000 occurrences of one event write one
// line with its fields, and the count comes in one line at Flush; another
// event has its own first line.
func TestRepeatsLogsOnceThenCounts(t *testing.T) {
	rec := logtest.New(t)
	r := logging.NewRepeats(rec.Logger(), zap.String("userId", "u1"))
	for range 1000 {
		r.Log(zapcore.WarnLevel, "rate_limited", zap.Int("frame", 1))
	}
	r.Log(zapcore.ErrorLevel, "internal_error")
	if got := rec.Records(); len(got) != 2 {
		t.Fatalf("%d lines before Flush, want 2:\n%s", len(got), logtest.Format(got))
	}
	first := rec.Events("", "rate_limited")
	if len(first) != 1 || first[0].String("userId") != "u1" || first[0].Fields["frame"] != int64(1) || first[0].Level != zapcore.WarnLevel {
		t.Fatalf("first line %+v", first)
	}
	r.Flush()
	sum := rec.Events("", "rate_limited_repeated")
	if len(sum) != 1 || sum[0].Fields["count"] != int64(999) || sum[0].String("userId") != "u1" {
		t.Fatalf("summary lines %+v, want one with count 999 naming the source", sum)
	}
	if n := len(rec.Events("", "internal_error_repeated")); n != 0 {
		t.Fatalf("%d summaries of an event that did not repeat", n)
	}
	r.Flush()
	if got := rec.Records(); len(got) != 3 {
		t.Fatalf("a second Flush wrote more lines:\n%s", logtest.Format(got))
	}
}

// TestRepeatsWritesACountWhileItGoesOn: an event that keeps repeating gets
// a count line once RepeatSummaryEvery has passed since its last line, not
// one per occurrence.
func TestRepeatsWritesACountWhileItGoesOn(t *testing.T) {
	rec := logtest.New(t)
	now := time.Unix(1000, 0)
	r := logging.NewRepeats(rec.Logger())
	logging.SetRepeatsClock(r, func() time.Time { return now })
	r.Log(zapcore.WarnLevel, "bad_frame")
	for range 10 {
		now = now.Add(time.Second)
		r.Log(zapcore.WarnLevel, "bad_frame")
	}
	if n := len(rec.Events("", "bad_frame_repeated")); n != 0 {
		t.Fatalf("%d count lines within the first minute", n)
	}
	now = now.Add(logging.RepeatSummaryEvery)
	r.Log(zapcore.WarnLevel, "bad_frame")
	sum := rec.Events("", "bad_frame_repeated")
	if len(sum) != 1 || sum[0].Fields["count"] != int64(11) {
		t.Fatalf("count lines %+v, want one with count 11", sum)
	}
}
