package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
)

// msgRow is one line of the messages pane: a received (inbox) or sent
// (outbox) message.
type msgRow struct {
	at      time.Time
	out     bool
	peer    string
	state   string
	tags    []string
	content string
	detail  string
	socket  bool   // an ERROR frame or a close, not a message
	mid     string // the messageId, "" until known
}

// messagesPane shows the selected user's inbox and outbox merged in time
// order: direction, peer, state (PENDING, SENT, DELIVERED, FAILED for sends;
// RECEIVED or DELIVERED once acked for receipts), replayed and duplicate
// drops, and the content. When focused, a cursor picks a row whose ids are
// shown on the last line.
type messagesPane struct {
	ctx    *Context
	user   UserView
	rows   []msgRow
	cursor int
	offset int
	follow bool // the cursor sticks to the newest row
}

func newMessagesPane(ctx *Context) *messagesPane { return &messagesPane{ctx: ctx, follow: true} }

// SetUser replaces the user shown; switching users resets the cursor.
func (p *messagesPane) SetUser(u UserView) {
	if u.Name != p.user.Name {
		p.follow, p.offset = true, 0
	}
	p.user = u
	p.rows = messageRows(u)
	if p.follow || p.cursor >= len(p.rows) {
		p.cursor = max(0, len(p.rows)-1)
	}
}

// Keys are the pane's own bindings, for the help bar.
func (p *messagesPane) Keys() []key.Binding {
	k := p.ctx.Keys
	return []key.Binding{pair(k.Up, k.Down, "pick message"), short(k.Trace, "timeline"), k.Send, short(k.AckNow, "ack now"), short(k.AutoAck, "auto-ack"),
		pair(k.DropAcks, k.LoseAcks, "drop/lose acks")}
}

// Update moves the cursor.
func (p *messagesPane) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok || len(p.rows) == 0 {
		return nil
	}
	last := len(p.rows) - 1
	p.cursor, _ = p.ctx.Keys.moveCursor(km, p.cursor, last, 5)
	p.follow = p.cursor == last
	return nil
}

// SelectedID is the messageId of the row under the cursor ("" for none).
func (p *messagesPane) SelectedID() string {
	if p.cursor < 0 || p.cursor >= len(p.rows) {
		return ""
	}
	return p.rows[p.cursor].mid
}

// messageRows merges u's inbox and outbox by time.
func messageRows(u UserView) []msgRow {
	rows := make([]msgRow, 0, len(u.Inbox)+len(u.Outbox))
	for _, e := range u.Inbox {
		r := msgRow{at: e.ReceivedAt, peer: e.From, content: e.Content, state: "RECEIVED", mid: e.MessageID}
		if e.Acked {
			r.state = "DELIVERED"
		}
		if e.Replayed {
			r.tags = append(r.tags, "replayed")
		}
		if e.Duplicates > 0 {
			r.tags = append(r.tags, fmt.Sprintf("dup dropped ×%d", e.Duplicates))
		}
		r.detail = fmt.Sprintf("received messageId %s from %s at %s", e.MessageID, e.From, e.At.Format("15:04:05.000"))
		rows = append(rows, r)
	}
	for _, e := range u.Outbox {
		r := msgRow{at: e.FirstSent, out: true, peer: e.To, content: e.Content, state: e.State, mid: e.MessageID}
		if e.Attempts > 1 {
			r.tags = append(r.tags, fmt.Sprintf("%d tries", e.Attempts))
		}
		if len(e.Errors) > 0 {
			r.tags = append(r.tags, strings.Join(e.Errors, ","))
		}
		mid := e.MessageID
		if mid == "" {
			mid = "(none yet)"
		}
		r.detail = fmt.Sprintf("sent cmid %s, messageId %s, %d attempt(s)", e.ClientMessageID, mid, e.Attempts)
		rows = append(rows, r)
	}
	for _, e := range u.Socket {
		rows = append(rows, socketRow(e))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	return rows
}

// socketRow is an ERROR frame or a close as a row, so "ERROR BANNED, then
// close 4003" reads in order with the messages around it.
func socketRow(e sandbox.SocketEvent) msgRow {
	r := msgRow{at: e.At, socket: true}
	switch {
	case e.Code != "":
		r.state = "ERROR " + e.Code
		r.content = e.Message
		r.detail = fmt.Sprintf("ERROR frame on %s", e.Instance)
		if e.ClientMessageID != "" {
			r.detail += " about cmid " + e.ClientMessageID
		}
	case e.ByClient:
		r.state = fmt.Sprintf("closed %d", e.CloseCode)
		r.content = "by this client"
		r.detail = "socket to " + e.Instance + " closed by this client"
	default:
		r.state = fmt.Sprintf("closed %d", e.CloseCode)
		r.content = "by the server"
		r.detail = fmt.Sprintf("socket to %s closed by the server with %d", e.Instance, e.CloseCode)
	}
	return r
}

// View renders the pane as a w x h box.
func (p *messagesPane) View(w, h int, focused bool) string {
	st := p.ctx.Styles
	inner := w - 2
	u := p.user
	title := "Messages"
	if u.Name != "" {
		where := "offline"
		if u.Connected {
			where = "on " + u.Instance
		}
		title = fmt.Sprintf("%s %s · in %d · out %d", u.Name, where, len(u.Inbox), len(u.Outbox))
		if u.Toggles != "" {
			title += " · " + u.Toggles
		}
	}
	rows := max(1, h-2)
	showDetail := focused && len(p.rows) > 0 && rows > 2
	if showDetail {
		rows--
	}
	var lines []string
	if len(p.rows) == 0 {
		hint := "no messages yet: press s to send a DM"
		if u.Name == "" {
			hint = "select a user"
		}
		lines = append(lines, st.Dim.Render(" "+hint))
	}
	p.offset = scrollWindow(p.offset, p.cursor, len(p.rows), rows)
	for i := p.offset; i < len(p.rows) && i < p.offset+rows; i++ {
		line := p.rowView(p.rows[i])
		if focused && i == p.cursor {
			line = st.Selected.Render(fit("▸"+stripStyles(line)[1:], inner))
		}
		lines = append(lines, line)
	}
	if showDetail {
		for len(lines) < rows {
			lines = append(lines, "")
		}
		lines = append(lines, st.Dim.Render(" "+p.rows[p.cursor].detail))
	}
	return box(p.ctx, w, h, title, focused, lines)
}

// rowView is one row: time, direction and peer, state, tags, content.
func (p *messagesPane) rowView(r msgRow) string {
	st := p.ctx.Styles
	if r.socket {
		s := " " + st.Dim.Render(r.at.Format("15:04:05")) + " ! " + st.Err.Render(r.state)
		if r.content != "" {
			s += " " + st.Dim.Render(r.content)
		}
		return s
	}
	dir := "← from "
	if r.out {
		dir = "→ to "
	}
	state := fmt.Sprintf("%-9s", r.state)
	switch r.state {
	case sandbox.OutPending, "RECEIVED":
		state = st.Pending.Render(state)
	case sandbox.OutSent:
		state = st.Sent.Render(state)
	case sandbox.OutDelivered:
		state = st.Delivered.Render(state)
	case sandbox.OutFailed:
		state = st.Failed.Render(state)
	}
	s := " " + st.Dim.Render(r.at.Format("15:04:05")) + " " + dir + r.peer + " " + state + " "
	if len(r.tags) > 0 {
		s += st.Warn.Render("["+strings.Join(r.tags, ", ")+"]") + " "
	}
	return s + fmt.Sprintf("%q", r.content)
}
