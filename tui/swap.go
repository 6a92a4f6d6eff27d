package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/scenario"
)

// freshStartTimeout bounds the start of a scenario run's cluster.
const freshStartTimeout = 30 * time.Second

// scenarioClusterMsg carries the fresh cluster a scenario run starts on,
// with how the run was asked to go (paused with steps allowed, or not).
type scenarioClusterMsg struct {
	c      *sandbox.Cluster
	err    error
	paused bool
	steps  int
}

// freshClusterCmd starts, in a command, the cluster a run of sc gets: every
// run starts from nothing, so run, fail, fix, run again works (no users,
// faults or Redis outage left by the last run or by hand).
func (m *Model) freshClusterCmd(sc *scenario.Script, paused bool, steps int) tea.Cmd {
	start, ctx := m.opts.ScenarioCluster, m.runCtx
	return func() tea.Msg {
		sctx, cancel := context.WithTimeout(ctx, freshStartTimeout)
		defer cancel()
		c, err := start(sctx, sc)
		return scenarioClusterMsg{c: c, err: err, paused: paused, steps: steps}
	}
}

// swapCluster shows c instead of the current cluster, which is closed in
// the background, and returns the commands that watch c.
func (m *Model) swapCluster(c *sandbox.Cluster) []tea.Cmd {
	if old := m.c; old != nil && old != c {
		m.retire(old)
	}
	m.unsub()
	m.gen++
	m.cmu.Lock()
	m.c = c
	m.cmu.Unlock()
	m.ctx.Instances = c.InstanceNames()
	m.ctx.UserNames = nil
	m.logCh, m.unsub = c.Logs().Subscribe()
	filter, search := m.logs.Filter(), m.logs.search
	m.logs = newLogsPane(m.ctx, m.opts.LogLines)
	m.logs.filter, m.logs.search = filter, search
	m.logs.Append(c.Logs().Snapshot())
	m.snap, m.haveSnap = Snapshot{}, false
	m.users.SetUsers(nil)
	m.msgs.SetUser(UserView{})
	m.status.SetSnapshot(Snapshot{})
	m.snapBusy, m.snapDirty = false, false
	return []tea.Cmd{m.waitChanged(), m.waitLogs(), m.requestSnapshot()}
}

// retire closes a cluster that is no longer shown, in the background as
// an action Shutdown waits for (at once when shutting down already).
func (m *Model) retire(c *sandbox.Cluster) {
	if !m.acts.begin() {
		_ = c.Close()
		return
	}
	go func() {
		defer m.acts.end()
		_ = c.Close()
	}()
}
