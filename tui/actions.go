package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dmchat/dmchat/core/sandbox"
)

// actionTimeout bounds one action on the cluster (a burst excepted).
const actionTimeout = 15 * time.Second

// readyTimeout bounds the wait for REPLAY_DONE after a connect.
const readyTimeout = 5 * time.Second

// milestone marks a step of the newcomer's tour, for the hint line.
type milestone int

const (
	noMilestone milestone = iota
	sentDM
	bannedUser
	stoppedRedis
)

// actionMsg reports an action's result.
type actionMsg struct {
	text string
	err  error
	mark milestone
}

// action runs fn in a command with a bounded context and reports its
// result; it does nothing once the program is quitting.
func (m *Model) action(timeout time.Duration, mark milestone, fn func(ctx context.Context) (string, error)) tea.Cmd {
	if m.c == nil || m.quitting {
		return nil
	}
	base, acts := m.runCtx, m.acts
	return func() tea.Msg {
		if !acts.begin() {
			return nil
		}
		defer acts.end()
		ctx, cancel := base, context.CancelFunc(func() {})
		if timeout > 0 {
			ctx, cancel = context.WithTimeout(base, timeout)
		}
		defer cancel()
		text, err := fn(ctx)
		if err != nil {
			mark = noMilestone
		}
		return actionMsg{text: text, err: err, mark: mark}
	}
}

// simUser returns the cluster's simulated user called name.
func (m *Model) simUser(name string) (*sandbox.SimUser, error) {
	u := m.c.User(name)
	if u == nil {
		return nil, fmt.Errorf("%s is not a simulated user (it exists only in the store)", name)
	}
	return u, nil
}

// connectCmd connects u to instance (moving it when it is connected
// elsewhere) and waits for the replay to end.
func (m *Model) connectCmd(name, instance string) tea.Cmd {
	u, err := m.simUser(name)
	if err != nil {
		return m.fail(err)
	}
	return m.action(actionTimeout, noMilestone, func(ctx context.Context) (string, error) {
		verb := "connected"
		switch {
		case u.Connected() && u.Instance() == instance:
			return fmt.Sprintf("%s is already on %s", name, instance), nil
		case u.Connected():
			verb = "moved"
			if err := u.Move(ctx, instance); err != nil {
				return "", err
			}
		default:
			if err := u.Connect(ctx, instance); err != nil {
				return "", err
			}
		}
		return waitReady(ctx, u, fmt.Sprintf("%s %s to %s", name, verb, instance))
	})
}

// waitReady waits for u's REPLAY_DONE and words the outcome.
func waitReady(ctx context.Context, u *sandbox.SimUser, done string) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := u.WaitReady(rctx); err != nil {
		if code, ok := u.LastClose(); ok {
			return "", fmt.Errorf("%s: connection closed with %d (%w)", u.Name(), code, err)
		}
		return "", fmt.Errorf("%s: no REPLAY_DONE: %w", u.Name(), err)
	}
	return done + " (replay done)", nil
}

// autoConnectCmd connects every simulated non-admin user, alternating
// between the instances: user1 to A, user2 to B, ...
func (m *Model) autoConnectCmd() tea.Cmd {
	c := m.c
	return m.action(actionTimeout, noMilestone, func(ctx context.Context) (string, error) {
		names := c.InstanceNames()
		var done []string
		var errs []error
		i := 0
		for _, u := range c.Users() {
			if u.IsAdmin() || u.Connected() {
				continue
			}
			inst := names[i%len(names)]
			i++
			if err := u.Connect(ctx, inst); err != nil {
				errs = append(errs, err)
				continue
			}
			if _, err := waitReady(ctx, u, ""); err != nil {
				errs = append(errs, err)
				continue
			}
			done = append(done, u.Name()+"→"+inst)
		}
		if len(done) == 0 && len(errs) == 0 {
			return "", nil
		}
		return "connected " + strings.Join(done, ", "), errors.Join(errs...)
	})
}

// sendCmd sends one DM.
func (m *Model) sendCmd(from, to, text string) tea.Cmd {
	u, err := m.simUser(from)
	if err != nil {
		return m.fail(err)
	}
	return m.action(actionTimeout, sentDM, func(ctx context.Context) (string, error) {
		cmid, err := u.Send(ctx, to, text)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s → %s: sent %q (clientMessageId %s)", from, to, text, cmid), nil
	})
}

// burstCmd sends n random DMs.
func (m *Model) burstCmd(from string, n int) tea.Cmd {
	u, err := m.simUser(from)
	if err != nil {
		return m.fail(err)
	}
	m.setFlash(fmt.Sprintf("%s: sending a burst of %d DMs…", from, n), false)
	return m.action(0, sentDM, func(ctx context.Context) (string, error) {
		if err := u.Burst(ctx, n, nil); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: burst of %d DMs written", from, n), nil
	})
}

// userCmd runs a quick action on a simulated user.
func (m *Model) userCmd(name string, fn func(ctx context.Context, u *sandbox.SimUser) (string, error)) tea.Cmd {
	u, err := m.simUser(name)
	if err != nil {
		return m.fail(err)
	}
	return m.action(actionTimeout, noMilestone, func(ctx context.Context) (string, error) { return fn(ctx, u) })
}

