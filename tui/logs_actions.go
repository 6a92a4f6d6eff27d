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
		return m.filterPrompt("Logger filter:", "part of a logger name, e.g. RedisBus (empty: any)", &f, &f.Logger)
	case key.Matches(km, k.FilterEvent):
		return m.filterPrompt("Event filter:", "part of an event name, e.g. bus_ (empty: any)", &f, &f.Event)
	}
	return m.logs.Update(km)
}

// filterPrompt asks for one text field of the logs filter f (field points
// into f) and applies f when submitted.
func (m *Model) filterPrompt(label, placeholder string, f *logFilter, field *string) tea.Cmd {
	return m.prompt.Open(promptSpec{Label: label, Text: true, Value: *field, Placeholder: placeholder,
		Submit: func(text, _ string) (string, tea.Cmd) {
			*field = text
			m.logs.SetFilter(*f)
			return "", nil
		}})
}
