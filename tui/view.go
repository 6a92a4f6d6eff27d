package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/dmchat/dmchat/core/sandbox"
)

// Smallest terminal the layout is made for.
const (
	minWidth  = 60
	minHeight = 16
)

// View renders the whole screen.
func (m *Model) View() string {
	w, h := m.ctx.Width, m.ctx.Height
	st := m.ctx.Styles
	if m.quitting {
		return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center,
			st.Bold.Render("Shutting down the instances and Redis…"))
	}
	if w < minWidth || h < minHeight {
		return fit(fmt.Sprintf("Terminal %dx%d: need %dx%d or more.", w, h, minWidth, minHeight), w) +
			"\n" + fit("q quits.", w)
	}
	top := m.status.View(w)
	statusH := m.status.Height()
	// status, hint, main, bottom line, help bar.
	mainH := h - statusH - 3
	var main string
	switch {
	case m.timeline != nil:
		main = m.timelineView(w, mainH+1)
	case m.showHelp:
		main = m.fullHelpView(w, mainH+1)
	default:
		main = m.hintView(w) + "\n" + m.panesView(w, mainH)
	}
	return strings.Join([]string{top, main, m.bottomView(w), m.helpBarView(w)}, "\n")
}

// panesView lays the panes out in w x h: users and messages side by side
// above the logs; the scenario pane, when open, beside the logs.
func (m *Model) panesView(w, h int) string {
	topH := len(m.snap.Users) + 3
	topH = max(5, min(max(topH, h*2/5), h*3/5))
	logsH := h - topH
	usersW := max(36, min(48, w*2/5))
	top := lipgloss.JoinHorizontal(lipgloss.Top,
		m.users.View(usersW, topH, m.focus == paneUsers),
		m.msgs.View(w-usersW, topH, m.focus == paneMessages))
	bottom := m.logs.View(w, logsH, m.focus == paneLogs)
	if m.scen != nil {
		scenW := max(30, min(60, w*2/5))
		bottom = lipgloss.JoinHorizontal(lipgloss.Top,
			m.scen.View(scenW, logsH, m.focus == paneScenario),
			m.logs.View(w-scenW, logsH, m.focus == paneLogs))
	}
	return top + "\n" + bottom
}

// hintView is the guidance line: the next step of a newcomer's tour.
func (m *Model) hintView(w int) string {
	return fit(" "+m.ctx.Styles.Hint.Render("▸ "+m.hint()), w)
}

// hint words the next step: send a DM across instances, ban, stop Redis.
func (m *Model) hint() string {
	sel := m.users.Selected()
	switch {
	case m.c == nil && !m.haveSnap:
		return "starting…"
	case len(m.snap.Users) == 0:
		return "No users yet: press u to create one (start with --users 4 for a ready cast)."
	case !m.progress[sentDM]:
		if !sel.Connected {
			return fmt.Sprintf("Press a to connect %s to A (or b for B), then s to send a DM.", sel.Name)
		}
		to, toName := "someone", "someone"
		for _, u := range m.snap.Users {
			if u.Name != sel.Name && !u.Admin && u.Connected && u.Instance != sel.Instance {
				to, toName = fmt.Sprintf("%s (on %s)", u.Name, u.Instance), u.Name
				break
			}
		}
		if !m.snap.RedisUp {
			return fmt.Sprintf("Redis down: press s, type hello, enter (%s→%s), then R: watch it cross.", sel.Name, toName)
		}
		return fmt.Sprintf("First DM: press s, type hello, press enter: %s (on %s) DMs %s.", sel.Name, sel.Instance, to)
	case !m.progress[bannedUser]:
		return "Sent! Now ↓ to pick a user, x to ban them (the admin acts through A or B)."
	case !m.progress[stoppedRedis]:
		return "Banned! Now press R to stop Redis and watch the logs pane say bus_lost."
	case !m.snap.RedisUp:
		return "Redis down: DMs within one instance still work. R restarts it · ? every key"
	}
	return "tab moves between panes · ? shows every key · q quits"
}

// bottomView is the prompt when one is open, else the last action's
// result, else where to join from outside.
func (m *Model) bottomView(w int) string {
	st := m.ctx.Styles
	switch {
	case m.prompt.Active():
		return m.prompt.View(w)
	case m.flash != "" && m.flashErr:
		return fit(" "+st.Err.Render("✗ "+m.flash), w)
	case m.flash != "":
		return fit(" "+st.Flash.Render("✓ "+m.flash), w)
	}
	var parts []string
	for _, in := range m.snap.Instances {
		parts = append(parts, in.Name+" "+in.WebURL)
	}
	if len(parts) == 0 {
		return strings.Repeat(" ", w)
	}
	return fit(" "+st.Dim.Render("web: "+strings.Join(parts, "  ")+"  password "+sandbox.DefaultPassword), w)
}

