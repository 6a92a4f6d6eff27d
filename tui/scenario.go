package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/scenario"
)

// Messages of the scenario pane.
type (
	// scenarioLoadedMsg carries a parsed scenario file, or why it failed.
	scenarioLoadedMsg struct {
		path   string
		script *scenario.Script
		err    error
	}
	// scenarioEventMsg is one event of a run: a step about to run, a
	// step's result, or the report at the end.
	scenarioEventMsg struct {
		run *scenarioRun
		ev  scenarioEvent
	}
)

// scenarioEvent is what a run reports to the pane.
type scenarioEvent struct {
	next   int // index of the step about to run, or -1
	result *scenario.StepResult
	report *scenario.Report
	err    error
}

// scenarioRun is one run of a script on the TUI's cluster, paced by the
// pane: the runner's BeforeStep hook waits while the run is paused, and
// "step" lets exactly one step through.
type scenarioRun struct {
	script *scenario.Script
	events chan scenarioEvent
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // cap 1

	// mu guards allow: -1 lets every step through, n >= 0 lets n more.
	mu    sync.Mutex
	allow int
}

// startScenarioRun starts sc on c, paused when paused is true.
func startScenarioRun(c *sandbox.Cluster, sc *scenario.Script, paused bool, steps int) *scenarioRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &scenarioRun{script: sc, events: make(chan scenarioEvent, 64), cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1), allow: -1}
	if paused {
		r.allow = steps
	}
	send := func(ev scenarioEvent) {
		select {
		case r.events <- ev:
		case <-ctx.Done():
		}
	}
	index := map[*scenario.Step]int{}
	for i, s := range sc.Steps {
		index[s] = i
	}
	hooks := scenario.Hooks{
		BeforeStep: func(ctx context.Context, s *scenario.Step) bool {
			send(scenarioEvent{next: index[s]})
			return r.gate(ctx)
		},
		AfterStep: func(res scenario.StepResult) {
			send(scenarioEvent{next: -1, result: &res})
		},
	}
	go func() {
		defer close(r.done)
		rep, err := scenario.Run(ctx, sc, scenario.RunOptions{Cluster: c, Hooks: hooks})
		send(scenarioEvent{next: -1, report: rep, err: err})
	}()
	return r
}

// gate waits until the run may take its next step; false when stopped.
func (r *scenarioRun) gate(ctx context.Context) bool {
	for {
		r.mu.Lock()
		if r.allow != 0 {
			if r.allow > 0 {
				r.allow--
			}
			r.mu.Unlock()
			return true
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-ctx.Done():
			return false
		}
	}
}

// set changes how many steps may run (-1: all) and wakes the runner.
func (r *scenarioRun) set(allow int) {
	r.mu.Lock()
	r.allow = allow
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// paused reports whether the run waits for the pane.
func (r *scenarioRun) paused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.allow == 0
}

// stop cancels the run and waits for it to end.
func (r *scenarioRun) stop() {
	r.cancel()
	<-r.done
}

// wait returns a command that delivers the run's next event.
func (r *scenarioRun) wait(done <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		select {
		case ev := <-r.events:
			return scenarioEventMsg{run: r, ev: ev}
		case <-done:
			return nil
		}
	}
}

// scenarioPane shows a scenario file's steps with their status as it runs
// on the TUI's cluster, step by step (pause, one step, continue).
type scenarioPane struct {
	ctx     *Context
	path    string
	script  *scenario.Script
	err     error
	run     *scenarioRun
	results map[int]scenario.StepResult
	current int // the step running or next to run, -1 when none
	report  *scenario.Report
	cursor  int
	offset  int
	follow  bool
	// starting is set while the run's fresh cluster starts.
	starting bool
}

func newScenarioPane(ctx *Context) *scenarioPane {
	return &scenarioPane{ctx: ctx, current: -1, follow: true}
}

// load reads and parses a scenario file (in a command).
func loadScenario(path string) tea.Cmd {
	return func() tea.Msg {
		f, err := os.Open(path)
		if err != nil {
			return scenarioLoadedMsg{path: path, err: err}
		}
		defer f.Close()
		sc, err := scenario.Parse(path, f)
		return scenarioLoadedMsg{path: path, script: sc, err: err}
	}
}

// SetScript shows a freshly loaded script (or its parse errors).
func (p *scenarioPane) SetScript(path string, sc *scenario.Script, err error) {
	p.Stop()
	p.path, p.script, p.err = path, sc, err
	p.results = map[int]scenario.StepResult{}
	p.current, p.report, p.cursor, p.offset, p.follow = -1, nil, 0, 0, true
}

