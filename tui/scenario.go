package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// scenarioPane shows a scenario file and runs it step by step.
type scenarioPane struct {
	ctx *Context
}

func newScenarioPane(ctx *Context) *scenarioPane { return &scenarioPane{ctx: ctx} }

// Handle takes the scenario's own messages; ok is false for others.
func (p *scenarioPane) Handle(msg tea.Msg) (tea.Cmd, bool) { return nil, false }

// Update handles the pane's keys.
func (p *scenarioPane) Update(msg tea.Msg) tea.Cmd { return nil }

// Keys are the pane's own bindings.
func (p *scenarioPane) Keys() []key.Binding { return nil }

// Stop ends a running scenario.
func (p *scenarioPane) Stop() {}

// View renders the pane.
func (p *scenarioPane) View(w, h int, focused bool) string {
	return box(p.ctx, w, h, "Scenario", focused, nil)
}

func (m *Model) openScenario(path string) tea.Cmd { return nil }
