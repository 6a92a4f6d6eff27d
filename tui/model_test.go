package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
	"github.com/dmchat/dmchat/core/sandbox"
)

func TestFocusCycle(t *testing.T) {
	m := rootWithFixtures(100, 30)
	want := []pane{paneMessages, paneLogs, paneUsers}
	for i, w := range want {
		m.Update(keyMsg("tab"))
		if m.focus != w {
			t.Fatalf("after %d tabs focus is %d, want %d", i+1, m.focus, w)
		}
	}
	m.Update(keyMsg("shift+tab"))
	if m.focus != paneLogs {
		t.Fatalf("shift+tab from users: focus %d, want logs", m.focus)
	}
	if !strings.Contains(m.View(), "┏━ ▶ Logs") {
		t.Fatalf("the focused logs pane is not marked:\n%s", m.View())
	}
}

func TestKeysGoToFocusedPane(t *testing.T) {
	m := rootWithFixtures(100, 30)
	if got := m.users.Selected().Name; got != "user1" {
		t.Fatalf("first selected user is %q, want the first non-admin user1", got)
	}
	m.Update(keyMsg("j"))
	if got := m.users.Selected().Name; got != "user2" {
		t.Fatalf("j in users pane selected %q, want user2", got)
	}
	if m.msgs.user.Name != "user2" {
		t.Fatalf("messages pane shows %q, want the selected user2", m.msgs.user.Name)
	}
	// In the logs pane the same key moves the log cursor, not the user.
	m.Update(keyMsg("tab"))
	m.Update(keyMsg("tab"))
	before := m.logs.cursor
	m.Update(keyMsg("k"))
	if m.users.Selected().Name != "user2" || m.logs.cursor != before-1 {
		t.Fatalf("k in logs pane: user %q, log cursor %d (was %d)", m.users.Selected().Name, m.logs.cursor, before)
	}
}

func TestMultiRuneKeyIsSplit(t *testing.T) {
	m := rootWithFixtures(100, 30)
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jj")})
	if got := m.users.Selected().Name; got != "user3" {
		t.Fatalf(`"jj" in one read selected %q, want user3`, got)
	}
}

func TestPromptTakesKeys(t *testing.T) {
	m := rootWithFixtures(100, 30)
	m.prompt.Open(promptSpec{Label: "Search logs:", Text: true, Submit: func(text, _ string) (string, tea.Cmd) {
		m.logs.SetSearch(text)
		return "", nil
	}})
	for _, k := range []string{"q", "u", "i", "t"} {
		if _, cmd := m.Update(keyMsg(k)); cmd != nil && m.quitting {
			t.Fatal("q quit while a prompt was open")
		}
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("xy")}) // typed together: stays text
	m.Update(keyMsg("enter"))
	if m.prompt.Active() || m.logs.search != "quitxy" {
		t.Fatalf("prompt active %v, search %q; want closed and \"quitxy\"", m.prompt.Active(), m.logs.search)
	}
	m.prompt.Open(promptSpec{Label: "x", Text: true, Submit: func(string, string) (string, tea.Cmd) { return "", nil }})
	m.Update(keyMsg("esc"))
	if m.prompt.Active() {
		t.Fatal("esc did not close the prompt")
	}
}

