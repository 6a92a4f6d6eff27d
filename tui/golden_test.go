package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"go.uber.org/zap/zapcore"
)

// Golden files of each pane at a fixed size, from fixed data. Update them
// with: go test ./tui -run Golden -update

func TestGoldenStatusBar(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    int
		edit func(*Snapshot)
	}{
		{"faults", 100, nil},
		{"healthy_80", 80, func(s *Snapshot) {
			s.RedisUp, s.Faults = true, nil
			for i := range s.Instances {
				s.Instances[i].Bus = "connected"
			}
		}},
		{"stopped", 100, func(s *Snapshot) {
			s.Instances[1].Listening, s.Instances[1].Bus = false, "stopped"
			s.Faults = []string{"redis down", "B stopped", "bus latency 50ms, drop 10%"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(tc.w, 30)
			s := fixedSnapshot()
			if tc.edit != nil {
				tc.edit(&s)
			}
			b := newStatusBar(ctx)
			b.SetSnapshot(s)
			golden.RequireEqual(t, viewOf(t, b.View(tc.w), tc.w, b.Height()))
		})
	}
}

func TestGoldenUsersPane(t *testing.T) {
	for _, tc := range []struct {
		name    string
		focused bool
		w, h    int
	}{{"focused", true, 44, 10}, {"blurred_small", false, 32, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newUsersPane(testContext(100, 30))
			p.SetUsers(fixedSnapshot().Users)
			p.Select("user2")
			golden.RequireEqual(t, viewOf(t, p.View(tc.w, tc.h, tc.focused), tc.w, tc.h))
		})
	}
}

func TestGoldenMessagesPane(t *testing.T) {
	s := fixedSnapshot()
	for _, tc := range []struct {
		name    string
		user    string
		focused bool
		keys    []string
	}{
		{"user1_focused", "user1", true, []string{"up"}},
		{"user2", "user2", false, nil},
		{"empty", "user3", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newMessagesPane(testContext(100, 30))
			u, _ := s.user(tc.user)
			p.SetUser(u)
			for _, k := range tc.keys {
				p.Update(keyMsg(k))
			}
			golden.RequireEqual(t, viewOf(t, p.View(60, 8, tc.focused), 60, 8))
		})
	}
}

func TestGoldenLogsPane(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		prep func(*logsPane)
	}{
		{"default", 100, 12, nil},
		{"narrow_focused_cursor", 70, 10, func(p *logsPane) { p.Update(keyMsg("up")); p.Update(keyMsg("up")) }},
		{"debug_instance_B", 100, 12, func(p *logsPane) {
			p.SetFilter(logFilter{Instance: "B", MinLevel: zapcore.DebugLevel})
		}},
		{"logger_event_filter", 100, 8, func(p *logsPane) {
			p.SetFilter(logFilter{MinLevel: zapcore.InfoLevel, Logger: "redisbus", Event: "bus_"})
		}},
		{"search", 100, 12, func(p *logsPane) { p.SetSearch("ban") }},
		{"details", 100, 16, func(p *logsPane) {
			p.Update(keyMsg("up"))
			p.Update(keyMsg("up"))
			p.Update(keyMsg("enter"))
		}},
		{"paused", 100, 8, func(p *logsPane) {
			p.Update(keyMsg(" "))
			p.Append(fixedLogs()[:3])
		}},
		{"nothing_matches", 100, 6, func(p *logsPane) {
			p.SetFilter(logFilter{Event: "no_such_event"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newLogsPane(testContext(tc.w, 30), 0)
			p.Append(fixedLogs())
			if tc.prep != nil {
				tc.prep(p)
			}
			golden.RequireEqual(t, viewOf(t, p.View(tc.w, tc.h, tc.name == "narrow_focused_cursor"), tc.w, tc.h))
		})
	}
}

func TestGoldenPrompt(t *testing.T) {
	ctx := testContext(100, 30)
	for _, tc := range []struct {
		name string
		spec promptSpec
		keys []string
	}{
		{"dm", promptSpec{Label: "DM from user1 →", Choices: []choice{{"user2", "user2 (on B)"}, {"user3", "user3 (offline)"}},
			Text: true, TextLabel: "message:", Placeholder: "type a message"}, []string{"down", "h", "i"}},
		{"choice", promptSpec{Label: "Ban user2 through instance:", Choices: []choice{{"A", "A"}, {"B", "B"}}}, []string{"b"}},
		{"problem", promptSpec{Label: "Burst:", Text: true, Value: "x"}, []string{"enter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPromptBar(ctx)
			tc.spec.Submit = func(text, pick string) (string, tea.Cmd) { return "a number from 1 to 10000", nil }
			p.Open(tc.spec)
			for _, k := range tc.keys {
				p.Update(keyMsg(k))
			}
			golden.RequireEqual(t, viewOf(t, p.View(100), 100, 1))
		})
	}
}

// rootWithFixtures is a root model without a cluster, fed the fixtures.
func rootWithFixtures(w, h int) *Model {
	m := New(Options{Renderer: asciiRenderer(), Now: func() time.Time { return t0 }})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(snapshotMsg{snap: fixedSnapshot()})
	m.Update(logBatchMsg{recs: fixedLogs()})
	return m
}

func TestGoldenRoot(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		keys []string
	}{
		{"100x30", 100, 30, nil},
		{"80x24", 80, 24, nil},
		{"160x40_logs_focused", 160, 40, []string{"tab", "tab"}},
		{"help", 100, 30, []string{"?"}},
		{"help_80x24", 80, 24, []string{"?"}},
		{"help_80x24_join", 80, 24, []string{"?", "?"}},
		{"too_small", 50, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := rootWithFixtures(tc.w, tc.h)
			for _, k := range tc.keys {
				m.Update(keyMsg(k))
			}
			want := tc.h
			if tc.name == "too_small" {
				want = 2
			}
			golden.RequireEqual(t, viewOf(t, m.View(), tc.w, want))
		})
	}
}
