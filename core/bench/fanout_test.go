package bench

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/testsvc"
)

// TestRunFanoutInProcess: three instances on a real redis-server; every
// DM is delivered and received by one instance only (routing by interest),
// where one channel for all would have had each received by all three.
func TestRunFanoutInProcess(t *testing.T) {
	if redisServerPath() == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			if testsvc.RequireServices() {
				t.Fatal("redis-server not found and DMCHAT_REQUIRE_SERVICES=1")
			}
			t.Skip("redis-server not found")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Options{
		Workloads: []string{WorkloadFanout}, InProcess: true, Server: ServerOptions{Dir: t.TempDir(), LogFile: "discard"},
		Fanout:   FanoutOptions{Instances: []int{3}, Pairs: 6, PerPair: 5},
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if rep.Fanout == nil || len(rep.Fanout.Rows) != 1 {
		t.Fatalf("fanout result %+v", rep.Fanout)
	}
	r := rep.Fanout.Rows[0]
	if r.Delivered != 30 || r.MessageEvents != 30 || r.StateEvents != 30 || r.Broadcast != 2 {
		t.Errorf("row %+v: want 30 DMs delivered, each message and state received once", r)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "received events per DM <= 1.1 at every N: MET") {
		t.Errorf("table:\n%s", table.String())
	}
}
