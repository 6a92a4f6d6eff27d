package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/scenario"
)

// Defaults of Options.
const (
	// DefaultRefresh is the shortest time between two cluster snapshots.
	DefaultRefresh = 100 * time.Millisecond
	// DefaultTick is the period of the background refresh (figures that
	// change without a signal, and the expiry of action results).
	DefaultTick = time.Second
	// flashFor is how long an action's result stays on screen.
	flashFor = 10 * time.Second
	// logBatch is the most log records taken from the subscription at once.
	logBatch = 512
)

// Options configure New. The zero value shows nothing and does nothing: set
// Cluster.
type Options struct {
	// Cluster is the sandbox driven and shown. The model closes it when the
	// user quits. Nil renders only the snapshots fed to it (tests).
	Cluster *sandbox.Cluster
	// AutoConnect connects every simulated non-admin user at start,
	// alternating between the instances (user1 to A, user2 to B, ...), so
	// a DM across instances is one key away.
	AutoConnect bool
	// ScenarioFile, when set, is opened in the scenario pane at start.
	ScenarioFile string
	// Renderer renders the styles; nil means lipgloss's default renderer
	// (tests pass one with a fixed colour profile).
	Renderer *lipgloss.Renderer
	// LogLines is how many log records the logs pane keeps; default
	// DefaultLogLines.
	LogLines int
	// Refresh is the shortest time between two cluster snapshots; default
	// DefaultRefresh.
	Refresh time.Duration
	// Now is the clock (action results expire by it); default time.Now.
	Now func() time.Time
	// ScenarioCluster starts the fresh cluster each scenario run gets;
	// default scenario.StartCluster at debug level.
	ScenarioCluster func(ctx context.Context, sc *scenario.Script) (*sandbox.Cluster, error)
}

// pane identifies a focusable pane.
type pane int

const (
	paneUsers pane = iota
	paneMessages
	paneLogs
	paneScenario
)

// Messages of the program loop.
type (
	// gen is the cluster generation a message comes from: a scenario run
	// replaces the cluster, and what the old one still sends is dropped.
	snapshotMsg struct {
		snap Snapshot
		gen  int
	}
	changedMsg  struct{ gen int }
	logBatchMsg struct {
		recs []logging.Record
		gen  int
	}
	tickMsg   struct{}
	closedMsg struct{ err error }
)

// Model is the root of the program: it holds the panes and the focus,
// routes keys to the prompt, the global bindings or the focused pane, and
// data and ticks to every pane. It is a tea.Model; use it through a
// tea.Program: Init, Update and View run on the program's goroutine only,
// and every call into the cluster that may block runs in a command.
// Quitting (q) shuts the cluster down (Shutdown) before the program ends;
// Shutdown and Err are the methods safe to call from other goroutines once
// the program has ended.
type Model struct {
	opts Options
	c    *sandbox.Cluster
	ctx  *Context

	// runCtx is cancelled when quitting: it ends the waits, ticks and
	// actions the model started. acts counts the running actions.
	runCtx context.Context
	cancel context.CancelFunc
	acts   *tracker
	logCh  <-chan logging.Record
	unsub  func()

	status *statusBar
	users  *usersPane
	msgs   *messagesPane
	logs   *logsPane
	prompt *promptBar
	scen   *scenarioPane
	help   help.Model

	focus    pane
	showHelp bool
	// joinPage shows the help's second page, how to join from outside,
	// when both do not fit one screen.
	joinPage bool
	// lastTo is each sender's last DM recipient: the send prompt's default.
	lastTo map[string]string
	// timeline, when set, is the picked message's life shown full screen.
	timeline *timelineMsg
	snap     Snapshot
	haveSnap bool
	progress map[milestone]bool

	flash    string
	flashErr bool
	flashAt  time.Time

	snapBusy, snapDirty bool
	// gen counts the clusters shown: each scenario run swaps in a fresh
	// one (the old one is closed in the background, as an action).
	gen int
	// cmu guards c for Cluster, the one reader off the program's
	// goroutine; the program's goroutine is the only writer.
	cmu sync.Mutex

	quitting bool
	closeErr error

	// shutdownOnce guards shutdownErr; Shutdown may run on any goroutine
	// and touches only fields fixed by New, and c through Cluster.
	shutdownOnce sync.Once
	shutdownErr  error
}

