package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// The logs pane's actions: the prompts of its filters and search.

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
