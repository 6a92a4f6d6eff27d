package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// openScenarioPrompt asks for a scenario file to open.
func (m *Model) openScenarioPrompt() tea.Cmd {
	if m.c == nil {
		return nil
	}
	val := m.opts.ScenarioFile
	if m.scen != nil && m.scen.path != "" {
		val = m.scen.path
	}
	if m.scen != nil && m.scen.Running() {
		return m.fail(fmt.Errorf("a scenario is running: let it end first"))
	}
	// The grey placeholder is what an empty enter opens, so it never
	// looks like a default that is not one.
	def := defaultScenarioFile()
	placeholder := "path of a .scn file"
	if def != "" {
		placeholder = def + " (enter opens it)"
	}
	return m.prompt.Open(promptSpec{Label: "Open scenario file:", Text: true, Value: val,
		Placeholder: placeholder,
		Submit: func(text, _ string) (string, tea.Cmd) {
			if text == "" {
				text = def
			}
			if text == "" {
				return "type the path of a .scn file", nil
			}
			if _, err := os.Stat(text); err != nil {
				return err.Error(), nil
			}
			return "", loadScenario(text)
		}})
}

// defaultScenarioFile is the first shipped scenario under the working
// directory, or "" when there is none.
func defaultScenarioFile() string {
	files, _ := filepath.Glob(filepath.Join("scenarios", "*.scn"))
	if len(files) == 0 {
		return ""
	}
	return files[0]
}

// nextPane is the pane dir steps from the focused one.
func (m *Model) nextPane(dir int) pane {
	n := 3
	if m.scen != nil {
		n = 4
	}
	return pane((int(m.focus) + dir + n) % n)
}

// userKey handles the user actions; ok is false for other keys.
func (m *Model) userKey(km tea.KeyMsg) (tea.Cmd, bool) {
	k := m.ctx.Keys
	u := m.users.Selected()
	isUserKey := key.Matches(km, k.Send, k.Burst, k.ConnectA, k.ConnectB, k.Disconnect, k.Reconnect, k.AutoAck,
		k.AckNow, k.DropAcks, k.LoseAcks, k.Ban)
	if key.Matches(km, k.NewUser) {
		return m.openNewUserPrompt(), true
	}
	if !isUserKey {
		return nil, false
	}
	if m.c == nil || u.Name == "" {
		return nil, true
	}
	names := m.c.InstanceNames()
	switch {
	case key.Matches(km, k.Send):
		return m.openSendPrompt(u), true
	case key.Matches(km, k.Burst):
		return m.prompt.Open(promptSpec{
			Label: fmt.Sprintf("Burst from %s: how many random DMs?", u.Name), Text: true, Placeholder: "20",
			Submit: func(text, _ string) (string, tea.Cmd) {
				if text == "" {
					text = "20"
				}
				n, bad := parseCount(text, 10000)
				if bad != "" || n == 0 {
					return "a number from 1 to 10000", nil
				}
				return "", m.burstCmd(u.Name, n)
			},
		}), true
	case key.Matches(km, k.ConnectA):
		return m.connectCmd(u.Name, names[0]), true
	case key.Matches(km, k.ConnectB):
		if len(names) < 2 {
			return m.fail(fmt.Errorf("only one instance")), true
		}
		return m.connectCmd(u.Name, names[1]), true
	case key.Matches(km, k.Disconnect):
		return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
			if !su.Connected() {
				return su.Name() + " is not connected", nil
			}
			su.Disconnect()
			return su.Name() + " disconnected (close 1000)", nil
		}), true
	case key.Matches(km, k.Reconnect):
		return m.userCmd(u.Name, func(ctx context.Context, su *sandbox.SimUser) (string, error) {
			if err := su.Reconnect(ctx); err != nil {
				return "", err
			}
			return waitReady(ctx, su, su.Name()+" reconnected to "+su.Instance())
		}), true
	case key.Matches(km, k.AutoAck):
		return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
			su.SetAutoAck(!su.AutoAck())
			if su.AutoAck() {
				return su.Name() + ": auto-ack on", nil
			}
			return su.Name() + ": auto-ack off: deliveries wait for o (ack pending now)", nil
		}), true
	case key.Matches(km, k.AckNow):
		return m.userCmd(u.Name, func(ctx context.Context, su *sandbox.SimUser) (string, error) {
			if err := su.AckPending(ctx); err != nil {
				return "", err
			}
			return su.Name() + ": pending deliveries acked", nil
		}), true
	case key.Matches(km, k.DropAcks):
		return m.openCountPrompt(fmt.Sprintf("%s drops its next N DELIVERY_ACKs, N =", u.Name), func(n int) tea.Cmd {
			return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
				su.DropDeliveryAcks(n)
				return fmt.Sprintf("%s will drop its next %d delivery acks (the server replays those messages)", su.Name(), n), nil
			})
		}), true
	case key.Matches(km, k.LoseAcks):
		return m.openCountPrompt(fmt.Sprintf("%s loses its next N MESSAGE_ACKs, N =", u.Name), func(n int) tea.Cmd {
			return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
				su.LoseMessageAcks(n)
				return fmt.Sprintf("%s will lose its next %d MESSAGE_ACKs (and retry with the same clientMessageId)", su.Name(), n), nil
			})
		}), true
	case key.Matches(km, k.Ban):
		return m.openBanPrompt(u), true
	}
	return nil, true
}

