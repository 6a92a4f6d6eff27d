package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// choice is one option of a prompt: the value handed to the submit
// function and its label.
type choice struct {
	Value, Label string
}

// promptSpec describes a prompt to open.
type promptSpec struct {
	// Label starts the prompt line, e.g. "DM user1 →".
	Label string
	// Choices, when set, are picked with ↑/↓ (or ←/→ without text).
	Choices []choice
	// Pick is the initially picked choice.
	Pick int
	// Text asks for a line of text; Placeholder and Value preset it.
	Text        bool
	TextLabel   string
	Placeholder string
	Value       string
	// Submit is called with the text and the picked choice's value when
	// enter is pressed; it returns the command to run (or nil). When it
	// returns a non-empty problem, the prompt stays open and shows it.
	Submit func(text, pick string) (problem string, cmd tea.Cmd)
}

// promptBar is the one-line prompt at the bottom: a text input
// (bubbles/textinput), a picker, or both (a DM: recipient and message).
// While open it takes every key.
type promptBar struct {
	ctx     *Context
	spec    *promptSpec
	input   textinput.Model
	pick    int
	problem string
}

func newPromptBar(ctx *Context) *promptBar {
	in := textinput.New()
	in.Prompt = ""
	// A steady cursor: no blink timers, nothing left running at exit.
	in.Cursor.SetMode(cursor.CursorStatic)
	in.CharLimit = 4096
	return &promptBar{ctx: ctx, input: in}
}

// Open shows the prompt described by s.
func (p *promptBar) Open(s promptSpec) tea.Cmd {
	p.spec = &s
	p.pick = max(0, min(s.Pick, len(s.Choices)-1))
	p.problem = ""
	p.input.Reset()
	p.input.Placeholder = s.Placeholder
	if s.Value != "" {
		p.input.SetValue(s.Value)
		p.input.CursorEnd()
	}
	if s.Text {
		return p.input.Focus()
	}
	p.input.Blur()
	return nil
}

// Active reports whether a prompt is open.
func (p *promptBar) Active() bool { return p.spec != nil }

// Typing reports whether an open prompt takes text.
func (p *promptBar) Typing() bool { return p.spec != nil && p.spec.Text }

// Close closes the prompt without submitting.
func (p *promptBar) Close() {
	p.spec = nil
	p.input.Blur()
}

// Keys are the prompt's bindings, for the help bar.
func (p *promptBar) Keys() []key.Binding {
	k := p.ctx.Keys
	out := []key.Binding{k.Submit, k.Cancel}
	if p.spec != nil && len(p.spec.Choices) > 1 {
		pk := k.PickNext
		if !p.spec.Text {
			pk.SetHelp("←/→", "choose")
		}
		out = append(out, pk)
	}
	return out
}

// Update handles a key while the prompt is open.
func (p *promptBar) Update(msg tea.Msg) tea.Cmd {
	if p.spec == nil {
		return nil
	}
	k := p.ctx.Keys
	km, isKey := msg.(tea.KeyMsg)
	// Typed text is text: runes typed fast arrive together and may spell
	// a key's name ("down").
	typed := isKey && p.spec.Text && (km.Type == tea.KeyRunes || km.Type == tea.KeySpace)
	if isKey && !typed {
		n := len(p.spec.Choices)
		switch {
		case key.Matches(km, k.Cancel):
			p.Close()
			return nil
		case key.Matches(km, k.Submit):
			pick := ""
			if n > 0 {
				pick = p.spec.Choices[p.pick].Value
			}
			problem, cmd := p.spec.Submit(strings.TrimSpace(p.input.Value()), pick)
			if problem != "" {
				p.problem = problem
				return nil
			}
			p.Close()
			return cmd
		case n > 0 && (key.Matches(km, k.PickNext) || !p.spec.Text && (km.String() == "right" || km.String() == "tab" || km.String() == "l")):
			p.pick = (p.pick + 1) % n
			return nil
		case n > 0 && (key.Matches(km, k.PickPrev) || !p.spec.Text && (km.String() == "left" || km.String() == "shift+tab" || km.String() == "h")):
			p.pick = (p.pick + n - 1) % n
			return nil
		case n > 0 && !p.spec.Text && km.Type == tea.KeyRunes && len(km.Runes) == 1:
			// A choice's first letter picks it.
			for i, c := range p.spec.Choices {
				if c.Value != "" && strings.EqualFold(c.Value[:1], string(km.Runes)) {
					p.pick = i
				}
			}
			return nil
		}
		p.problem = ""
	}
	if !p.spec.Text {
		return nil
	}
	if typed && len(km.Runes) > 1 && !km.Paste {
		// One rune at a time, so textinput does not read "down" as a key.
		var cmds []tea.Cmd
		for _, r := range km.Runes {
			var cmd tea.Cmd
			p.input, cmd = p.input.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			cmds = append(cmds, cmd)
		}
		return tea.Batch(cmds...)
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

// View renders the prompt line at width w.
func (p *promptBar) View(w int) string {
	if p.spec == nil {
		return ""
	}
	st := p.ctx.Styles
	s := " " + st.Prompt.Render(p.spec.Label) + " "
	if n := len(p.spec.Choices); n > 0 {
		if p.spec.Text {
			s += st.Bold.Render("◂ "+p.spec.Choices[p.pick].Label+" ▸") + " "
		} else {
			for i, c := range p.spec.Choices {
				if i == p.pick {
					s += st.Selected.Render("["+c.Label+"]") + " "
				} else {
					s += " " + c.Label + "  "
				}
			}
		}
	}
	if p.spec.Text {
		if p.spec.TextLabel != "" {
			s += st.Prompt.Render(p.spec.TextLabel) + " "
		}
		room := w - width(s) - 1
		if p.problem != "" {
			room -= width(p.problem) + 2
		}
		p.input.Width = max(5, room)
		s += p.input.View()
	}
	if p.problem != "" {
		s += "  " + st.Err.Render(p.problem)
	}
	return fit(s, w)
}
