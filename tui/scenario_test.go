package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/dmchat/dmchat/core/sandbox/scenario"
)

// smallScenario runs on the TUI's cluster: a DM from A to B.
const smallScenario = `# a DM from A to B
step 1 "two users"
user alice on A
user bob on B
connect alice
connect bob
step 2 "DM A to B"
send alice to bob "hi from the scenario" as m1
expect bob frame MESSAGE messageId=$m1
expect state m1 DELIVERED
`

func writeScenario(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "small.scn")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGoldenScenarioPane(t *testing.T) {
	sc, err := scenario.ParseString("small.scn", smallScenario)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		focused bool
		prep    func(p *scenarioPane)
	}{
		{"ready", false, nil},
		{"paused_after_two", true, func(p *scenarioPane) {
			p.results[0] = scenario.StepResult{Index: 0, Status: scenario.Pass, Detail: "id u1", Duration: 3 * time.Millisecond}
			p.results[1] = scenario.StepResult{Index: 1, Status: scenario.Fail, Detail: "expected something", Duration: time.Second}
			p.current, p.cursor = 2, 1
		}},
		{"parse_error", false, func(p *scenarioPane) {
			p.SetScript("bad.scn", nil, &scenario.ParseError{File: "bad.scn", Line: 3, Msg: `unknown step "sned"`})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newScenarioPane(testContext(100, 30))
			p.SetScript("small.scn", sc, nil)
			if tc.prep != nil {
				tc.prep(p)
			}
			golden.RequireEqual(t, viewOf(t, p.View(60, 12, tc.focused), 60, 12))
		})
	}
}

func TestFlowScenarioStepByStep(t *testing.T) {
	path := writeScenario(t, smallScenario)
	f := setupFlowWith(t, Options{ScenarioFile: path})
	mark := f.sc.mark()
	f.sc.waitFor(t, 0, "Scenario small.scn", "0/7 done")

	f.keys(".") // one step, then paused
	f.sc.waitFor(t, mark, "1/7 done ✓1 ✗0", "PAUSED")
	c := f.m.Cluster()
	if c == f.c {
		t.Fatal("the scenario runs on the TUI's own cluster, not a fresh one")
	}
	if c.User("alice") == nil {
		t.Fatal("the first step did not create alice")
	}
	if c.User("bob") != nil {
		t.Fatal("a paused scenario ran its second step")
	}
	f.keys(".")
	f.sc.waitFor(t, mark, "2/7 done ✓2 ✗0")

	f.keys("p") // continue to the end
	f.sc.waitFor(t, mark, "7/7 done ✓7 ✗0", "scenario small.scn passed")
	f.eventually("bob to hold the scenario's DM", func() bool { return f.inboxHas("bob", "hi from the scenario") })

	// Quitting in the middle of a paused second run leaves nothing behind
	// (TestMain checks for goroutines).
	mark = f.sc.mark()
	f.keys(".")
	f.sc.waitFor(t, mark, "PAUSED")
	f.quit()
}

