package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
)

// The users pane's actions: the keys that act on the selected user, and
// their prompts.

// userKey handles the user actions; ok is false for other keys.
func (m *Model) userKey(km tea.KeyMsg) (tea.Cmd, bool) {
	k := m.ctx.Keys
	u := m.users.Selected()
	isUserKey := key.Matches(km, k.Send, k.Burst, k.ConnectA, k.ConnectB, k.Disconnect, k.Reconnect, k.AutoAck,
		k.AckNow, k.DropAcks, k.LoseAcks, k.Ban)
	if key.Matches(km, k.NewUser) {
		return m.openNewUserPrompt(), true
	}
	if !isUserKey {
		return nil, false
	}
	if m.c == nil || u.Name == "" {
		return nil, true
	}
	names := m.c.InstanceNames()
	switch {
	case key.Matches(km, k.Send):
		return m.openSendPrompt(u), true
	case key.Matches(km, k.Burst):
		return m.prompt.Open(promptSpec{
			Label: fmt.Sprintf("Burst from %s: how many random DMs?", u.Name), Text: true, Placeholder: "20",
			Submit: func(text, _ string) (string, tea.Cmd) {
				if text == "" {
					text = "20"
				}
				n, bad := parseCount(text, 10000)
				if bad != "" || n == 0 {
					return "a number from 1 to 10000", nil
				}
				return "", m.burstCmd(u.Name, n)
			},
		}), true
	case key.Matches(km, k.ConnectA):
		return m.connectCmd(u.Name, names[0]), true
	case key.Matches(km, k.ConnectB):
		if len(names) < 2 {
			return m.fail(fmt.Errorf("only one instance")), true
		}
		return m.connectCmd(u.Name, names[1]), true
	case key.Matches(km, k.Disconnect):
		return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
			if !su.Connected() {
				return su.Name() + " is not connected", nil
			}
			su.Disconnect()
			return su.Name() + " disconnected (close 1000)", nil
		}), true
	case key.Matches(km, k.Reconnect):
		return m.userCmd(u.Name, func(ctx context.Context, su *sandbox.SimUser) (string, error) {
			if err := su.Reconnect(ctx); err != nil {
				return "", err
			}
			return waitReady(ctx, su, su.Name()+" reconnected to "+su.Instance())
		}), true
	case key.Matches(km, k.AutoAck):
		return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
			su.SetAutoAck(!su.AutoAck())
			if su.AutoAck() {
				return su.Name() + ": auto-ack on", nil
			}
			return su.Name() + ": auto-ack off: deliveries wait for o (ack pending now)", nil
		}), true
	case key.Matches(km, k.AckNow):
		return m.userCmd(u.Name, func(ctx context.Context, su *sandbox.SimUser) (string, error) {
			if err := su.AckPending(ctx); err != nil {
				return "", err
			}
			return su.Name() + ": pending deliveries acked", nil
		}), true
	case key.Matches(km, k.DropAcks):
		return m.openCountPrompt(fmt.Sprintf("%s drops its next N DELIVERY_ACKs, N =", u.Name), func(n int) tea.Cmd {
			return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
				su.DropDeliveryAcks(n)
				return fmt.Sprintf("%s will drop its next %d delivery acks (the server replays those messages)", su.Name(), n), nil
			})
		}), true
	case key.Matches(km, k.LoseAcks):
		return m.openCountPrompt(fmt.Sprintf("%s loses its next N MESSAGE_ACKs, N =", u.Name), func(n int) tea.Cmd {
			return m.userCmd(u.Name, func(_ context.Context, su *sandbox.SimUser) (string, error) {
				su.LoseMessageAcks(n)
				return fmt.Sprintf("%s will lose its next %d MESSAGE_ACKs (and retry with the same clientMessageId)", su.Name(), n), nil
			})
		}), true
	case key.Matches(km, k.Ban):
		return m.openBanPrompt(u), true
	}
	return nil, true
}