// helpBarView is the focused pane's keys, then the global ones.
func (m *Model) helpBarView(w int) string {
	var keys []key.Binding
	switch {
	case m.prompt.Active():
		keys = m.prompt.Keys()
	case m.showHelp:
		keys = []key.Binding{key.NewBinding(key.WithKeys("esc"), key.WithHelp("any key", "close")), m.ctx.Keys.Quit}
	default:
		switch m.focus {
		case paneUsers:
			keys = m.users.Keys()
		case paneMessages:
			keys = m.msgs.Keys()
		case paneLogs:
			keys = m.logs.Keys()
		case paneScenario:
			if m.scen != nil {
				keys = m.scen.Keys()
			}
		}
	}
	global := ""
	if !m.prompt.Active() && !m.showHelp {
		g := m.ctx.Keys.ShortHelp()
		if w < 100 {
			// Narrow, the fault keys go (? lists them) so the pane's keys fit.
			g = slices.DeleteFunc(g, func(b key.Binding) bool {
				return key.Matches(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'A'}}, b) ||
					key.Matches(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'R'}}, b)
			})
		}
		m.help.Width = 0
		global = m.help.ShortHelpView(g)
	}
	m.help.Width = max(10, w-2-width(global)-3)
	left := " " + m.help.ShortHelpView(keys)
	if global == "" {
		return fit(left, w)
	}
	return joinRight(left, m.ctx.Styles.HelpSep.Render("│ ")+global, w)
}

// fullHelpView is the full key map (?) with how to join from outside.
func (m *Model) fullHelpView(w, h int) string {
	st := m.ctx.Styles
	k := m.ctx.Keys
	groups := k.FullHelp()
	titles := k.FullHelpTitles()
	col := func(gs ...int) []string {
		var lines []string
		for _, g := range gs {
			if len(lines) > 0 {
				lines = append(lines, "")
			}
			lines = append(lines, st.Bold.Render(titles[g]))
			for _, b := range groups[g] {
				lines = append(lines, st.Key.Render(fmt.Sprintf("%-6s", b.Help().Key))+" "+b.Help().Desc)
			}
		}
		return lines
	}
	cols := [][]string{col(0, 3), col(1), col(2)}
	inner := w - 2
	colW := inner / len(cols)
	var lines []string
	for i := 0; ; i++ {
		var b strings.Builder
		more := false
		for _, c := range cols {
			cell := ""
			if i < len(c) {
				cell, more = c[i], true
			}
			b.WriteString(fit(" "+cell, colW))
		}
		if !more {
			break
		}
		lines = append(lines, b.String())
	}
	join := []string{st.Bold.Render(" Join from outside") + st.Dim.Render(" (every user's password is "+sandbox.DefaultPassword+")")}
	addr := "ADDR"
	for _, in := range m.snap.Instances {
		join = append(join, fmt.Sprintf(" %s  web client %s  WebSocket %s", in.Name, in.WebURL, in.WSURL))
		if addr == "ADDR" {
			addr = in.Addr
		}
	}
	// Browsers keep cookies per host, so B is shown under another name.
	for _, l := range wrapText("In a browser: log in as user1…userN or "+sandbox.DefaultAdminName+
		" (Users → Ban). A and B have different host names because cookies are per host: one browser holds a login on each.", inner-1, 3) {
		join = append(join, " "+st.Dim.Render(l))
	}
	// Login returns the token in the cookie only: say how to take it out.
	for _, l := range joinFromOutside(addr, inner-1) {
		join = append(join, " "+st.Dim.Render(l))
	}
	switch {
	case len(lines)+1+len(join) <= h-2:
		lines = append(append(lines, ""), join...)
	case m.joinPage:
		return box(m.ctx, w, h, "Join from outside (any key closes)", true, join)
	default:
		// Too short for both: the join block is the second page.
		lines = append(lines, st.Bold.Render(" ? again: how to join from outside (browser, token, wscat)"))
	}
	return box(m.ctx, w, h, "All keys (any key closes)", true, lines)
}

// joinFromOutside is how to get a token and open a socket with it from
// a shell, wrapped to w cells: login returns the token in the cookie only,
// and "sandbox token" takes it out.
func joinFromOutside(addr string, w int) []string {
	var out []string
	out = append(out, wrapText(fmt.Sprintf("TOKEN=$(go run ./cmd/sandbox token http://%s user1)", addr), w, 2)...)
	out = append(out, wrapText(`wscat -c WSURL -H "Authorization: Bearer $TOKEN"`, w, 2)...)
	out = append(out, wrapText("(the token is the login's cookie \"token\"; sandbox token prints it)", w, 2)...)
	return out
}
