package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// Status is the outcome of a step, a gate row or a run.
type Status string

// Statuses. XFAIL is a step marked xfail that failed (a known bug: not a
// failure of the run); XPASS one that passed (the bug seems fixed).
const (
	Pass  Status = "PASS"
	Fail  Status = "FAIL"
	Skip  Status = "SKIP"
	XFail Status = "XFAIL"
	XPass Status = "XPASS"
)

// Hooks let a caller watch and pace a run (the TUI's pause, step and
// continue). Both are called on the run's goroutine; nil hooks are skipped.
type Hooks struct {
	// BeforeStep is called before each step and may block (a paused UI);
	// returning false stops the run, and the remaining steps are SKIP.
	BeforeStep func(ctx context.Context, s *Step) bool
	// AfterStep is called with each step's result, skipped ones included.
	AfterStep func(r StepResult)
}

// RunOptions configure Run. The zero value starts a cluster from the
// script's options and closes it at the end.
type RunOptions struct {
	// Cluster, when set, is used instead of starting one (the TUI's); the
	// script's sandbox options other than timeout are then ignored, and the
	// cluster is left running.
	Cluster *sandbox.Cluster
	// Hooks are called around each step.
	Hooks Hooks
	// Seed, when non-zero, overrides the script's seed.
	Seed int64
	// DB, when set, overrides the script's store URI.
	DB string
	// Out, when set, receives each step's PASS/FAIL line as it ends, and the
	// checker's verdict.
	Out io.Writer
	// LogOutput receives the instances' console log lines; default none.
	LogOutput io.Writer
	// LogFile, when set, receives every log line as JSON.
	LogFile string
	// Check tunes the history checker; its Seed and Names are filled in.
	Check history.CheckOptions
}

// StepResult is the outcome of one step.
type StepResult struct {
	Step     *Step
	Index    int // in Script.Steps
	Status   Status
	Detail   string // what happened, or why it failed
	Start    time.Time
	Duration time.Duration
}

// GateResult is one row of the gate table.
type GateResult struct {
	Gate   Gate
	Status Status
}

// Report is the outcome of one run of a script.
type Report struct {
	Script   string
	Seed     int64
	Start    time.Time
	Duration time.Duration
	Steps    []StepResult
	// Gates are the gate table's rows: the script's "step" rows, preceded by
	// a "setup" row for steps before the first of them (or one row for the
	// whole script when it has none).
	Gates []GateResult
	// Check is the history checker's verdict; nil when the run could not
	// start.
	Check *history.Result
	// History is every event of the run, the store snapshot's included;
	// Names maps user ids to names.
	History []history.Event
	Names   map[string]string
	// Logs are the log records the run's cluster still held at the end
	// (for sandbox.Timeline); not part of the JSON report.
	Logs []logging.Record `json:"-"`
	// Err is set when the run could not start (or stop) its cluster.
	Err string
}

// Passed reports whether every step passed (XFAIL counts as passed) and
// the history checker found nothing.
func (r *Report) Passed() bool {
	if r.Err != "" || r.Check == nil || !r.Check.OK() {
		return false
	}
	for _, s := range r.Steps {
		if s.Status == Fail || s.Status == Skip {
			return false
		}
	}
	return true
}

// Failures counts the failed steps, the checker's violations (as one) and a
// setup error (as one).
func (r *Report) Failures() int {
	n := 0
	for _, s := range r.Steps {
		if s.Status == Fail {
			n++
		}
	}
	if r.Check != nil && !r.Check.OK() {
		n++
	}
	if r.Err != "" {
		n++
	}
	return n
}