// logKey handles a key for the logs pane: the prompts here, the rest in the
// pane.
func (m *Model) logKey(km tea.KeyMsg) tea.Cmd {
	k := m.ctx.Keys
	f := m.logs.Filter()
	switch {
	case key.Matches(km, k.Search):
		return m.prompt.Open(promptSpec{Label: "Search logs:", Text: true, Value: m.logs.search,
			Placeholder: "text in any line (n/N: next/prev match)",
			Submit:      func(text, _ string) (string, tea.Cmd) { m.logs.SetSearch(text); return "", nil }})
	case key.Matches(km, k.FilterLogger):
		return m.prompt.Open(promptSpec{Label: "Logger filter:", Text: true, Value: f.Logger,
			Placeholder: "part of a logger name, e.g. RedisBus (empty: any)",
			Submit: func(text, _ string) (string, tea.Cmd) {
				f.Logger = text
				m.logs.SetFilter(f)
				return "", nil
			}})
	case key.Matches(km, k.FilterEvent):
		return m.prompt.Open(promptSpec{Label: "Event filter:", Text: true, Value: f.Event,
			Placeholder: "part of an event name, e.g. bus_ (empty: any)",
			Submit: func(text, _ string) (string, tea.Cmd) {
				f.Event = text
				m.logs.SetFilter(f)
				return "", nil
			}})
	}
	return m.logs.Update(km)
}

// openSendPrompt asks for a DM's recipient and text. A disconnected
// sender is refused before anything is typed. The default recipient does
// not move with who is online: the sender's last recipient, else the first
// other non-admin user, one whose instance differs first (a DM across
// instances).
func (m *Model) openSendPrompt(from UserView) tea.Cmd {
	var choices []choice
	live := m.liveUsers()
	for _, u := range live {
		if u.Name == from.Name {
			from = u
		}
	}
	if !from.Connected {
		return m.fail(fmt.Errorf("%s is not connected: press a or b to connect it first", from.Name))
	}
	pick, cross, local := -1, -1, -1
	for _, u := range live {
		if u.Name == from.Name {
			continue
		}
		where := "offline"
		if u.Connected {
			where = "on " + u.Instance
		}
		choices = append(choices, choice{Value: u.Name, Label: u.Name + " (" + where + ")"})
		i := len(choices) - 1
		switch {
		case u.Name == m.lastTo[from.Name]:
			pick = i
		case u.Admin || !u.Simulated:
		case cross < 0 && u.Instance != "" && u.Instance != from.Instance:
			cross = i
		case local < 0:
			local = i
		}
	}
	if len(choices) == 0 {
		return m.fail(fmt.Errorf("no one to send to: press u to create a user"))
	}
	for _, i := range []int{cross, local, 0} {
		if pick < 0 {
			pick = i
		}
	}
	label := fmt.Sprintf("DM from %s →", from.Name)
	return m.prompt.Open(promptSpec{
		Label: label, Choices: choices, Pick: pick, Text: true, TextLabel: "message:",
		Placeholder: "type a message, enter sends",
		Submit: func(text, to string) (string, tea.Cmd) {
			if text == "" {
				return "type a message first", nil
			}
			if m.lastTo == nil {
				m.lastTo = map[string]string{}
			}
			m.lastTo[from.Name] = to
			return "", m.sendCmd(from.Name, to, text)
		},
	})
}

