package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap is every key binding of the program, in one place. The help bar
// shows the focused pane's bindings and the global ones (ShortHelp); the
// full map (?) shows FullHelp.
type KeyMap struct {
	// Global bindings work in every pane.
	NextPane, PrevPane, Help, Quit key.Binding
	Redis, InstanceA, InstanceB    key.Binding
	BusFault                       key.Binding

	// Navigation in lists.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	// User actions apply to the selected user (users and messages panes).
	Send, Burst           key.Binding
	ConnectA, ConnectB    key.Binding
	Disconnect, Reconnect key.Binding
	AutoAck, AckNow       key.Binding
	DropAcks, LoseAcks    key.Binding
	Ban, NewUser, Trace   key.Binding

	// Log pane bindings.
	Pause, Search, NextMatch, PrevMatch key.Binding
	FilterInstance, FilterLevel         key.Binding
	FilterLogger, FilterEvent           key.Binding
	ClearFilters, Details               key.Binding

	// Scenario bindings: OpenScenario is global, the others work in the
	// scenario pane.
	OpenScenario, ScenarioRun, ScenarioStep key.Binding

	// Prompt bindings.
	Submit, Cancel, PickNext, PickPrev key.Binding
}

// DefaultKeyMap returns the program's bindings.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		NextPane:  b([]string{"tab"}, "tab", "next pane"),
		PrevPane:  b([]string{"shift+tab"}, "S-tab", "prev pane"),
		Help:      b([]string{"?"}, "?", "all keys"),
		Quit:      b([]string{"q", "ctrl+c"}, "q", "quit"),
		Redis:     b([]string{"R"}, "R", "stop/start Redis"),
		InstanceA: b([]string{"A"}, "A", "stop/start instance A"),
		InstanceB: b([]string{"B"}, "B", "stop/start instance B"),
		BusFault:  b([]string{"F"}, "F", "bus latency/drop"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g", "top"),
		Bottom:   b([]string{"end", "G"}, "G", "bottom/follow"),

		Send:       b([]string{"s"}, "s", "send DM"),
		Burst:      b([]string{"n"}, "n", "burst of N DMs"),
		ConnectA:   b([]string{"a"}, "a", "connect/move to A"),
		ConnectB:   b([]string{"b"}, "b", "connect/move to B"),
		Disconnect: b([]string{"d"}, "d", "disconnect"),
		Reconnect:  b([]string{"r"}, "r", "reconnect"),
		AutoAck:    b([]string{"t"}, "t", "auto-ack on/off"),
		AckNow:     b([]string{"o"}, "o", "ack pending now"),
		DropAcks:   b([]string{"D"}, "D", "drop N delivery acks"),
		LoseAcks:   b([]string{"L"}, "L", "lose N MESSAGE_ACKs"),
		Ban:        b([]string{"x"}, "x", "ban/unban (admin)"),
		NewUser:    b([]string{"u"}, "u", "new user"),
		Trace:      b([]string{"T"}, "T", "message timeline"),

		Pause:          b([]string{" "}, "space", "pause/resume"),
		Search:         b([]string{"/"}, "/", "search"),
		NextMatch:      b([]string{"n"}, "n/N", "next/prev match"),
		PrevMatch:      b([]string{"N"}, "N", "previous match"),
		FilterInstance: b([]string{"i"}, "i", "instance filter"),
		FilterLevel:    b([]string{"v"}, "v", "level filter"),
		FilterLogger:   b([]string{"l"}, "l", "logger filter"),
		FilterEvent:    b([]string{"e"}, "e", "event filter"),
		ClearFilters:   b([]string{"c"}, "c", "clear filters"),
		Details:        b([]string{"enter"}, "enter", "fields of line"),

		OpenScenario: b([]string{"O"}, "O", "open a scenario file"),
		ScenarioRun:  b([]string{"p"}, "p", "run/pause/continue"),
		ScenarioStep: b([]string{"."}, ".", "one step"),

		Submit:   b([]string{"enter"}, "enter", "ok"),
		Cancel:   b([]string{"esc"}, "esc", "cancel"),
		PickNext: b([]string{"down", "ctrl+n"}, "↑/↓", "change choice"),
		PickPrev: b([]string{"up", "ctrl+p"}, "↑", "previous choice"),
	}
}

// pair is one help entry for two bindings, e.g. "a/b connect to A/B".
func pair(a, b key.Binding, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(append(a.Keys(), b.Keys()...)...),
		key.WithHelp(a.Help().Key+"/"+b.Help().Key, desc))
}

// short is b with a shorter description, for the help bar.
func short(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// ShortHelp is the global part of the help bar.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{short(k.NextPane, "pane"), short(k.Redis, "Redis"), pair(k.InstanceA, k.InstanceB, "stop A/B"), short(k.Help, "keys"), k.Quit}
}

// FullHelp is every binding, grouped as the full key map shows them:
// global and faults, users, logs, scenario.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Help, k.Quit, k.Redis, k.InstanceA, k.InstanceB, k.BusFault},
		{k.Up, k.Down, k.Send, k.Burst, k.ConnectA, k.ConnectB, k.Disconnect, k.Reconnect, k.AutoAck, k.AckNow,
			k.DropAcks, k.LoseAcks, k.Ban, k.NewUser, k.Trace},
		{k.Pause, k.Search, k.NextMatch, k.FilterInstance, k.FilterLevel, k.FilterLogger, k.FilterEvent,
			k.ClearFilters, k.Details, k.Bottom},
		{k.OpenScenario, k.ScenarioRun, k.ScenarioStep},
	}
}

// FullHelpTitles name FullHelp's groups, in order.
func (k KeyMap) FullHelpTitles() []string {
	return []string{"Global and faults", "Users (users, messages panes)", "Logs pane", "Scenario pane"}
}

// moveCursor applies a cursor key (up, down, page up/down by page, top,
// bottom) to cursor over the rows 0..last. moved is false for any other key.
func (k KeyMap) moveCursor(km tea.KeyMsg, cursor, last, page int) (_ int, moved bool) {
	switch {
	case key.Matches(km, k.Up):
		cursor--
	case key.Matches(km, k.Down):
		cursor++
	case key.Matches(km, k.PageUp):
		cursor -= page
	case key.Matches(km, k.PageDown):
		cursor += page
	case key.Matches(km, k.Top):
		cursor = 0
	case key.Matches(km, k.Bottom):
		cursor = last
	default:
		return max(0, min(last, cursor)), false
	}
	return max(0, min(last, cursor)), true
}
