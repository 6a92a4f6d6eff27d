package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
)

// The fault actions that need a prompt.

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