// liveUsers are the snapshot's users with their connection state read
// from the cluster now: the snapshot may be a moment old (a connect that
// just finished), and a prompt's default choice depends on it.
func (m *Model) liveUsers() []UserView {
	users := append([]UserView(nil), m.snap.Users...)
	if m.c == nil {
		return users
	}
	for i, u := range users {
		if su := m.c.User(u.Name); su != nil {
			users[i].Connected, users[i].Instance = su.Connected(), su.Instance()
		}
	}
	return users
}

// openBanPrompt asks through which instance the admin bans (or unbans).
func (m *Model) openBanPrompt(u UserView) tea.Cmd {
	verb := "Ban"
	if u.Banned {
		verb = "Unban"
	}
	var choices []choice
	for _, n := range m.c.InstanceNames() {
		choices = append(choices, choice{Value: n, Label: n})
	}
	return m.prompt.Open(promptSpec{
		Label: fmt.Sprintf("%s %s through instance:", verb, u.Name), Choices: choices,
		Submit: func(_, inst string) (string, tea.Cmd) { return "", m.banCmd(u.Name, inst, !u.Banned) },
	})
}

// openNewUserPrompt asks for a new user's name and role.
func (m *Model) openNewUserPrompt() tea.Cmd {
	if m.c == nil {
		return nil
	}
	return m.prompt.Open(promptSpec{
		Label: "New", Choices: []choice{{"user", "user"}, {"admin", "admin"}}, Text: true, TextLabel: "name:",
		Placeholder: "3 to 32 letters, digits, _ or -",
		Submit: func(text, role string) (string, tea.Cmd) {
			if text == "" || strings.ContainsAny(text, " \t") {
				return "a name without blanks", nil
			}
			return "", m.newUserCmd(text, role == "admin")
		},
	})
}

// openCountPrompt asks for a count and runs do with it.
func (m *Model) openCountPrompt(label string, do func(n int) tea.Cmd) tea.Cmd {
	return m.prompt.Open(promptSpec{Label: label, Text: true, Placeholder: "1 (0 cancels)",
		Submit: func(text, _ string) (string, tea.Cmd) {
			if text == "" {
				text = "1"
			}
			n, bad := parseCount(text, 1000)
			if bad != "" {
				return bad, nil
			}
			return "", do(n)
		}})
}

// openBusPrompt asks for the bus fault.
func (m *Model) openBusPrompt() tea.Cmd {
	if m.c == nil {
		return nil
	}
	cur := m.c.BusFault()
	val := ""
	if cur != (sandbox.BusFault{}) {
		val = fmt.Sprintf("%s %g", cur.Latency, cur.DropRate*100)
	}
	return m.prompt.Open(promptSpec{Label: "Bus fault, latency and drop %:", Text: true, Value: val,
		Placeholder: `e.g. "50ms 10"; empty heals the bus`,
		Submit: func(text, _ string) (string, tea.Cmd) {
			f, bad := parseBusFault(text)
			if bad != "" {
				return bad, nil
			}
			return "", m.busCmd(f)
		}})
}