var _ tea.Model = (*Model)(nil)

// New returns the root model for o.Cluster. With a cluster it subscribes to
// its logs at once, so no line logged from now on is missed.
func New(o Options) *Model {
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ScenarioCluster == nil {
		o.ScenarioCluster = func(ctx context.Context, sc *scenario.Script) (*sandbox.Cluster, error) {
			return scenario.StartCluster(ctx, sc, sandbox.Options{LogLevel: zapcore.DebugLevel})
		}
	}
	ctx := &Context{Width: 80, Height: 24, Styles: NewStyles(o.Renderer), Keys: DefaultKeyMap()}
	rctx, cancel := context.WithCancel(context.Background())
	m := &Model{
		opts: o, c: o.Cluster, ctx: ctx,
		runCtx: rctx, cancel: cancel, acts: newTracker(), unsub: func() {},
		status:   newStatusBar(ctx),
		users:    newUsersPane(ctx),
		msgs:     newMessagesPane(ctx),
		logs:     newLogsPane(ctx, o.LogLines),
		prompt:   newPromptBar(ctx),
		progress: map[milestone]bool{},
	}
	m.help = help.New()
	m.help.Styles.ShortKey = ctx.Styles.Key
	m.help.Styles.ShortDesc = ctx.Styles.KeyDesc
	m.help.Styles.ShortSeparator = ctx.Styles.HelpSep
	m.help.Styles.Ellipsis = ctx.Styles.HelpSep
	if m.c != nil {
		ctx.Instances = m.c.InstanceNames()
		m.logCh, m.unsub = m.c.Logs().Subscribe()
		m.logs.Append(m.c.Logs().Snapshot())
	}
	if o.ScenarioFile != "" {
		m.scen = newScenarioPane(ctx)
	}
	return m
}

// Init starts the background work: snapshots on change, log batches, the
// tick, and the auto-connect and scenario when asked.
func (m *Model) Init() tea.Cmd {
	if m.c == nil {
		return nil
	}
	cmds := []tea.Cmd{m.waitChanged(), m.waitLogs(), m.tick(), m.requestSnapshot()}
	if m.opts.AutoConnect {
		cmds = append(cmds, m.autoConnectCmd())
	}
	if m.scen != nil {
		cmds = append(cmds, loadScenario(m.opts.ScenarioFile))
	}
	return tea.Batch(cmds...)
}

// Cluster is the cluster shown now: the one of Options until a scenario
// run swaps in its own. Safe from any goroutine.
func (m *Model) Cluster() *sandbox.Cluster {
	m.cmu.Lock()
	defer m.cmu.Unlock()
	return m.c
}

// Err is the cluster's shutdown error once the program ended through q.
func (m *Model) Err() error { return m.closeErr }

// waitChanged returns a command that waits for the cluster's change signal.
func (m *Model) waitChanged() tea.Cmd {
	ch, done, gen := m.c.Changed(), m.runCtx.Done(), m.gen
	return func() tea.Msg {
		select {
		case <-ch:
			return changedMsg{gen}
		case <-done:
			return nil
		}
	}
}

// waitLogs returns a command that waits for log records and takes what
// has arrived, up to logBatch.
func (m *Model) waitLogs() tea.Cmd {
	ch, gen := m.logCh, m.gen
	return func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return nil
		}
		recs := []logging.Record{r}
		for len(recs) < logBatch {
			select {
			case r, ok := <-ch:
				if !ok {
					return logBatchMsg{recs, gen}
				}
				recs = append(recs, r)
			default:
				return logBatchMsg{recs, gen}
			}
		}
		return logBatchMsg{recs, gen}
	}
}

// tick returns a command that sends tickMsg after DefaultTick.
func (m *Model) tick() tea.Cmd { return m.after(DefaultTick, tickMsg{}) }

// after returns a command that sends msg after d, or nothing when the
// model quits first.
func (m *Model) after(d time.Duration, msg tea.Msg) tea.Cmd {
	done := m.runCtx.Done()
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return msg
		case <-done:
			return nil
		}
	}
}

// requestSnapshot takes a snapshot now, or marks one due when one is being
// taken.
func (m *Model) requestSnapshot() tea.Cmd {
	if m.c == nil || m.quitting {
		return nil
	}
	if m.snapBusy {
		m.snapDirty = true
		return nil
	}
	m.snapBusy = true
	return m.snapshot(0)
}

