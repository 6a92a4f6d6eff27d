package tui

import (
	"github.com/charmbracelet/lipgloss"
)

// Styles are every style the panes use, built from one lipgloss renderer
// so tests can pin the colour profile.
type Styles struct {
	// Border and FocusBorder colour pane borders; Title and FocusTitle
	// their titles.
	Border, FocusBorder lipgloss.Style
	Title, FocusTitle   lipgloss.Style
	// Header is a column header line; Selected the cursor row.
	Header, Selected lipgloss.Style
	// Dim is secondary text, Bold emphasis.
	Dim, Bold lipgloss.Style
	// OK, Warn and Err colour good, degraded and failed states.
	OK, Warn, Err lipgloss.Style
	// Fault marks an active fault in the status bar.
	Fault lipgloss.Style
	// Hint is the newcomer's guidance line; Flash an action's result.
	Hint, Flash lipgloss.Style
	// Key and KeyDesc render help entries; HelpSep their separator.
	Key, KeyDesc, HelpSep lipgloss.Style
	// Prompt is the prompt bar's label.
	Prompt lipgloss.Style
	// Match highlights a log search match.
	Match lipgloss.Style
	// Levels colour log levels: debug, info, warn, error (and above).
	Debug, Info, WarnLevel, ErrorLevel lipgloss.Style
	// Instances colour instances by their position; the last one is used
	// for the sandbox's own lines.
	Instances []lipgloss.Style
	// States colour message states.
	Pending, Sent, Delivered, Failed lipgloss.Style
}

// NewStyles returns the default styles rendered by r (lipgloss's default
// renderer when nil).
func NewStyles(r *lipgloss.Renderer) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := r.NewStyle
	accent := lipgloss.AdaptiveColor{Light: "#5A3FD6", Dark: "#A78BFA"}
	dim := lipgloss.AdaptiveColor{Light: "#767676", Dark: "#8A8A8A"}
	green := lipgloss.AdaptiveColor{Light: "#1F7A1F", Dark: "#5FD75F"}
	yellow := lipgloss.AdaptiveColor{Light: "#8A6D00", Dark: "#FFD75F"}
	red := lipgloss.AdaptiveColor{Light: "#B00020", Dark: "#FF5F5F"}
	return Styles{
		Border:      s().Foreground(dim),
		FocusBorder: s().Foreground(accent).Bold(true),
		Title:       s().Foreground(dim),
		FocusTitle:  s().Foreground(accent).Bold(true),
		Header:      s().Foreground(dim).Underline(true),
		Selected:    s().Reverse(true),
		Dim:         s().Foreground(dim),
		Bold:        s().Bold(true),
		OK:          s().Foreground(green),
		Warn:        s().Foreground(yellow),
		Err:         s().Foreground(red).Bold(true),
		Fault:       s().Foreground(lipgloss.Color("#FFFFFF")).Background(lipgloss.Color("#C0392B")).Bold(true),
		Hint:        s().Foreground(accent),
		Flash:       s().Foreground(green),
		Key:         s().Foreground(accent).Bold(true),
		KeyDesc:     s().Foreground(dim),
		HelpSep:     s().Foreground(dim),
		Prompt:      s().Foreground(accent).Bold(true),
		Match:       s().Reverse(true).Bold(true),
		Debug:       s().Foreground(dim),
		Info:        s().Foreground(lipgloss.AdaptiveColor{Light: "#005F87", Dark: "#5FAFFF"}),
		WarnLevel:   s().Foreground(yellow).Bold(true),
		ErrorLevel:  s().Foreground(red).Bold(true),
		Instances: []lipgloss.Style{
			s().Foreground(lipgloss.AdaptiveColor{Light: "#00808A", Dark: "#5FD7D7"}).Bold(true),
			s().Foreground(lipgloss.AdaptiveColor{Light: "#A0168C", Dark: "#FF87D7"}).Bold(true),
			s().Foreground(lipgloss.AdaptiveColor{Light: "#6E5A00", Dark: "#D7AF5F"}).Bold(true),
			s().Foreground(lipgloss.AdaptiveColor{Light: "#2C5BA8", Dark: "#87AFFF"}).Bold(true),
			s().Foreground(dim),
		},
		Pending:   s().Foreground(dim),
		Sent:      s().Foreground(yellow),
		Delivered: s().Foreground(green),
		Failed:    s().Foreground(red).Bold(true),
	}
}
