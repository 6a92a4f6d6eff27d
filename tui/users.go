package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/chat"
)

// usersPane lists every user: name, the simulated user's own socket
// (instance and open or not), where the admin list sees them online, and
// flags (admin, BANNED, toggles, last close code). Its cursor picks the user
// the user actions apply to.
type usersPane struct {
	ctx    *Context
	users  []UserView
	cursor int
	offset int
}

func newUsersPane(ctx *Context) *usersPane { return &usersPane{ctx: ctx} }

// SetUsers replaces the list, keeping the cursor on the same user.
func (p *usersPane) SetUsers(users []UserView) {
	sel := p.Selected()
	p.users = users
	p.cursor = 0
	for i, u := range users {
		if u.Name == sel.Name {
			p.cursor = i
		}
	}
}

// Selected returns the user under the cursor (zero when the list is
// empty).
func (p *usersPane) Selected() UserView {
	if p.cursor < 0 || p.cursor >= len(p.users) {
		return UserView{}
	}
	return p.users[p.cursor]
}

// Select moves the cursor to the user called name, if listed.
func (p *usersPane) Select(name string) {
	for i, u := range p.users {
		if u.Name == name {
			p.cursor = i
		}
	}
}

// Keys are the pane's own bindings, for the help bar.
func (p *usersPane) Keys() []key.Binding {
	k := p.ctx.Keys
	return []key.Binding{k.Send, pair(k.ConnectA, k.ConnectB, "connect A/B"), short(k.Ban, "ban"), short(k.Burst, "burst"),
		k.Disconnect, k.Reconnect, short(k.AutoAck, "auto-ack"), pair(k.DropAcks, k.LoseAcks, "drop/lose acks"), k.NewUser}
}

// Update moves the cursor.
func (p *usersPane) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := p.ctx.Keys
	switch {
	case key.Matches(km, k.Up):
		p.cursor = max(0, p.cursor-1)
	case key.Matches(km, k.Down):
		p.cursor = min(len(p.users)-1, p.cursor+1)
	case key.Matches(km, k.Top):
		p.cursor = 0
	case key.Matches(km, k.Bottom):
		p.cursor = len(p.users) - 1
	}
	p.cursor = max(0, p.cursor)
	return nil
}

// View renders the pane as a w x h box.
func (p *usersPane) View(w, h int, focused bool) string {
	st := p.ctx.Styles
	inner := w - 2
	nameW := 6
	for _, u := range p.users {
		nameW = max(nameW, min(width(u.Name), 12))
	}
	// Narrow, the admin view's ONLINE column goes (SOCK mostly says the
	// same) so the flags, the close code included, fit.
	wide := inner >= 40
	row := func(cur, name, conn, online, flags string) string {
		if !wide {
			return cur + fit(name, nameW) + " " + fit(conn, 4) + " " + flags
		}
		return cur + fit(name, nameW) + " " + fit(conn, 4) + " " + fit(online, 6) + " " + flags
	}
	lines := []string{st.Header.Render(fit(row("  ", "NAME", "SOCK", "ONLINE", "FLAGS"), inner))}
	rows := max(1, h-3)
	p.offset = scrollWindow(p.offset, p.cursor, len(p.users), rows)
	for i := p.offset; i < len(p.users) && i < p.offset+rows; i++ {
		u := p.users[i]
		cur := "  "
		if i == p.cursor {
			cur = "▸ "
		}
		conn := "-"
		switch {
		case !u.Simulated:
			conn = "-"
		case u.Connected:
			conn = u.Instance + " ●"
		case u.Instance != "":
			conn = u.Instance + " ○"
		}
		online := "-"
		if len(u.OnlineOn) > 0 {
			online = strings.Join(u.OnlineOn, ",")
		}
		line := row(cur, u.Name, conn, online, userFlags(u))
		switch {
		case i == p.cursor && focused:
			line = st.Selected.Render(fit(line, inner))
		case i == p.cursor:
			line = st.Bold.Render(line)
		case u.Banned:
			line = st.Err.Render(line)
		case !u.Connected:
			line = st.Dim.Render(line)
		}
		lines = append(lines, line)
	}
	if len(p.users) == 0 {
		lines = append(lines, st.Dim.Render("  no users yet: press u"))
	}
	return box(p.ctx, w, h, fmt.Sprintf("Users (%d)", len(p.users)), focused, lines)
}

// shortToggles words a user's toggles (SimUser.Toggles) briefly, e.g.
// "auto-ack off, drops next 2 acks" as "no-ack, drop 2"; the messages
// pane's title shows them in full.
func shortToggles(s string) string {
	parts := strings.Split(s, ", ")
	for i, p := range parts {
		var n int
		switch {
		case p == "auto-ack off":
			parts[i] = "no-ack"
		case scan(p, "drops next %d acks", &n):
			parts[i] = fmt.Sprintf("drop %d", n)
		case scan(p, "loses next %d MESSAGE_ACKs", &n):
			parts[i] = fmt.Sprintf("lose %d", n)
		}
	}
	return strings.Join(parts, ", ")
}

// scan reports whether s is format with one integer filled in.
func scan(s, format string, n *int) bool {
	k, err := fmt.Sscanf(s, format, n)
	return err == nil && k == 1 && fmt.Sprintf(format, *n) == s
}

// userFlags are a user's flags in short words. "banned" is the store's
// state; "ERROR BANNED→4003" is what the user's socket received: an ERROR
// frame, then the close that ended the connection.
func userFlags(u UserView) string {
	var f []string
	sock := socketFlag(u)
	if sock != "" {
		f = append(f, sock) // first: the narrow layout keeps it
	}
	if u.Banned && !strings.HasPrefix(sock, "ERROR "+chat.CodeBanned) {
		f = append(f, "banned")
	}
	if u.Admin {
		f = append(f, "admin")
	}
	if !u.Simulated {
		f = append(f, "store only")
	}
	if u.Toggles != "" {
		f = append(f, shortToggles(u.Toggles))
	}
	return strings.Join(f, ", ")
}

// socketFlag words what the last connection received last: "ERROR CODE",
// "closed CODE", or both as "ERROR CODE→CLOSE". Errors about one send
// (with a clientMessageId) are the messages pane's.
func socketFlag(u UserView) string {
	if !u.Simulated {
		return ""
	}
	evs, closed := u.Socket, 0
	if !u.Connected {
		closed = u.LastClose
		if n := len(evs); n > 0 && evs[n-1].Code == "" {
			closed, evs = evs[n-1].CloseCode, evs[:n-1]
		}
	}
	errCode := ""
	for i := len(evs) - 1; i >= 0 && evs[i].Code != ""; i-- { // this connection's errors
		if evs[i].ClientMessageID == "" {
			errCode = evs[i].Code
			break
		}
	}
	switch {
	case errCode != "" && closed != 0:
		return fmt.Sprintf("ERROR %s→%d", errCode, closed)
	case errCode != "":
		return "ERROR " + errCode
	case closed != 0:
		return fmt.Sprintf("closed %d", closed)
	}
	return ""
}