// Running reports whether a run is under way (paused or not) or its
// cluster is starting.
func (p *scenarioPane) Running() bool { return p.starting || p.run != nil && p.report == nil }

// Stop ends a run under way and waits for it. Safe from any goroutine once
// the program has stopped delivering messages to the pane.
func (p *scenarioPane) Stop() {
	if r := p.run; r != nil {
		r.stop()
	}
}

// freshCluster returns the command that starts a run's own cluster.
type freshCluster func(sc *scenario.Script, paused bool, steps int) tea.Cmd

// start asks for a fresh cluster for a new run: paused with steps
// allowed, or running. begin starts the run once the cluster is up.
func (p *scenarioPane) start(fresh freshCluster, paused bool, steps int) tea.Cmd {
	if p.script == nil || fresh == nil {
		return nil
	}
	p.Stop()
	p.run, p.starting = nil, true
	p.results = map[int]scenario.StepResult{}
	p.current, p.report, p.follow = 0, nil, true
	return fresh(p.script, paused, steps)
}

// begin runs the script on c, the fresh cluster start asked for.
func (p *scenarioPane) begin(c *sandbox.Cluster, paused bool, steps int, done <-chan struct{}) tea.Cmd {
	p.starting = false
	p.run = startScenarioRun(c, p.script, paused, steps)
	return p.run.wait(done)
}

// Control handles the run keys: p runs, pauses and continues; . runs one
// step. A new run starts on a fresh cluster (fresh starts it). It returns
// the command to wait for, if a run is starting.
func (p *scenarioPane) Control(km tea.KeyMsg, fresh freshCluster) (tea.Cmd, bool) {
	k := p.ctx.Keys
	switch {
	case p.starting && key.Matches(km, k.ScenarioRun, k.ScenarioStep):
		return nil, true // the cluster is starting: the run begins soon
	case key.Matches(km, k.ScenarioRun):
		switch {
		case !p.Running():
			return p.start(fresh, false, 0), true
		case p.run.paused():
			p.run.set(-1)
		default:
			p.run.set(0)
		}
		return nil, true
	case key.Matches(km, k.ScenarioStep):
		if !p.Running() {
			return p.start(fresh, true, 1), true
		}
		p.run.set(1)
		return nil, true
	}
	return nil, false
}

// Event applies one event of the current run and returns the command to
// wait for the next one.
func (p *scenarioPane) Event(msg scenarioEventMsg, done <-chan struct{}) tea.Cmd {
	if msg.run != p.run {
		return nil // a run that was replaced
	}
	ev := msg.ev
	switch {
	case ev.report != nil || ev.err != nil:
		p.report = ev.report
		if p.report == nil {
			p.report = &scenario.Report{Err: ev.err.Error()}
		}
		p.current = -1
		if i := p.firstFailure(); i >= 0 {
			// The flash says to look at the failure: show it at once.
			p.cursor, p.follow = i, false
		}
		return nil
	case ev.result != nil:
		p.results[ev.result.Index] = *ev.result
	case ev.next >= 0:
		p.current = ev.next
	}
	if p.follow && p.current >= 0 {
		p.cursor = p.current
	}
	return p.run.wait(done)
}

// Keys are the pane's own bindings, for the help bar.
func (p *scenarioPane) Keys() []key.Binding {
	k := p.ctx.Keys
	return []key.Binding{k.ScenarioRun, k.ScenarioStep, pair(k.Up, k.Down, "pick step"), k.OpenScenario}
}

// Update moves the cursor.
func (p *scenarioPane) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok || p.script == nil || len(p.script.Steps) == 0 {
		return nil
	}
	cursor, moved := p.ctx.Keys.moveCursor(km, p.cursor, len(p.script.Steps)-1, 10)
	if !moved {
		return nil
	}
	p.cursor = cursor
	p.follow = p.cursor == p.current
	return nil
}

// statusGlyph marks a step's status.
func statusGlyph(s scenario.Status) string {
	switch s {
	case scenario.Pass:
		return "✓"
	case scenario.Fail:
		return "✗"
	case scenario.Skip:
		return "-"
	case scenario.XFail:
		return "x"
	case scenario.XPass:
		return "!"
	}
	return "?"
}