// Run runs sc on a cluster (started from the script's options unless
// o.Cluster is set), records and checks the history, and returns the
// report. The error is non-nil only when the run could not happen at all
// (the cluster failed to start); step failures are in the report.
func Run(ctx context.Context, sc *Script, o RunOptions) (*Report, error) {
	if sc == nil {
		return nil, errors.New("scenario: nil script")
	}
	seed := o.Seed
	if seed == 0 {
		seed = sc.Options.Seed
	}
	if seed == 0 {
		seed = 1
	}
	rep := &Report{Script: sc.Name, Seed: seed, Start: time.Now()}
	defer func() { rep.Duration = time.Since(rep.Start) }()

	c := o.Cluster
	if c == nil {
		db := sc.Options.DB
		if o.DB != "" {
			db = o.DB
		}
		var err error
		c, err = StartCluster(ctx, sc, sandbox.Options{DBURI: db, Seed: seed, LogOutput: o.LogOutput, LogFile: o.LogFile})
		if err != nil {
			rep.Err = err.Error()
			rep.Gates = gateResults(sc, rep.Steps)
			return rep, fmt.Errorf("scenario: %s: %w", sc.Name, err)
		}
		defer func() {
			if err := c.Close(); err != nil && rep.Err == "" {
				rep.Err = "closing the sandbox: " + err.Error()
			}
		}()
	} else if err := checkInstances(sc, c); err != nil {
		rep.Err = err.Error()
		rep.Gates = gateResults(sc, rep.Steps)
		return rep, err
	}

	x := newExecution(c, sc, seed)
	stopped := false
	for i, st := range sc.Steps {
		res := StepResult{Step: st, Index: i, Start: time.Now()}
		if !stopped && ctx.Err() == nil && o.Hooks.BeforeStep != nil && !o.Hooks.BeforeStep(ctx, st) {
			stopped = true
		}
		switch {
		case stopped || ctx.Err() != nil:
			res.Status, res.Detail = Skip, "not run"
		default:
			detail, err := runStep(ctx, x, st)
			res.Detail = detail
			switch {
			case err != nil && st.XFail != "":
				res.Status, res.Detail = XFail, joinDetail(err.Error(), "known: "+st.XFail)
			case err != nil:
				res.Status, res.Detail = Fail, joinDetail(detail, err.Error())
				if !isExpectation(st.Kind) {
					stopped = true // later steps would build on what failed
				}
			case st.XFail != "":
				res.Status, res.Detail = XPass, joinDetail(detail, "passed although marked xfail: "+st.XFail)
			default:
				res.Status = Pass
			}
		}
		res.Duration = time.Since(res.Start)
		rep.Steps = append(rep.Steps, res)
		if o.Out != nil {
			fmt.Fprintln(o.Out, res.Line())
		}
		if o.Hooks.AfterStep != nil {
			o.Hooks.AfterStep(res)
		}
	}
	rep.Gates = gateResults(sc, rep.Steps)

	// The checker: every event, plus the store as it is now.
	x.closeRaw()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	events := c.History().Events()
	rows, err := c.Messages(cctx)
	if err != nil {
		rep.Err = "reading the store for the checker: " + err.Error()
	}
	next := int64(0)
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	now := time.Now()
	for _, m := range rows {
		next++
		events = append(events, history.Event{Seq: next, Time: now, Kind: history.Stored, MessageID: m.ID,
			User: m.SenderID, Peer: m.RecipientID, ClientMessageID: m.ClientMessageID, Delivered: m.Delivered()})
	}
	rep.History = events
	rep.Names = x.names()
	rep.Logs = c.Logs().Snapshot()
	co := o.Check
	co.Seed, co.Names = seed, rep.Names
	rep.Check = history.Check(events, co)
	if o.Out != nil {
		fmt.Fprintln(o.Out, rep.CheckLine())
	}
	return rep, nil
}

// runStep runs one step with its panics turned into failures: a step must
// never take the whole run down.
func runStep(ctx context.Context, x *execution, st *Step) (detail string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("step panicked: %v", p)
		}
	}()
	if st.act == nil {
		return "", errors.New("step has no action")
	}
	return st.act.run(ctx, x)
}

// isExpectation reports whether a failed step leaves the run able to go
// on: expectations and waits change nothing.
func isExpectation(k Kind) bool {
	return strings.HasPrefix(string(k), "expect-") || k == KindWaitUntil || k == KindWait
}

func checkInstances(sc *Script, c *sandbox.Cluster) error {
	have := map[string]bool{}
	for _, n := range c.InstanceNames() {
		have[n] = true
	}
	for _, n := range sc.Options.InstanceNames() {
		if !have[n] {
			return fmt.Errorf("scenario: %s needs instance %s, which the cluster does not have (%s)",
				sc.Name, n, strings.Join(c.InstanceNames(), ", "))
		}
	}
	return nil
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// gateResults folds step results into the gate table's rows.
func gateResults(sc *Script, steps []StepResult) []GateResult {
	var rows []GateResult
	setup := false
	for _, s := range sc.Steps {
		if s.Gate < 0 {
			setup = true
			break
		}
	}
	if len(sc.Gates) == 0 {
		rows = append(rows, GateResult{Gate: Gate{ID: "all", Description: "every step of " + sc.Name}})
	} else if setup {
		rows = append(rows, GateResult{Gate: Gate{ID: "setup", Description: "steps before the first gate row"}})
	}
	offset := len(rows)
	for _, g := range sc.Gates {
		rows = append(rows, GateResult{Gate: g})
	}
	row := func(s *Step) int {
		if len(sc.Gates) == 0 || s.Gate < 0 {
			return 0
		}
		return s.Gate + offset
	}
	ran := make([]int, len(rows))
	for _, r := range steps {
		i := row(r.Step)
		switch r.Status {
		case Fail:
			rows[i].Status = Fail
		case Skip:
			if rows[i].Status != Fail {
				rows[i].Status = Skip
			}
		default:
			ran[i]++
		}
	}
	for i := range rows {
		if rows[i].Status == "" {
			if ran[i] > 0 || len(steps) > 0 {
				rows[i].Status = Pass
			} else {
				rows[i].Status = Skip
			}
		}
	}
	if len(steps) < len(sc.Steps) {
		// The run stopped before some steps (a failed start).
		for _, s := range sc.Steps[len(steps):] {
			if i := row(s); rows[i].Status == Pass {
				rows[i].Status = Skip
			}
		}
	}
	return rows
}
