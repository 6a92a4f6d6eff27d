package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunEveryWorkloadInProcess runs each workload, tiny, against real
// instances in this process (SQLite with synchronous=FULL, miniredis for
// the cross-instance pairs) and checks that every DM went the full cycle.
func TestRunEveryWorkloadInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Options{
		Workloads: []string{WorkloadPairs, WorkloadCross, WorkloadIdle, WorkloadReplay, WorkloadStorm}, // hostile: TestRunHostileInProcess
		InProcess: true, Server: ServerOptions{Redis: RedisMiniredis, Dir: t.TempDir()},
		Pairs: 4, Rates: []int{100, 200}, CrossRates: []int{100}, Step: 300 * time.Millisecond, Drain: 3 * time.Second,
		IdleSockets: 30, IdleFor: 200 * time.Millisecond, ReplayK: 300, StormClients: 20, StormPending: 3,
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	for _, p := range []*PairsResult{rep.Pairs, rep.Cross} {
		if p == nil || len(p.Steps) == 0 {
			t.Fatalf("missing pairs result: %+v", p)
		}
		for _, s := range p.Steps {
			if s.Completed != s.Planned || s.Acked != s.Planned || s.Delivered != s.Planned || s.Errors != 0 {
				t.Errorf("%s at %d/s: planned %d, acked %d, delivered %d, completed %d, errors %d %v",
					p.Name, s.Offered, s.Planned, s.Acked, s.Delivered, s.Completed, s.Errors, s.Codes)
			}
			if s.Deliver.Count != s.Planned || s.Deliver.P99 <= 0 || s.Ack.P50 <= 0 {
				t.Errorf("%s at %d/s: latencies not recorded: %+v %+v", p.Name, s.Offered, s.Ack, s.Deliver)
			}
			if s.ServerCPU <= 0 {
				t.Errorf("%s at %d/s: server CPU not measured", p.Name, s.Offered)
			}
		}
	}
	if rep.Cross.Instances != 2 {
		t.Errorf("cross ran on %d instances", rep.Cross.Instances)
	}
	if i := rep.Idle; i == nil || i.ServerSockets != 30 || i.Lost != 0 || i.RSSTotal <= 0 {
		t.Errorf("idle: %+v", rep.Idle)
	}
	if r := rep.Replay; r == nil || len(r.Runs) != 3 || r.Replayed != 300 || r.Count != 300 {
		t.Errorf("replay: %+v", rep.Replay)
	}
	if s := rep.Storm; s == nil || s.Failed != 0 || s.Replayed != 20*3 || s.PerConn.Count != 20 {
		t.Errorf("storm: %+v", rep.Storm)
	}
	if rep.Settings.Synchronous == "" || !strings.Contains(rep.Settings.Log, "production JSON") {
		t.Errorf("settings not reported: %+v", rep.Settings)
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pairs, one instance", "pairs, cross-instance", "idle:", "replay:", "storm:", "targets", "NOT MET", "fsync:"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Pairs == nil || len(back.Targets) == 0 {
		t.Fatalf("JSON report does not read back: %v", err)
	}
}

func TestRunRefusesUnknownWorkload(t *testing.T) {
	_, err := Run(context.Background(), Options{Workloads: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), "unknown workload") {
		t.Fatalf("Run = %v, want unknown workload", err)
	}
}

func TestServerArgsRoundTrip(t *testing.T) {
	in := ServerOptions{Instances: 2, DB: "mem", Redis: "miniredis", Dir: "/tmp/x", LogFile: "discard",
		PprofAddr: "127.0.0.1:6060", Rate: 5000, Burst: 100, BcryptCost: 5, ProductionLimits: true}
	out, err := ParseServerArgs(in.Args(), os.Stderr)
	if err != nil || out != in {
		t.Fatalf("ParseServerArgs(Args()) = %+v, %v; want %+v", out, err, in)
	}
}

func TestProcReadsThisProcess(t *testing.T) {
	pid := os.Getpid()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cpu, err := ProcCPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		if cpu > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ProcCPU stayed 0 while this process burned CPU")
		}
		for i := 0; i < 1e6; i++ { // burn a little CPU
			_ = bytes.Repeat([]byte("x"), 8)
		}
	}
	rss, err := ProcRSS(pid)
	if err != nil || rss < 1<<20 {
		t.Fatalf("ProcRSS = %d, %v", rss, err)
	}
	if SelfCPU() <= 0 {
		t.Fatal("SelfCPU = 0")
	}
}