// banCmd bans or unbans target through instance, as the first admin.
func (m *Model) banCmd(target, instance string, ban bool) tea.Cmd {
	var admin *sandbox.SimUser
	for _, u := range m.c.Users() {
		if u.IsAdmin() {
			admin = u
			break
		}
	}
	if admin == nil {
		return m.fail(errors.New("no admin user: press u to create one"))
	}
	mark := bannedUser
	verb := "banned"
	if !ban {
		mark, verb = noMilestone, "unbanned"
	}
	return m.action(actionTimeout, mark, func(ctx context.Context) (string, error) {
		var err error
		if ban {
			err = admin.Ban(ctx, instance, target)
		} else {
			err = admin.Unban(ctx, instance, target)
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %s %s through %s", admin.Name(), verb, target, instance), nil
	})
}

// redisCmd stops Redis when it is up, starts it otherwise.
func (m *Model) redisCmd() tea.Cmd {
	c := m.c
	if c == nil {
		return nil
	}
	if c.RedisUp() {
		return m.action(actionTimeout, stoppedRedis, func(context.Context) (string, error) {
			c.StopRedis()
			return "Redis stopped: the instances log bus_lost and keep serving local DMs", nil
		})
	}
	return m.action(actionTimeout, noMilestone, func(context.Context) (string, error) {
		if err := c.StartRedis(); err != nil {
			return "", err
		}
		return "Redis started: the instances reconnect (bus_restored) and catch up", nil
	})
}

// instanceCmd stops the i-th instance when running, starts it otherwise.
func (m *Model) instanceCmd(i int) tea.Cmd {
	c := m.c
	if c == nil {
		return nil
	}
	names := c.InstanceNames()
	if i >= len(names) {
		return m.fail(fmt.Errorf("no instance #%d", i+1))
	}
	name := names[i]
	inst := c.Instance(name)
	if inst.Running() {
		m.setFlash("stopping "+name+"…", false)
		return m.action(actionTimeout, noMilestone, func(ctx context.Context) (string, error) {
			if err := c.StopInstance(ctx, name); err != nil {
				return "", err
			}
			return name + " stopped: its users were disconnected (1001)", nil
		})
	}
	return m.action(actionTimeout, noMilestone, func(ctx context.Context) (string, error) {
		if err := c.StartInstance(ctx, name); err != nil {
			return "", err
		}
		return name + " started again on " + inst.Addr() + " (reconnect its users with a/b or r)", nil
	})
}

// busCmd applies a bus fault.
func (m *Model) busCmd(f sandbox.BusFault) tea.Cmd {
	c := m.c
	return m.action(actionTimeout, noMilestone, func(context.Context) (string, error) {
		c.SetBusFault(f)
		switch s := f.String(); {
		case f.DropRate > 0:
			// Real Redis loses nothing without a disconnect, which the
			// instances catch up after; a silent drop is healed only by
			// the recipient's next connect.
			return "bus fault on: " + s + " (a dropped message reaches its recipient on reconnect: r)", nil
		case s != "":
			return "bus fault on: " + s, nil
		}
		return "bus healthy again", nil
	})
}

// newUserCmd creates a simulated user.
func (m *Model) newUserCmd(name string, admin bool) tea.Cmd {
	c := m.c
	return m.action(actionTimeout, noMilestone, func(ctx context.Context) (string, error) {
		if _, err := c.CreateUser(ctx, name, admin); err != nil {
			return "", err
		}
		role := "user"
		if admin {
			role = "admin"
		}
		return fmt.Sprintf("created %s %s (password %s); connect it with a or b", role, name, sandbox.DefaultPassword), nil
	})
}

// fail reports err at once.
func (m *Model) fail(err error) tea.Cmd {
	return func() tea.Msg { return actionMsg{err: err} }
}

// parseCount reads a positive count.
func parseCount(s string, limit int) (int, string) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > limit {
		return 0, fmt.Sprintf("a number from 0 to %d", limit)
	}
	return n, ""
}

// parseBusFault reads "LATENCY DROP%", e.g. "50ms 10", "0 0" or "".
func parseBusFault(s string) (sandbox.BusFault, string) {
	const want = `"LATENCY DROP%", e.g. "50ms 10" (empty: healthy)`
	var f sandbox.BusFault
	fields := strings.Fields(s)
	if len(fields) > 2 {
		return f, want
	}
	if len(fields) >= 1 {
		l := fields[0]
		if _, err := strconv.Atoi(l); err == nil {
			l += "ms"
		}
		d, err := time.ParseDuration(l)
		if err != nil || d < 0 {
			return f, want
		}
		f.Latency = d
	}
	if len(fields) == 2 {
		p, err := strconv.ParseFloat(strings.TrimSuffix(fields[1], "%"), 64)
		if err != nil || p < 0 || p > 100 {
			return f, want
		}
		f.DropRate = p / 100
	}
	return f, ""
}