// View renders the pane as a w x h box.
func (p *scenarioPane) View(w, h int, focused bool) string {
	st := p.ctx.Styles
	inner := w - 2
	title := "Scenario"
	if p.path != "" {
		title += " " + filepath.Base(p.path)
	}
	var lines []string
	switch {
	case p.path == "":
		lines = append(lines, st.Dim.Render(" loading…"))
		return box(p.ctx, w, h, title, focused, lines)
	case p.err != nil:
		lines = append(lines, st.Err.Render(" cannot run this file:"))
		msg := strings.ReplaceAll(p.err.Error(), p.path, filepath.Base(p.path))
		for _, l := range strings.Split(msg, "\n") {
			lines = append(lines, " "+l)
		}
		return box(p.ctx, w, h, title, focused, lines)
	}
	steps := p.script.Steps
	pass, fail := 0, 0
	for _, r := range p.results {
		switch r.Status {
		case scenario.Pass, scenario.XFail:
			pass++
		case scenario.Fail, scenario.XPass:
			fail++
		}
	}
	state := "ready (p run, . step)"
	switch {
	case p.starting:
		state = st.Warn.Render("starting a fresh cluster…")
	case p.report != nil && p.report.Passed():
		state = st.OK.Render("PASS") + " (p runs afresh)"
	case p.report != nil:
		state = st.Err.Render(fmt.Sprintf("FAIL %d", p.report.Failures())) + " (p runs afresh)"
	case p.Running() && p.run.paused():
		state = st.Warn.Render("PAUSED") + " (. step, p go)"
	case p.Running():
		state = st.OK.Render("running") + " (p pause)"
	}
	head := fmt.Sprintf(" %d/%d done ✓%d ✗%d", len(p.results), len(steps), pass, fail)
	lines = append(lines, joinRight(head, state+" ", inner))

	// The detail of the picked step (a failure's reason first) takes up to
	// three lines under the steps, wrapped, so it is readable at 80x24.
	detail := wrapText(p.detail(), inner-1, 3)
	body := max(1, h-3-len(detail))
	p.offset = scrollWindow(p.offset, p.cursor, len(steps), body)
	for i := p.offset; i < len(steps) && i < p.offset+body; i++ {
		s := steps[i]
		mark := " "
		if r, ok := p.results[i]; ok {
			mark = statusGlyph(r.Status)
		} else if i == p.current {
			mark = "▶"
		}
		text := fmt.Sprintf("%s %4d %s", mark, s.Line, s.Text)
		switch r := p.results[i]; {
		case focused && i == p.cursor:
			text = st.Selected.Render(fit("▸"+text, inner))
		case r.Status == scenario.Fail || r.Status == scenario.XPass:
			text = " " + st.Err.Render(text)
		case r.Status == scenario.Pass || r.Status == scenario.XFail:
			text = " " + st.OK.Render(text)
		case i == p.current:
			text = " " + st.Bold.Render(text)
		default:
			text = " " + st.Dim.Render(text)
		}
		lines = append(lines, text)
	}
	for len(lines) < body+1 {
		lines = append(lines, "")
	}
	for _, l := range detail {
		lines = append(lines, " "+st.Header.Render(fit(l, inner-1)))
	}
	return box(p.ctx, w, h, title, focused, lines)
}

// detail is the text under the steps: the picked step's result, its
// reason first (the step group's title last, as it is the least useful),
// or the checker's verdict once the run ended with the cursor on the last
// step.
func (p *scenarioPane) detail() string {
	if p.script == nil || len(p.script.Steps) == 0 {
		return "no steps"
	}
	s := p.script.Steps[p.cursor]
	gate := ""
	if s.Gate >= 0 && s.Gate < len(p.script.Gates) {
		g := p.script.Gates[s.Gate]
		gate = fmt.Sprintf(" · in step %s %q", g.ID, g.Description)
	}
	r, ran := p.results[p.cursor]
	if p.report != nil && p.cursor == len(p.script.Steps)-1 && (!ran || r.Status == scenario.Pass) {
		if p.report.Err != "" {
			return p.report.Err
		}
		return p.report.CheckLine()
	}
	if ran {
		d := strings.ReplaceAll(r.Detail, "\n", " ")
		return fmt.Sprintf("%s line %d %s: %s (%s)%s", r.Status, s.Line, s.Kind, d, r.Duration.Round(100*time.Microsecond), gate)
	}
	return fmt.Sprintf("line %d %s, not run yet%s", s.Line, s.Kind, gate)
}

// firstFailure is the index of the first failed step, or -1.
func (p *scenarioPane) firstFailure() int {
	if p.script == nil {
		return -1
	}
	for i := range p.script.Steps {
		if r, ok := p.results[i]; ok && (r.Status == scenario.Fail || r.Status == scenario.XPass) {
			return i
		}
	}
	return -1
}