// openSendPrompt asks for a DM's recipient and text. A disconnected
// sender is refused before anything is typed. The default recipient does
// not move with who is online: the sender's last recipient, else the first
// other non-admin user, one whose instance differs first (a DM across
// instances).
func (m *Model) openSendPrompt(from UserView) tea.Cmd {
	var choices []choice
	live := m.liveUsers()
	for _, u := range live {
		if u.Name == from.Name {
			from = u
		}
	}
	if !from.Connected {
		return m.fail(fmt.Errorf("%s is not connected: press a or b to connect it first", from.Name))
	}
	pick, cross, local := -1, -1, -1
	for _, u := range live {
		if u.Name == from.Name {
			continue
		}
		where := "offline"
		if u.Connected {
			where = "on " + u.Instance
		}
		choices = append(choices, choice{Value: u.Name, Label: u.Name + " (" + where + ")"})
		i := len(choices) - 1
		switch {
		case u.Name == m.lastTo[from.Name]:
			pick = i
		case u.Admin || !u.Simulated:
		case cross < 0 && u.Instance != "" && u.Instance != from.Instance:
			cross = i
		case local < 0:
			local = i
		}
	}
	if len(choices) == 0 {
		return m.fail(fmt.Errorf("no one to send to: press u to create a user"))
	}
	for _, i := range []int{cross, local, 0} {
		if pick < 0 {
			pick = i
		}
	}
	label := fmt.Sprintf("DM from %s →", from.Name)
	return m.prompt.Open(promptSpec{
		Label: label, Choices: choices, Pick: pick, Text: true, TextLabel: "message:",
		Placeholder: "type a message, enter sends",
		Submit: func(text, to string) (string, tea.Cmd) {
			if text == "" {
				return "type a message first", nil
			}
			if m.lastTo == nil {
				m.lastTo = map[string]string{}
			}
			m.lastTo[from.Name] = to
			return "", m.sendCmd(from.Name, to, text)
		},
	})
}

// liveUsers are the snapshot's users with their connection state read
// from the cluster now: the snapshot may be a moment old (a connect that
// just finished), and a prompt's default choice depends on it.
func (m *Model) liveUsers() []UserView {
	users := append([]UserView(nil), m.snap.Users...)
	if m.c == nil {
		return users
	}
	for i, u := range users {
		if su := m.c.User(u.Name); su != nil {
			users[i].Connected, users[i].Instance = su.Connected(), su.Instance()
		}
	}
	return users
}

// openBanPrompt asks through which instance the admin bans (or unbans).
func (m *Model) openBanPrompt(u UserView) tea.Cmd {
	verb := "Ban"
	if u.Banned {
		verb = "Unban"
	}
	var choices []choice
	for _, n := range m.c.InstanceNames() {
		choices = append(choices, choice{Value: n, Label: n})
	}
	return m.prompt.Open(promptSpec{
		Label: fmt.Sprintf("%s %s through instance:", verb, u.Name), Choices: choices,
		Submit: func(_, inst string) (string, tea.Cmd) { return "", m.banCmd(u.Name, inst, !u.Banned) },
	})
}

// openNewUserPrompt asks for a new user's name and role.
func (m *Model) openNewUserPrompt() tea.Cmd {
	if m.c == nil {
		return nil
	}
	return m.prompt.Open(promptSpec{
		Label: "New", Choices: []choice{{"user", "user"}, {"admin", "admin"}}, Text: true, TextLabel: "name:",
		Placeholder: "3 to 32 letters, digits, _ or -",
		Submit: func(text, role string) (string, tea.Cmd) {
			if text == "" || strings.ContainsAny(text, " \t") {
				return "a name without blanks", nil
			}
			return "", m.newUserCmd(text, role == "admin")
		},
	})
}

// openCountPrompt asks for a count and runs do with it.
func (m *Model) openCountPrompt(label string, do func(n int) tea.Cmd) tea.Cmd {
	return m.prompt.Open(promptSpec{Label: label, Text: true, Placeholder: "1 (0 cancels)",
		Submit: func(text, _ string) (string, tea.Cmd) {
			if text == "" {
				text = "1"
			}
			n, bad := parseCount(text, 1000)
			if bad != "" {
				return bad, nil
			}
			return "", do(n)
		}})
}
