package tui

import (
	"fmt"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"
)

// The scenario pane's actions: opening a scenario file.

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
