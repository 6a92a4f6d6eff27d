package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runScript parses and runs src, failing the test on a parse error.
func runScript(t *testing.T, src string, o RunOptions) *Report {
	t.Helper()
	sc, err := ParseString(t.Name()+".scn", src)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, sc, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// dump returns the report as text, for failure messages.
func dump(r *Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	return b.String()
}

// Every step kind, each passing, on a fresh cluster.
const everyKind = `
sandbox seed=11 timeout=5s redis-init-timeout=500ms
step 1 "users, sockets and messages"
user alice on A
user bob on B
user carol on A
user root on A admin
connect alice
connect bob
connect carol to B
move carol to A
send alice to bob "hello" as m1
expect bob frame MESSAGE messageId=$m1 senderId=$alice content=hello
expect bob no frame MESSAGE messageId=$m1 for 200ms
expect state m1 DELIVERED
expect alice received 1 MESSAGE_STATE messageId=$m1
expect stored m1 rows=1 delivered=yes content=hello
expect bob has m1 replayed=no duplicates=0
expect carol lacks m1 for 100ms
expect log A RedisBus chat_message_published messageId=$m1 originInstanceId=A
expect log B RedisBusHandler chat_message_delivered messageId=$m1
expect no log B RedisBusHandler admin_kick_ban_applied for 100ms
burst alice 3 to bob,carol

step 2 "acks"
autoack bob off
send alice to bob "manual" as m2
expect bob frame MESSAGE messageId=$m2
expect state m2 SENT
ack bob
expect state m2 DELIVERED
autoack bob on
drop delivery-acks bob 1
drop message-acks alice 1
send alice to bob "dropped" as m3
expect alice received 2 MESSAGE_ACK clientMessageId=$m3.cmid messageId=$m3
reconnect bob
expect bob frame MESSAGE messageId=$m3
expect bob frame REPLAY_DONE count=1
expect bob has m3 duplicates=1
disconnect bob
wait until bob disconnected
connect bob

step 3 "faults"
bus latency=20ms drop=0
bus ok
stop redis
wait until redis down
start redis
wait until redis up
expect log A RedisBus bus_restored within 10s
stop instance B
expect bob closed 1001
wait until instance B stopped
start instance B
wait until instance B running
connect bob
ban bob by root
expect bob frame ERROR code=BANNED
expect bob closed 4003
unban bob by root on B
connect bob to B
raw carol '{"type":"NOPE"}' times=2
expect raw carol frame ERROR code=BAD_FRAME
expect raw carol frame ERROR code=BAD_FRAME
raw carol '${pad 70000}'
expect raw carol closed 1009
wait 50ms
wait until all delivered
`

func TestRunEveryStepKind(t *testing.T) {
	var mu sync.Mutex
	var before []int
	var after []StepResult
	var out bytes.Buffer
	rep := runScript(t, everyKind, RunOptions{
		Out: &out,
		Hooks: Hooks{
			BeforeStep: func(_ context.Context, s *Step) bool {
				mu.Lock()
				before = append(before, s.Line)
				mu.Unlock()
				return true
			},
			AfterStep: func(r StepResult) {
				mu.Lock()
				after = append(after, r)
				mu.Unlock()
			},
		},
	})
	if !rep.Passed() {
		t.Fatalf("run failed:\n%s", dump(rep))
	}
	kinds := map[Kind]bool{}
	for _, s := range rep.Steps {
		kinds[s.Step.Kind] = true
	}
	for _, k := range []Kind{KindUser, KindConnect, KindDisconnect, KindReconnect, KindMove, KindSend, KindBurst,
		KindAutoAck, KindDropAcks, KindAck, KindBan, KindUnban, KindRedisStop, KindRedisStart, KindInstanceStop,
		KindInstanceStart, KindBusFault, KindRaw, KindExpectFrame, KindExpectNoFrame, KindExpectReceived,
		KindExpectClosed, KindExpectState, KindExpectStored, KindExpectHas, KindExpectLacks, KindExpectLog,
		KindExpectNoLog, KindWait, KindWaitUntil} {
		if !kinds[k] {
			t.Errorf("no %s step ran", k)
		}
	}
	if len(before) != len(rep.Steps) || len(after) != len(rep.Steps) {
		t.Errorf("hooks: %d before, %d after, %d steps", len(before), len(after), len(rep.Steps))
	}
	if !rep.Check.OK() || !rep.Check.Snapshot || rep.Check.Messages < 6 {
		t.Errorf("check = %s", rep.Check)
	}
	if len(rep.Gates) != 3 || rep.Gates[2].Status != Pass {
		t.Errorf("gates = %+v", rep.Gates)
	}
	if !strings.Contains(out.String(), "PASS  TestRunEveryStepKind.scn:4  user alice on A") ||
		!strings.Contains(out.String(), "every guarantee holds") {
		t.Errorf("streamed output:\n%s", out.String())
	}
	if rep.Names[rep.History[0].User] == "" {
		t.Errorf("names do not cover the first event's user: %+v", rep.History[0])
	}
}

func TestRunReportsFailures(t *testing.T) {
	rep := runScript(t, `
sandbox timeout=300ms
step a "expectations that fail"
user alice on A
user bob on A
connect alice
connect bob
send alice to bob "hi" as m1
expect bob frame MESSAGE_STATE messageId=$m1
expect bob no frame MESSAGE messageId=$m1 for 300ms
expect stored m1 rows=2
expect log A RedisBus no_such_event
expect no log A Server listening
expect state m1 PENDING
expect alice received 3 MESSAGE_ACK
expect bob closed 4003
xfail "a known bug" expect bob lacks m1 for 100ms
xfail "a fixed bug" expect bob has m1
step b "an action that fails stops the run"
connect alice
send alice to bob "never sent"
`, RunOptions{})
	want := []Status{Pass, Pass, Pass, Pass, Pass, Fail, Fail, Fail, Fail, Fail, Fail, Fail, Fail, XFail, XPass, Fail, Skip}
	if len(rep.Steps) != len(want) {
		t.Fatalf("%d steps:\n%s", len(rep.Steps), dump(rep))
	}
	for i, s := range rep.Steps {
		if s.Status != want[i] {
			t.Errorf("step %d (%s): %s, want %s: %s", i, s.Step.Text, s.Status, want[i], s.Detail)
		}
	}
	details := map[int]string{
		5:  `no MESSAGE_STATE messageId=`,
		6:  `bob got {"type":"MESSAGE"`,
		7:  `1 row(s) for`,
		8:  `no [A] [RedisBus] no_such_event`,
		9:  `logged: [A] [Server] listening`,
		10: `m1 is DELIVERED to alice`,
		11: `alice received 1 MESSAGE_ACK, want 3`,
		12: `bob#1 is still open`,
		15: `already connected`,
	}
	for i, d := range details {
		if !strings.Contains(rep.Steps[i].Detail, d) {
			t.Errorf("step %d detail = %q, want it to contain %q", i, rep.Steps[i].Detail, d)
		}
	}
	if rep.Passed() || rep.Failures() != 9 {
		t.Errorf("Passed %v, Failures %d", rep.Passed(), rep.Failures())
	}
	if rep.Gates[0].Status != Fail || rep.Gates[1].Status != Fail {
		t.Errorf("gates = %+v", rep.Gates)
	}
	// The history itself is fine: the failures are the script's.
	if !rep.Check.OK() {
		t.Errorf("check:\n%s", rep.Check)
	}
}

func TestRunHooksStop(t *testing.T) {
	n := 0
	rep := runScript(t, "user alice on A\nconnect alice\ndisconnect alice\nconnect alice\n", RunOptions{
		Hooks: Hooks{BeforeStep: func(_ context.Context, s *Step) bool {
			n++
			return s.Line < 3
		}},
	})
	got := []Status{rep.Steps[0].Status, rep.Steps[1].Status, rep.Steps[2].Status, rep.Steps[3].Status}
	if got[0] != Pass || got[1] != Pass || got[2] != Skip || got[3] != Skip || n != 3 {
		t.Fatalf("statuses %v after %d hook calls", got, n)
	}
	if rep.Passed() || rep.Gates[0].Status != Skip {
		t.Errorf("a stopped run passed: %+v", rep.Gates)
	}
}

func TestRunOnExistingCluster(t *testing.T) {
	ctx := context.Background()
	c, err := sandbox.Start(ctx, sandbox.Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateUser(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	src := "user alice on A\nuser bob on B\nconnect alice\nconnect bob\nsend alice to bob \"x\" as m1\nexpect state m1 DELIVERED\n"
	for i := 0; i < 2; i++ {
		rep := runScript(t, src+"disconnect alice\ndisconnect bob\n", RunOptions{Cluster: c})
		if !rep.Passed() {
			t.Fatalf("run %d:\n%s", i, dump(rep))
		}
		if !strings.HasPrefix(rep.Steps[0].Detail, "reusing alice") {
			t.Errorf("run %d: alice was not reused: %q", i, rep.Steps[0].Detail)
		}
	}
	if _, err := c.CreateUser(ctx, "still_open", false); err != nil {
		t.Errorf("the cluster was closed by the run: %v", err)
	}
	sc, _ := ParseString("x.scn", "sandbox instances=A,C\nuser alice on C\n")
	if _, err := Run(ctx, sc, RunOptions{Cluster: c}); err == nil || !strings.Contains(err.Error(), "needs instance C") {
		t.Errorf("missing instance: %v", err)
	}
}

func TestRunWorkload(t *testing.T) {
	rep := runScript(t, `
sandbox seed=3
workload users=6 rate=20 duration=2s outages=1 outage=400ms drop-acks=0.2 lose-acks=0.1 reconnects=0.05 moves=0.05 settle=15s
wait until all delivered
`, RunOptions{})
	if !rep.Passed() {
		t.Fatalf("workload:\n%s", dump(rep))
	}
	d := rep.Steps[0].Detail
	for _, want := range []string{"seed 3, 6 users on A,B", "Redis outages at [", "everything DELIVERED"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	faults := 0
	for _, e := range rep.History {
		if e.Kind == history.Fault {
			faults++
		}
	}
	if faults < 2 || rep.Check.Messages < 10 {
		t.Errorf("%d faults, %d messages", faults, rep.Check.Messages)
	}
}

func TestReportsEncode(t *testing.T) {
	rep := runScript(t, "sandbox seed=9\nstep s1 \"a | b\"\nuser alice on A\nconnect alice\nexpect alice frame ERROR within 100ms\n", RunOptions{})
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"| Step | Description | Status |", `| s1 | a \| b | **FAIL** |`, "| history |", "**FAIL** — "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Passed bool `json:"passed"`
		Runs   []struct {
			Script string `json:"script"`
			Seed   int64  `json:"seed"`
			Steps  []struct {
				Line   int    `json:"line"`
				Status string `json:"status"`
				Gate   string `json:"gate"`
			} `json:"steps"`
			Gates []struct {
				ID, Status string
			} `json:"gates"`
			Check struct {
				Violations []any `json:"violations"`
			} `json:"check"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	r := decoded.Runs[0]
	if decoded.Passed || r.Seed != 9 || len(r.Steps) != 3 || r.Steps[2].Status != "FAIL" || r.Steps[2].Gate != "s1" ||
		len(r.Gates) != 2 || r.Gates[1].ID != "history" || r.Gates[1].Status != "PASS" {
		t.Errorf("JSON report = %+v", decoded)
	}

	var xb bytes.Buffer
	if err := WriteJUnit(&xb, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(xb.Bytes(), &suites); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, xb.String())
	}
	s := suites.Suites[0]
	if suites.Tests != 4 || suites.Fails != 1 || s.Fails != 1 || len(s.Cases) != 4 || s.Cases[2].Failure == nil ||
		s.Cases[3].Name != "history check" || s.Props[0].Value != "9" {
		t.Errorf("JUnit = %+v", suites)
	}
}

// The shipped scenarios all parse.
func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("../../../scenarios/*.scn")
	if err != nil || len(files) < 5 {
		t.Fatalf("scenarios: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseString(f, string(data)); err != nil {
			t.Errorf("%s:\n%v", f, err)
		}
	}
}