// snapshot returns a command that reads the cluster after delay.
func (m *Model) snapshot(delay time.Duration) tea.Cmd {
	c, ctx, gen := m.c, m.runCtx, m.gen
	return func() tea.Msg {
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		return snapshotMsg{takeSnapshot(ctx, c), gen}
	}
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && !m.prompt.Typing() {
			// Keys typed faster than one read arrive together: take them
			// one by one.
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				cmds = append(cmds, m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
			}
			return m, tea.Batch(cmds...)
		}
		return m, m.handleKey(msg)
	case snapshotMsg:
		if msg.gen != m.gen {
			return m, nil // of a cluster swapped out
		}
		m.setSnapshot(msg.snap)
		m.snapBusy = false
		if m.snapDirty && !m.quitting {
			m.snapDirty = false
			m.snapBusy = true
			return m, m.snapshot(m.opts.Refresh)
		}
		return m, nil
	case changedMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		return m, tea.Batch(m.waitChanged(), m.requestSnapshot())
	case logBatchMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.logs.Append(msg.recs)
		if m.c != nil {
			m.logs.SetMissed(m.c.Logs().Missed())
		}
		return m, m.waitLogs()
	case tickMsg:
		if m.flash != "" && m.opts.Now().Sub(m.flashAt) > flashFor {
			m.flash = ""
		}
		if m.quitting {
			return m, nil
		}
		return m, tea.Batch(m.tick(), m.requestSnapshot())
	case actionMsg:
		if msg.err != nil {
			m.setFlash(msg.err.Error(), true)
		} else if msg.text != "" {
			m.setFlash(msg.text, false)
		}
		if msg.mark != noMilestone {
			m.progress[msg.mark] = true
		}
		return m, m.requestSnapshot()
	case closedMsg:
		m.closeErr = msg.err
		return m, tea.Quit
	case scenarioLoadedMsg:
		if m.quitting {
			return m, nil
		}
		if m.scen == nil {
			m.scen = newScenarioPane(m.ctx)
		}
		m.scen.SetScript(msg.path, msg.script, msg.err)
		m.focus = paneScenario
		if msg.err != nil {
			m.setFlash("cannot run "+msg.path+": see the scenario pane", true)
		} else {
			m.setFlash(fmt.Sprintf("opened %s: %d steps; p runs it, . runs one step", msg.path, len(msg.script.Steps)), false)
		}
		return m, nil
	case timelineMsg:
		if msg.gen == m.gen && !m.quitting {
			m.timeline = &msg
		}
		return m, nil
	case scenarioClusterMsg:
		if m.scen == nil || m.quitting {
			if msg.c != nil {
				m.retire(msg.c)
			}
			return m, nil
		}
		if msg.err != nil {
			m.scen.starting = false
			m.setFlash("cannot start a fresh cluster for the scenario: "+msg.err.Error(), true)
			return m, nil
		}
		cmds := m.swapCluster(msg.c)
		cmds = append(cmds, m.scen.begin(msg.c, msg.paused, msg.steps, m.runCtx.Done()))
		m.setFlash(fmt.Sprintf("running %s on a fresh cluster", filepath.Base(m.scen.path)), false)
		return m, tea.Batch(cmds...)
	case scenarioEventMsg:
		if m.scen == nil || m.quitting {
			return m, nil
		}
		cmd := m.scen.Event(msg, m.runCtx.Done())
		if r := m.scen.report; r != nil && msg.run == m.scen.run && cmd == nil {
			if r.Passed() {
				m.setFlash(fmt.Sprintf("scenario %s passed", filepath.Base(m.scen.path)), false)
			} else {
				// The first failure is picked in the pane; the flash says how
				// to replay the run headless.
				m.setFlash(fmt.Sprintf("%s failed (%d); replay: go run ./cmd/sandbox run --seed %d %s",
					filepath.Base(m.scen.path), r.Failures(), r.Seed, m.scen.path), true)
			}
		}
		return m, cmd
	}
	if m.prompt.Active() {
		return m, m.prompt.Update(msg)
	}
	return m, nil
}