func TestQuitWithoutCluster(t *testing.T) {
	m := rootWithFixtures(100, 30)
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil || !m.quitting {
		t.Fatal("q did not start quitting")
	}
	if !strings.Contains(m.View(), "Shutting down") {
		t.Fatalf("quitting view: %q", m.View())
	}
	msg := cmd()
	if _, ok := msg.(closedMsg); !ok {
		t.Fatalf("quit command returned %T, want closedMsg", msg)
	}
	_, cmd = m.Update(msg)
	if cmd == nil {
		t.Fatal("closedMsg did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("closedMsg's command is not tea.Quit")
	}
}

func TestHintFollowsTheTour(t *testing.T) {
	m := rootWithFixtures(100, 30)
	steps := []struct {
		mark milestone
		want string
	}{
		{noMilestone, "press s, type hello"},
		{sentDM, "x to ban"},
		{bannedUser, "press R to stop Redis"},
		{stoppedRedis, "Redis down"},
	}
	for _, s := range steps {
		if s.mark != noMilestone {
			m.Update(actionMsg{text: "done", mark: s.mark})
		}
		if h := m.hint(); !strings.Contains(h, s.want) {
			t.Fatalf("after milestone %d the hint is %q, want it to contain %q", s.mark, h, s.want)
		}
	}
	m.Update(actionMsg{err: fmt.Errorf("boom"), mark: sentDM})
	if !m.flashErr || !strings.Contains(m.bottomView(100), "✗ boom") {
		t.Fatalf("an action error is not shown: %q", m.bottomView(100))
	}
}

func TestFlashExpires(t *testing.T) {
	now := t0
	m := New(Options{Renderer: asciiRenderer(), Now: func() time.Time { return now }})
	m.Update(actionMsg{text: "sent"})
	m.Update(tickMsg{})
	if m.flash != "sent" {
		t.Fatal("flash gone too early")
	}
	now = now.Add(flashFor + time.Second)
	m.Update(tickMsg{})
	if m.flash != "" {
		t.Fatal("flash did not expire")
	}
}

func TestLogsPaneTrimsAndKeepsIndex(t *testing.T) {
	p := newLogsPane(testContext(100, 30), 100)
	var recs []logging.Record
	for i := range 1000 {
		lvl := zapcore.InfoLevel
		if i%2 == 1 {
			lvl = zapcore.DebugLevel
		}
		recs = append(recs, logging.Record{Time: at(i), Level: lvl, Event: fmt.Sprintf("e%d", i), InstanceID: "A"})
	}
	for i := 0; i < len(recs); i += 7 {
		p.Append(recs[i:min(i+7, len(recs))])
	}
	if len(p.recs) > 100+logTrimSlack || len(p.recs) < 100 {
		t.Fatalf("kept %d records, want 100..%d", len(p.recs), 100+logTrimSlack)
	}
	if p.recs[len(p.recs)-1].Event != "e999" {
		t.Fatalf("newest record is %s", p.recs[len(p.recs)-1].Event)
	}
	for _, i := range p.idx {
		if p.recs[i].Level != zapcore.InfoLevel {
			t.Fatalf("index holds a filtered-out record %v", p.recs[i].Event)
		}
	}
	if r, ok := p.Selected(); !ok || r.Event != "e998" {
		t.Fatalf("following cursor is on %v, want the newest info record e998", r.Event)
	}
}

func TestLogsPausedHoldsRecords(t *testing.T) {
	p := newLogsPane(testContext(100, 30), 0)
	p.Append(fixedLogs()[:2])
	p.SetPaused(true)
	p.Append(fixedLogs()[2:5])
	if len(p.recs) != 2 || len(p.held) != 3 {
		t.Fatalf("paused: %d shown, %d held; want 2 and 3", len(p.recs), len(p.held))
	}
	p.Update(keyMsg(" "))
	if p.Paused() || len(p.recs) != 5 || len(p.held) != 0 {
		t.Fatalf("resumed: paused %v, %d shown, %d held", p.Paused(), len(p.recs), len(p.held))
	}
}

func TestLogsSearchJumps(t *testing.T) {
	p := newLogsPane(testContext(100, 30), 0)
	p.Append(fixedLogs())
	p.SetSearch("bus_connected")
	r, _ := p.Selected()
	if r.Event != "bus_connected" || r.InstanceID != "B" || p.follow {
		t.Fatalf("search selected %s on %s (follow %v), want the newest bus_connected, on B", r.Event, r.InstanceID, p.follow)
	}
	p.Update(keyMsg("N"))
	if r, _ := p.Selected(); r.InstanceID != "A" {
		t.Fatalf("N selected %s on %s, want the previous match on A", r.Event, r.InstanceID)
	}
	p.Update(keyMsg("n"))
	if r, _ := p.Selected(); r.InstanceID != "B" {
		t.Fatalf("n selected %s on %s, want B again", r.Event, r.InstanceID)
	}
}

func TestLogFilterKeys(t *testing.T) {
	p := newLogsPane(testContext(100, 30), 0)
	p.Append(fixedLogs())
	wantInst := []string{"A", "B", sandboxInstance, ""}
	for _, w := range wantInst {
		p.Update(keyMsg("i"))
		if p.filter.Instance != w {
			t.Fatalf("instance filter %q, want %q", p.filter.Instance, w)
		}
	}
	p.Update(keyMsg("v"))
	if p.filter.MinLevel != zapcore.WarnLevel || len(p.idx) != 3 {
		t.Fatalf("level filter %v shows %d lines, want warn and 3", p.filter.MinLevel, len(p.idx))
	}
	p.Update(keyMsg("c"))
	if p.filter != (logFilter{MinLevel: zapcore.InfoLevel}) || len(p.idx) != 11 {
		t.Fatalf("cleared filter %+v shows %d lines", p.filter, len(p.idx))
	}
}

func TestLogFilterMatch(t *testing.T) {
	r := logging.Record{Level: zapcore.InfoLevel, Logger: "RedisBusHandler", Event: "chat_message_delivered", InstanceID: "B"}
	for _, tc := range []struct {
		f    logFilter
		want bool
	}{
		{logFilter{}, true},
		{logFilter{MinLevel: zapcore.WarnLevel}, false},
		{logFilter{Instance: "A"}, false},
		{logFilter{Instance: "B"}, true},
		{logFilter{Logger: "redisbus"}, true},
		{logFilter{Logger: "Admin"}, false},
		{logFilter{Event: "DELIVERED"}, true},
		{logFilter{Event: "bus_lost"}, false},
	} {
		if got := tc.f.match(r); got != tc.want {
			t.Errorf("%+v.match = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestParseBusFault(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want sandbox.BusFault
		bad  bool
	}{
		{"", sandbox.BusFault{}, false},
		{"50", sandbox.BusFault{Latency: 50 * time.Millisecond}, false},
		{"50ms 10", sandbox.BusFault{Latency: 50 * time.Millisecond, DropRate: 0.1}, false},
		{"0 25%", sandbox.BusFault{DropRate: 0.25}, false},
		{"1s 100", sandbox.BusFault{Latency: time.Second, DropRate: 1}, false},
		{"fast", sandbox.BusFault{}, true},
		{"10 101", sandbox.BusFault{}, true},
		{"1 2 3", sandbox.BusFault{}, true},
	} {
		got, bad := parseBusFault(tc.in)
		if (bad != "") != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("parseBusFault(%q) = %+v, %q", tc.in, got, bad)
		}
	}
	if n, bad := parseCount("3", 10); n != 3 || bad != "" {
		t.Errorf("parseCount(3) = %d %q", n, bad)
	}
	for _, s := range []string{"-1", "11", "x"} {
		if _, bad := parseCount(s, 10); bad == "" {
			t.Errorf("parseCount(%q) accepted", s)
		}
	}
}

func TestShortToggles(t *testing.T) {
	for in, want := range map[string]string{
		"auto-ack off, drops next 2 acks, loses next 1 MESSAGE_ACKs": "no-ack, drop 2, lose 1",
		"something new": "something new",
		"":              "",
	} {
		if got := shortToggles(in); got != want {
			t.Errorf("shortToggles(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSnapshotMergeKeepsAdminView(t *testing.T) {
	prev := fixedSnapshot()
	s := fixedSnapshot()
	s.UserListOK = false
	for i := range s.Users {
		s.Users[i].Banned, s.Users[i].OnlineOn = false, nil
	}
	s.merge(prev)
	u, _ := s.user("user3")
	if !u.Banned {
		t.Fatal("merge lost user3's ban while the user list was unreadable")
	}
}

func TestResizeKeepsLayout(t *testing.T) {
	m := rootWithFixtures(100, 30)
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 60}, {61, 17}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		viewOf(t, m.View(), sz[0], sz[1])
	}
}

func TestFitAndScroll(t *testing.T) {
	if got := fit("héllo", 3); got != "hé…" {
		t.Errorf("fit = %q", got)
	}
	if got := fit("ab", 4); got != "ab  " {
		t.Errorf("fit pads to %q", got)
	}
	if got := scrollWindow(0, 9, 20, 5); got != 5 {
		t.Errorf("scrollWindow down = %d, want 5", got)
	}
	if got := scrollWindow(5, 2, 20, 5); got != 2 {
		t.Errorf("scrollWindow up = %d, want 2", got)
	}
}

func TestPromptTextThatSpellsAKey(t *testing.T) {
	p := newPromptBar(testContext(100, 30))
	got, pick := "", ""
	p.Open(promptSpec{Label: "DM", Text: true, Choices: []choice{{"a", "a"}, {"b", "b"}},
		Submit: func(text, c string) (string, tea.Cmd) { got, pick = text, c; return "", nil }})
	for _, m := range []tea.KeyMsg{keyMsg("going"), keyMsg(" "), {Type: tea.KeyRunes, Runes: []rune("down")}, keyMsg("j"), keyMsg("enter")} {
		p.Update(m)
	}
	if got != "going downj" || pick != "a" {
		t.Fatalf("submitted %q to %q, want \"going downj\" to a", got, pick)
	}
}

// TestLogLineKeepsWholeValues: a log line too long for the pane drops
// whole fields, never cutting a value (messageId=3… for 31).
func TestLogLineKeepsWholeValues(t *testing.T) {
	r := logging.Record{Time: t0, Level: zapcore.InfoLevel, Logger: "RedisBusHandler", Event: "chat_message_delivered",
		InstanceID: "B", Fields: map[string]any{"messageId": "31", "recipientId": "u2", "sockets": int64(1)}}
	full := plainLineW(r, 15, nil, 0)
	for w := 70; w < len(full)+2; w++ {
		got := plainLineW(r, 15, nil, w)
		if width(got) > w {
			t.Fatalf("width %d: %q is wider", w, got)
		}
		for _, tok := range strings.Fields(got) {
			if strings.HasSuffix(tok, "…") && tok != "…" {
				t.Fatalf("width %d: %q cuts a token", w, got)
			}
		}
		if w >= width(full) && got != full {
			t.Fatalf("width %d: %q, want the whole line %q", w, got, full)
		}
	}
}

// TestLogsPaneOrdersByTime: a record logged late but stamped earlier (A's
// publish, logged after B's delivery) is shown before it.
func TestLogsPaneOrdersByTime(t *testing.T) {
	p := newLogsPane(testContext(120, 30), 0)
	rec := func(ms int, inst, event string) logging.Record {
		return logging.Record{Time: at(ms), Level: zapcore.InfoLevel, Logger: "RedisBus", Event: event, InstanceID: inst,
			Fields: map[string]any{"messageId": "31"}}
	}
	p.Append([]logging.Record{rec(0, "A", "listening"), rec(12, "B", "chat_message_delivered")})
	p.Append([]logging.Record{rec(10, "A", "chat_message_published")})
	view := stripStyles(p.View(120, 8, false))
	pub, del := strings.Index(view, "chat_message_published"), strings.Index(view, "chat_message_delivered")
	if pub < 0 || del < 0 || pub > del {
		t.Fatalf("the publish is not shown before the delivery:\n%s", view)
	}
}
