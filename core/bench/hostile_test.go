package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunHostileInProcess runs the hostile workload, tiny, against a real
// instance in this process with its default limits, the attackers in this
// process too, and checks that the report has every phase in order with
// measured figures (never whether the targets were met: that depends on
// the defences of the server under test).
func TestRunHostileInProcess(t *testing.T) { testHostile(t, nil) }

// TestRunHostileAttackersInAChild is the same with the attackers in a
// child process (this test binary as "bench _attack", see TestMain), as
// the sandbox's bench runs them: their counts must come back whole.
func TestRunHostileAttackersInAChild(t *testing.T) { testHostile(t, []string{os.Args[0]}) }

func testHostile(t *testing.T, childArgv []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Options{
		Workloads: []string{WorkloadHostile}, InProcess: true, ChildArgv: childArgv,
		Server:       ServerOptions{Dir: t.TempDir(), BcryptCost: 4},
		HostilePairs: 4, HostileRate: 40, HostilePhase: 400 * time.Millisecond, Drain: 2 * time.Second,
		HostileSockets: 10, HostileConns: 10, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	h := rep.Hostile
	if h == nil || len(h.Phases) != len(HostilePhases) {
		t.Fatalf("hostile phases: %+v\n%s", h, progress.String())
	}
	if h.AttackersApart != (len(childArgv) > 0) {
		t.Errorf("AttackersApart %v with ChildArgv %q", h.AttackersApart, childArgv)
	}
	if h.WSRate != 20 || h.WSBurst != 40 || h.BcryptCost != 4 || !h.Measured {
		t.Errorf("server not run with its default limits, or not measured: %+v", h)
	}
	// What each attack must have done at least once (one of the counts),
	// whatever the server then did to it: a login limit may answer every
	// guess 429.
	did := map[string][]string{
		PhaseNonReading: {"sockets opened"}, PhaseSlowloris: {"connections opened"}, PhaseIdleConns: {"answered 200"},
		PhaseSendFlood: {"frames sent"}, PhaseLoginStorm: {"answered 401", "answered 429"}, PhaseRepeatAcks: {"acks sent"},
		PhaseHistory: {"answered 200", "answered 429"},
	}
	didAny := func(counts map[string]int64, prefix string, keys []string) bool {
		for _, k := range keys {
			if counts[prefix+k] > 0 {
				return true
			}
		}
		return false
	}
	for i, p := range h.Phases {
		if p.Name != HostilePhases[i] {
			t.Errorf("phase %d is %q, want %q", i, p.Name, HostilePhases[i])
		}
		// Under attack a tiny -race run may deliver nothing in time (that is
		// a measurement); deliveries must be timed, and the quiet phase
		// must deliver.
		if p.Planned == 0 || p.Delivered > 0 && (p.Deliver.Count == 0 || p.Deliver.P99 <= 0) ||
			p.Name == PhaseQuiet && p.Delivered == 0 {
			t.Errorf("%s: legitimate load not measured: planned %d, delivered %d, %+v", p.Name, p.Planned, p.Delivered, p.Deliver)
		}
		if p.Lost != p.Planned-p.Delivered || p.Late < 0 {
			t.Errorf("%s: lost %d of planned %d, delivered %d; late %d", p.Name, p.Lost, p.Planned, p.Delivered, p.Late)
		}
		if p.Samples == 0 || p.PeakRSS <= 0 || p.PeakFDs <= 0 || p.PeakGoroutines <= 0 || p.PeakSockets < 2*h.Pairs {
			t.Errorf("%s: server peaks not measured: %+v", p.Name, p)
		}
		if p.LogLines < 0 {
			t.Errorf("%s: server log lines not counted", p.Name)
		}
		if p.Login.Count == 0 || p.Healthz.Count == 0 {
			t.Errorf("%s: legitimate login/healthz not timed: %+v %+v", p.Name, p.Login, p.Healthz)
		}
		for k := range p.Attack {
			if strings.HasPrefix(k, "attacker child") {
				t.Errorf("%s: %s %d\n%s", p.Name, k, p.Attack[k], progress.String())
			}
		}
		// A page the flood was answered holds the feeders' messages, so
		// counting them must find some.
		if p.Name == PhaseHistory && p.Attack["answered 200"] > 0 && p.Attack["messages read"] == 0 {
			t.Errorf("history flood: %d pages answered and no message counted in them: %v", p.Attack["answered 200"], p.Attack)
		}
		switch p.Name {
		case PhaseQuiet:
			if len(p.Attack) != 0 {
				t.Errorf("quiet phase has attack counts %v", p.Attack)
			}
		case PhaseAll:
			for name, keys := range did {
				if !didAny(p.Attack, name+": ", keys) {
					t.Errorf("all together: none of %q from %s in %v", keys, name, p.Attack)
				}
			}
		default:
			if !didAny(p.Attack, "", did[p.Name]) {
				t.Errorf("%s: none of %q in %v", p.Name, did[p.Name], p.Attack)
			}
		}
	}
	var checks int
	for _, c := range rep.Targets {
		if c.Workload == "hostile" {
			checks++
			if c.Status == StatusNotMeasured || c.Measured == "-" {
				t.Errorf("target %q not measured: %+v", c.Figure, c)
			}
		}
	}
	if checks != 3 {
		t.Errorf("%d hostile targets, want 3: %+v", checks, rep.Targets)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	where := "attackers: in the tool's process"
	if len(childArgv) > 0 {
		where = "attackers: in a child process"
	}
	for _, want := range append([]string{"hostile:", where}, HostilePhases...) {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	t.Log(table.String())
}

// An attacker child that cannot start, or that dies without a word, is
// counted and reported, and the phase goes on without its attacks rather
// than waiting out attackEngageMax.
func TestAttackerChildFailureIsCounted(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"cannot start", []string{"/nonexistent/dmchat-bench"}},
		{"dies at once", []string{"/bin/false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress bytes.Buffer
			h := &hostileRun{e: &env{o: Options{ChildArgv: tc.argv, Progress: &progress, ServerStderr: io.Discard}}, attackTarget: attackTarget{PhaseLen: time.Second}}
			c := newCounters()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			engaged, wait := h.startAttacksInChild(ctx, PhaseSlowloris, c)
			select {
			case <-engaged:
			case <-time.After(10 * time.Second):
				t.Fatal("a failed child was not taken as engaged: the phase would wait out attackEngageMax")
			}
			wait()
			if got := c.snapshot()["attacker child failed"]; got != 1 {
				t.Fatalf("attacker child failed counted %d, want 1 (%v); progress:\n%s", got, c.snapshot(), progress.String())
			}
			if !strings.Contains(progress.String(), "attacker child") {
				t.Fatalf("the failure is not in the progress lines:\n%s", progress.String())
			}
		})
	}
}

// The attacker child refuses a missing or unusable spec with a clear
// error instead of attacking with zero values.
func TestAttackChildRefusesABadSpec(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "no spec on stdin",
		"not json\n":                   "unreadable spec",
		"{}\n":                         "needs a phase and a timeout",
		`{"phase":"slowloris"}` + "\n": "needs a phase and a timeout",
	} {
		var out bytes.Buffer
		err := RunAttackChild(context.Background(), strings.NewReader(in), &out)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("stdin %q: %v, want an error saying %q", in, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("stdin %q: printed %q", in, out.String())
		}
	}
}