// setSnapshot hands a new snapshot to every pane.
func (m *Model) setSnapshot(s Snapshot) {
	s.merge(m.snap)
	first := !m.haveSnap
	m.snap, m.haveSnap = s, true
	if names := s.instanceNames(); len(names) > 0 {
		m.ctx.Instances = names
	}
	if m.ctx.UserNames == nil {
		m.ctx.UserNames = map[string]string{}
	}
	for _, u := range s.Users {
		m.ctx.UserNames[u.ID] = u.Name
	}
	m.status.SetSnapshot(s)
	m.users.SetUsers(s.Users)
	if first {
		for _, u := range s.Users {
			if !u.Admin {
				m.users.Select(u.Name)
				break
			}
		}
	}
	m.msgs.SetUser(m.users.Selected())
}

// setFlash shows an action's result on the bottom line.
func (m *Model) setFlash(s string, isErr bool) {
	m.flash, m.flashErr, m.flashAt = s, isErr, m.opts.Now()
}

// startQuit shuts the cluster down in the background, then quits.
func (m *Model) startQuit() tea.Cmd {
	if m.quitting {
		return nil
	}
	m.quitting = true
	m.prompt.Close()
	return func() tea.Msg { return closedMsg{m.Shutdown()} }
}

// Shutdown ends everything the model started: its waits, ticks and
// actions, a running scenario, the log subscription, and the cluster
// (Close). Quitting with q calls it; call it after the program ended some
// other way (a signal, tea.Quit from outside). Safe to call more than once
// and from any goroutine; later calls return the first result.
func (m *Model) Shutdown() error {
	m.shutdownOnce.Do(func() {
		m.cancel()
		if m.scen != nil {
			m.scen.Stop()
		}
		if c := m.Cluster(); c != nil {
			m.shutdownErr = c.Close()
		}
		m.acts.closeAndWait()
		m.unsub()
	})
	return m.shutdownErr
}

// handleKey routes a key: the prompt, the full help, global bindings,
// then the focused pane.
func (m *Model) handleKey(km tea.KeyMsg) tea.Cmd {
	k := m.ctx.Keys
	if m.quitting {
		return nil
	}
	if m.prompt.Active() {
		if km.String() == "ctrl+c" {
			return m.startQuit()
		}
		return m.prompt.Update(km)
	}
	if m.timeline != nil {
		m.timeline = nil // any key closes it
		return nil
	}
	if m.showHelp {
		if key.Matches(km, k.Quit) {
			return m.startQuit()
		}
		if key.Matches(km, k.Help) && !m.joinPage {
			m.joinPage = true
			return nil
		}
		m.showHelp = false
		return nil
	}
	switch {
	case key.Matches(km, k.Quit):
		return m.startQuit()
	case key.Matches(km, k.Help):
		m.showHelp, m.joinPage = true, false
		return nil
	case key.Matches(km, k.NextPane):
		m.focus = m.nextPane(+1)
		return nil
	case key.Matches(km, k.PrevPane):
		m.focus = m.nextPane(-1)
		return nil
	case key.Matches(km, k.Redis):
		return m.redisCmd()
	case key.Matches(km, k.InstanceA):
		return m.instanceCmd(0)
	case key.Matches(km, k.InstanceB):
		return m.instanceCmd(1)
	case key.Matches(km, k.BusFault):
		return m.openBusPrompt()
	case key.Matches(km, k.OpenScenario):
		return m.openScenarioPrompt()
	}
	switch m.focus {
	case paneUsers, paneMessages:
		if m.focus == paneMessages && key.Matches(km, k.Trace) {
			return m.timelineCmd(m.msgs.SelectedID())
		}
		if cmd, ok := m.userKey(km); ok {
			return cmd
		}
		if m.focus == paneUsers {
			cmd := m.users.Update(km)
			m.msgs.SetUser(m.users.Selected())
			return cmd
		}
		return m.msgs.Update(km)
	case paneLogs:
		return m.logKey(km)
	case paneScenario:
		if m.scen != nil {
			if cmd, ok := m.scen.Control(km, m.freshClusterCmd); ok {
				return cmd
			}
			return m.scen.Update(km)
		}
	}
	return nil
}

// nextPane is the pane dir steps from the focused one.
func (m *Model) nextPane(dir int) pane {
	n := 3
	if m.scen != nil {
		n = 4
	}
	return pane((int(m.focus) + dir + n) % n)
}
