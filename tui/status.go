package tui

import (
	"fmt"
	"strings"
)

// statusBar is the top bar: one line per instance (address, listening,
// bus state, sockets, messages stored and delivered), then Redis and every
// fault on now, in the warning colour.
type statusBar struct {
	ctx  *Context
	snap Snapshot
}

func newStatusBar(ctx *Context) *statusBar { return &statusBar{ctx: ctx} }

// SetSnapshot replaces the data shown.
func (s *statusBar) SetSnapshot(snap Snapshot) { s.snap = snap }

// Height is the number of lines View returns.
func (s *statusBar) Height() int { return len(s.snap.Instances) + 1 }

// View renders the bar at width w.
func (s *statusBar) View(w int) string {
	st := s.ctx.Styles
	lines := make([]string, 0, s.Height())
	for _, in := range s.snap.Instances {
		name := s.ctx.InstanceStyle(in.Name).Render(fmt.Sprintf("%-2s", in.Name))
		// Narrow, the words shorten so every column fits 80 cells with a
		// real port number and "bus connected".
		wide := w >= 100
		up, sock := "listening", "sockets"
		if !wide {
			up, sock = "up", "sock"
		}
		state := st.OK.Render(up)
		if !in.Listening {
			state = st.Fault.Render("STOPPED")
		}
		bus := "bus " + in.Bus
		switch in.Bus {
		case "connected":
			bus = st.OK.Render(bus)
		case "stopped":
			bus = st.Dim.Render(bus)
		default:
			bus = st.Warn.Render(bus)
		}
		// "DELIVERED" in capitals is the state (the recipient acked), not
		// the log's chat_message_delivered (pushed to a socket).
		parts := []string{name + in.Addr, state, bus,
			fmt.Sprintf("%s %d", sock, in.Sockets),
			fmt.Sprintf("stored %.0f", in.Stored),
			fmt.Sprintf("DELIVERED %.0f", in.Delivered)}
		if wide {
			parts = append(parts, fmt.Sprintf("replayed %.0f", in.Replayed), fmt.Sprintf("errors %.0f", in.Errors))
		}
		lines = append(lines, fit(" "+strings.Join(parts, "  "), w))
	}
	redis := st.OK.Render("Redis up") + " " + st.Dim.Render(s.snap.RedisAddr)
	if !s.snap.RedisUp {
		redis = st.Fault.Render("Redis DOWN") + " " + st.Dim.Render(s.snap.RedisAddr)
	}
	faults := st.Dim.Render("no faults")
	if len(s.snap.Faults) > 0 {
		faults = st.Fault.Render("FAULTS: " + strings.Join(s.snap.Faults, " · "))
	}
	lines = append(lines, fit(" "+redis+"  "+faults, w))
	return strings.Join(lines, "\n")
}
