package tui

import (
	"slices"

	"github.com/charmbracelet/lipgloss"
)

// Context is what every component shares: the terminal size, the styles,
// the key map and the instance names (for colours). The root model owns it
// and components hold a pointer; it is only touched on the program's
// goroutine.
type Context struct {
	// Width and Height are the terminal's size.
	Width, Height int
	// Styles are the styles in use.
	Styles Styles
	// Keys is the one key map of the program.
	Keys KeyMap
	// Instances are the cluster's instance names, in order.
	Instances []string
	// UserNames maps user ids to names, so log lines can name users.
	UserNames map[string]string
}

// InstanceStyle returns the colour of instance name: by its position in
// Instances, the last palette entry for anything else ("sandbox").
func (c *Context) InstanceStyle(name string) lipgloss.Style {
	pal := c.Styles.Instances
	if i := slices.Index(c.Instances, name); i >= 0 && i < len(pal)-1 {
		return pal[i]
	}
	return pal[len(pal)-1]
}