func TestFlowScenarioParseErrorAndOpen(t *testing.T) {
	bad := writeScenario(t, "user alice on A\nsned alice to bob \"x\"\n")
	f := setupFlowWith(t, Options{ScenarioFile: bad})
	f.sc.waitFor(t, 0, "cannot run this file", ":2:")

	// O opens another file.
	good := filepath.Join(filepath.Dir(bad), "good.scn")
	if err := os.WriteFile(good, []byte(smallScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	mark := f.sc.mark()
	f.keys("O")
	f.sc.waitFor(t, mark, "Open scenario file:")
	for range len(bad) {
		f.keys("backspace")
	}
	f.typeText(good)
	f.keys("enter")
	f.sc.waitFor(t, mark, "opened "+good, "Scenario good.scn", "0/7 done")
	f.quit()
}

// TestGoldenScenarioFailureReason: a failed step's reason is on screen at
// the scenario pane's widths of 80, 120 and 250 columns, before the step
// group's title, even when the reason is long.
func TestGoldenScenarioFailureReason(t *testing.T) {
	sc, err := scenario.ParseString("small.scn", smallScenario)
	if err != nil {
		t.Fatal(err)
	}
	reason := "bob: no MESSAGE frame with messageId=31 within 5s (last frames: MESSAGE_STATE 30 DELIVERED)"
	for _, w := range []int{32, 48, 60} {
		t.Run(fmt.Sprintf("w%d", w), func(t *testing.T) {
			p := newScenarioPane(testContext(100, 30))
			p.SetScript("small.scn", sc, nil)
			run := &scenarioRun{}
			p.run = run
			for i := range 5 {
				p.results[i] = scenario.StepResult{Index: i, Status: scenario.Pass, Duration: time.Millisecond}
			}
			p.results[5] = scenario.StepResult{Index: 5, Status: scenario.Fail, Detail: reason, Duration: 5 * time.Second}
			p.results[6] = scenario.StepResult{Index: 6, Status: scenario.Pass, Duration: time.Millisecond}
			p.Event(scenarioEventMsg{run: run, ev: scenarioEvent{next: -1, report: &scenario.Report{}}}, nil)
			if p.cursor != 5 {
				t.Fatalf("cursor on step %d after a failed run, want the failed step 5", p.cursor)
			}
			view := viewOf(t, p.View(w, 12, true), w, 12)
			if !strings.Contains(stripStyles(string(view)), "FAIL line 9") {
				t.Errorf("the failed step's reason is not shown:\n%s", view)
			}
			golden.RequireEqual(t, view)
		})
	}
}

// TestFlowOpenScenarioDefault: the open prompt's grey path is what an
// empty enter opens.
func TestFlowOpenScenarioDefault(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "scenarios"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenarios", "first.scn"), []byte(smallScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	f := setupFlow(t)
	mark := f.sc.mark()
	f.keys("O")
	f.sc.waitFor(t, mark, "Open scenario file:", "scenarios/first.scn (enter opens it)")
	f.keys("enter")
	f.sc.waitFor(t, mark, "opened scenarios/first.scn", "Scenario first.scn")
	f.quit()
}

// leavesRedisDown uses the TUI's own user names and ends with a fault on.
const leavesRedisDown = `# a DM, then Redis stays down
user user1 on A
user user2 on B
connect user1
connect user2
send user1 to user2 "before the outage" as m1
expect user2 frame MESSAGE messageId=$m1
stop redis
`

// TestFlowScenarioRunAgain: a scenario runs on a fresh cluster each time,
// so it passes again after a run that left Redis down, and although the
// TUI's cluster has users of the same names.
func TestFlowScenarioRunAgain(t *testing.T) {
	path := writeScenario(t, leavesRedisDown)
	f := setupFlowWith(t, Options{ScenarioFile: path})
	f.sc.waitFor(t, 0, "Scenario small.scn", "0/7 done")
	mark := f.sc.mark()
	f.keys("p")
	f.sc.waitFor(t, mark, "7/7 done ✓7 ✗0", "scenario small.scn passed")
	first := f.m.Cluster()
	if first.RedisUp() {
		t.Fatal("the first run did not leave Redis down")
	}
	mark = f.sc.mark()
	f.keys("p")
	f.sc.waitFor(t, mark, "running small.scn on a fresh cluster")
	f.sc.waitFor(t, mark, "7/7 done ✓7 ✗0", "scenario small.scn passed")
	if f.m.Cluster() == first {
		t.Fatal("the second run reused the first run's cluster")
	}
	f.quit()
}

// TestFlowScenarioFailureShowsReasonAndReplay: a failed run picks its
// failed step, whose reason is on screen, and says how to replay it.
func TestFlowScenarioFailureShowsReasonAndReplay(t *testing.T) {
	path := writeScenario(t, "sandbox timeout=200ms seed=5\nuser alice on A\nconnect alice\nexpect alice frame ERROR\n")
	t.Chdir(filepath.Dir(path)) // the file as a developer names it: relative
	f := setupFlowWith(t, Options{ScenarioFile: "small.scn"})
	f.sc.waitFor(t, 0, "Scenario small.scn", "0/3 done")
	mark := f.sc.mark()
	f.keys("p")
	f.sc.waitFor(t, mark, "FAIL line 4 expect-frame", "replay: go run ./cmd/sandbox run --seed 5 small.scn")
	f.quit()
}

// TestGoldenRootScenarioFailed80x24: at 80x24 the failed step's reason is
// readable in the scenario pane beside the logs.
func TestGoldenRootScenarioFailed80x24(t *testing.T) {
	sc, err := scenario.ParseString("small.scn", smallScenario)
	if err != nil {
		t.Fatal(err)
	}
	m := rootWithFixtures(80, 24)
	m.scen = newScenarioPane(m.ctx)
	m.scen.SetScript("small.scn", sc, nil)
	run := &scenarioRun{}
	m.scen.run = run
	for i := range 5 {
		m.scen.results[i] = scenario.StepResult{Index: i, Status: scenario.Pass}
	}
	m.scen.results[5] = scenario.StepResult{Index: 5, Status: scenario.Fail, Detail: "bob: no MESSAGE frame with messageId=31 within 5s"}
	m.scen.results[6] = scenario.StepResult{Index: 6, Status: scenario.Pass}
	m.Update(scenarioEventMsg{run: run, ev: scenarioEvent{next: -1, report: &scenario.Report{Seed: 7}}})
	view := viewOf(t, m.View(), 80, 24)
	if !strings.Contains(string(view), "no MESSAGE frame with") {
		t.Errorf("the reason is not on the 80x24 screen:\n%s", view)
	}
	golden.RequireEqual(t, view)
}
