package bench

import (
	"strings"
	"testing"
)

func TestFinishChecksEachTarget(t *testing.T) {
	r := &Report{
		Settings: Settings{Redis: "miniredis", WSRate: 1e6, WSBurst: 1e6, BcryptCost: 4},
		Pairs: &PairsResult{Name: "pairs, one instance", MaxAchieved: 21000, Steps: []StepResult{
			{Offered: 10000, Planned: 100, Completed: 100, Sustained: true, Deliver: Summary{P99: 8}, CPUPerDM: 56},
			{Offered: 20000, Planned: 200, Completed: 200, Sustained: true, Deliver: Summary{P99: 30}, ToolLimited: true, Note: "CPU saturated"},
		}},
		Cross:  &PairsResult{Name: "pairs, cross-instance", MaxAchieved: 9000},
		Idle:   &IdleResult{Sockets: 2000, Measured: true, RSSPerSocket: 12 * 1024},
		Replay: &ReplayResult{Pending: 10000, Runs: []float64{0.05, 0.04, 2}, MedianS: 0.05, Replayed: 10000, Count: 10000},
		Cycle:  &CycleResult{Runs: []CycleRun{{Store: "mem", AllocsPerDM: 37}, {Store: "sqlite", AllocsPerDM: 90}}},
	}
	r.finish(Options{})
	want := map[string]string{
		"allocations per full DM cycle, memory store":     StatusNotMet,
		"DMs/s delivered and acked, one instance":         StatusMet,
		"send→delivered p99 at 10000/s":                   StatusMet,
		"server CPU per full DM cycle":                    StatusNotMet,
		"DMs/s cross-instance (two instances, Redis bus)": StatusNotMet,
		"server RSS per idle socket (2000 sockets)":       StatusMet,
		"10000 pending messages to REPLAY_DONE":           StatusMet,
	}
	if len(r.Targets) != len(want) {
		t.Fatalf("%d checks, want %d: %+v", len(r.Targets), len(want), r.Targets)
	}
	for _, c := range r.Targets {
		if want[c.Figure] != c.Status {
			t.Errorf("%s: %s (%s), want %s", c.Figure, c.Status, c.Measured, want[c.Figure])
		}
	}
	notes := strings.Join(r.Notes, "\n")
	for _, s := range []string{"20000/s: the load tool was", "WS_RATE", "bcrypt cost 4"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	for _, c := range r.Targets {
		if strings.HasPrefix(c.Figure, "DMs/s cross") && !strings.Contains(c.Note, "not a real redis-server") {
			t.Errorf("cross over miniredis not flagged: %q", c.Note)
		}
	}
}

func TestFinishWithoutMeasurements(t *testing.T) {
	r := &Report{Pairs: &PairsResult{Steps: []StepResult{{Offered: 5000}}}, Idle: &IdleResult{Sockets: 10}}
	r.finish(Options{})
	statuses := map[string]string{}
	for _, c := range r.Targets {
		statuses[c.Figure] = c.Status
	}
	if statuses["send→delivered p99 at 10000/s"] != StatusNotMeasured || statuses["server CPU per full DM cycle"] != StatusNotMeasured {
		t.Fatalf("unmeasured figures: %v", statuses)
	}
	if statuses["server RSS per idle socket"] != StatusNotMeasured {
		t.Fatalf("idle without server stats: %v", statuses)
	}
}

func TestToolVerdict(t *testing.T) {
	quiet := StepResult{ServerCPU: 60, ToolCPU: 20, SendLag: Summary{P99: 1}, Deliver: Summary{P99: 3}}
	if limited, _ := toolVerdict(quiet, true, ""); limited {
		t.Error("a quiet step was called tool-limited")
	}
	late := StepResult{ServerCPU: 30, ToolCPU: 20, SendLag: Summary{P99: 12}, Deliver: Summary{P99: 20}}
	if limited, note := toolVerdict(late, true, ""); !limited || !strings.Contains(note, "fell behind") {
		t.Errorf("a late tool was not flagged: %v %q", limited, note)
	}
	stalled := StepResult{ServerCPU: 30, ToolCPU: 20, SendLag: Summary{P99: 12}, Deliver: Summary{P99: 3000}}
	if limited, _ := toolVerdict(stalled, true, ""); limited {
		t.Error("a stalled server was blamed on the tool's small lateness")
	}
}

// The hostile latency check says so when the tool itself was late in the
// worst phase, and only then.
func TestHostileLatencyCheckNamesALateTool(t *testing.T) {
	for _, tc := range []struct {
		lag     float64
		flagged bool
	}{{lag: 67.4, flagged: true}, {lag: 0.8, flagged: false}} {
		h := &HostileResult{Phases: []HostilePhase{
			{Name: PhaseQuiet, Deliver: Summary{Count: 2000, P99: 3.5}, SendLag: Summary{P99: 0.5}},
			{Name: "repeat acks", Deliver: Summary{Count: 2000, P99: 75.6}, SendLag: Summary{P99: tc.lag}},
		}}
		var got *Check
		for _, c := range h.checks() {
			if strings.HasPrefix(c.Figure, "legitimate send→delivered p99") {
				got = &c
			}
		}
		if got == nil {
			t.Fatal("no latency check")
		}
		// 21.6× quiet is not met either way: the note explains, it does not excuse.
		if got.Status != StatusNotMet || !strings.Contains(got.Note, "worst in repeat acks") {
			t.Errorf("lag %.1f: %s %q; want NOT MET, worst in repeat acks", tc.lag, got.Status, got.Note)
		}
		if strings.Contains(got.Note, "the tool fell behind") != tc.flagged {
			t.Errorf("lag %.1f ms against p99 75.6: note %q; want the tool named: %v", tc.lag, got.Note, tc.flagged)
		}
	}
}
