package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
)

// timelineMsg is a message's timeline, read from the cluster's history
// and log buffer in a command.
type timelineMsg struct {
	mid     string
	entries []sandbox.TimelineEntry
	gen     int
}

// timelineCmd reads the timeline of message mid (T on a message row).
func (m *Model) timelineCmd(mid string) tea.Cmd {
	if m.c == nil {
		return nil
	}
	if mid == "" {
		return m.fail(fmt.Errorf("this message has no messageId yet (no MESSAGE_ACK): nothing to trace"))
	}
	c, gen := m.c, m.gen
	return func() tea.Msg {
		return timelineMsg{mid: mid, gen: gen, entries: sandbox.Timeline(mid, c.History().Events(), c.Logs().Snapshot(), c.Names())}
	}
}

// timelineView shows the picked message's life, newest last, in a w x h
// box: the first entries when they do not all fit (the send comes first).
func (m *Model) timelineView(w, h int) string {
	st := m.ctx.Styles
	t := m.timeline
	var lines []string
	if len(t.entries) == 0 {
		lines = append(lines, st.Dim.Render(" no event or log line names this message (the log buffer may have dropped it)"))
	}
	for _, e := range t.entries {
		lines = append(lines, fmt.Sprintf(" %s %s %s", st.Dim.Render(e.Time.Format("15:04:05.000")),
			fit(e.Where, 12), e.What))
	}
	if over := len(lines) - (h - 2); over > 0 {
		lines = append(lines[:h-3], st.Dim.Render(fmt.Sprintf(" … %d more: sandbox run --trace %s shows all", over+1, t.mid)))
	}
	return box(m.ctx, w, h, fmt.Sprintf("Timeline of message %s (any key closes)", t.mid), true, lines)
}
