package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging"
)

// Default sizes of the logs pane.
const (
	// DefaultLogLines is how many records the logs pane keeps.
	DefaultLogLines = 5000
	// logTrimSlack is how far past its limit the pane grows before it
	// drops its oldest records in one go.
	logTrimSlack = 500
	// reorderWindow is how far back a late record may be moved into time
	// order.
	reorderWindow = 256
)

// logsPane shows every instance's log records, coloured by instance and
// level, through a filter (instance, level, logger, event); it can search,
// pause (new records wait, counted), follow the newest record, and show
// every field of the record under the cursor.
type logsPane struct {
	ctx     *Context
	limit   int
	recs    []logging.Record
	idx     []int // indexes into recs of the records that pass filter
	filter  logFilter
	search  string
	cursor  int // index into idx
	offset  int
	follow  bool
	paused  bool
	held    []logging.Record // arrived while paused
	detail  bool
	missed  int64
	loggerW int
}

func newLogsPane(ctx *Context, limit int) *logsPane {
	if limit <= 0 {
		limit = DefaultLogLines
	}
	return &logsPane{ctx: ctx, limit: limit, follow: true, filter: logFilter{MinLevel: zapcore.InfoLevel}, loggerW: 15}
}

// Append adds records, oldest first. While paused they are held back.
func (p *logsPane) Append(recs []logging.Record) {
	if p.paused {
		p.held = append(p.held, recs...)
		if over := len(p.held) - p.limit; over > 0 {
			p.held = slices.Delete(p.held, 0, over)
		}
		return
	}
	reordered := false
	for _, r := range recs {
		// Instances log concurrently: a record stamped before the last one
		// (a publish logged after the other instance's delivery) goes in
		// time order, so the merged view reads cause before effect.
		i := len(p.recs)
		for i > 0 && len(p.recs)-i < reorderWindow && r.Time.Before(p.recs[i-1].Time) {
			i--
		}
		if i < len(p.recs) {
			p.recs = slices.Insert(p.recs, i, r)
			reordered = true
			continue
		}
		p.recs = append(p.recs, r)
		if !reordered && p.filter.match(r) {
			p.idx = append(p.idx, len(p.recs)-1)
		}
	}
	if reordered {
		p.rebuild()
	}
	if len(p.recs) > p.limit+logTrimSlack {
		drop := len(p.recs) - p.limit
		p.recs = slices.Delete(p.recs, 0, drop)
		p.cursor -= p.reindex(drop)
	}
	p.settle()
}

// SetMissed records how many records the subscription missed.
func (p *logsPane) SetMissed(n int64) { p.missed = n }

// reindex recomputes idx after the first drop records were removed and
// returns how many filtered rows went with them.
func (p *logsPane) reindex(drop int) int {
	gone := 0
	for _, i := range p.idx {
		if i < drop {
			gone++
		}
	}
	p.rebuild()
	return gone
}

// rebuild recomputes idx from the filter.
func (p *logsPane) rebuild() {
	p.idx = p.idx[:0]
	for i, r := range p.recs {
		if p.filter.match(r) {
			p.idx = append(p.idx, i)
		}
	}
}

// settle keeps the cursor in range, on the newest row when following.
func (p *logsPane) settle() {
	if p.follow || p.cursor >= len(p.idx) {
		p.cursor = len(p.idx) - 1
	}
	p.cursor = max(0, p.cursor)
}

// SetFilter replaces the filter; the cursor follows the newest row.
func (p *logsPane) SetFilter(f logFilter) {
	p.filter = f
	p.rebuild()
	p.follow = true
	p.settle()
}

// Filter returns the filter in force.
func (p *logsPane) Filter() logFilter { return p.filter }

// SetSearch highlights q and moves the cursor to its newest match.
func (p *logsPane) SetSearch(q string) {
	p.search = q
	if q != "" {
		p.jump(-1, len(p.idx))
	}
}

// SetPaused pauses or resumes; resuming appends what was held.
func (p *logsPane) SetPaused(on bool) {
	if p.paused == on {
		return
	}
	p.paused = on
	if !on {
		held := p.held
		p.held = nil
		p.Append(held)
	}
}

// Paused reports whether the pane is paused.
func (p *logsPane) Paused() bool { return p.paused }

// jump moves the cursor to the next match of the search going dir (+1 or
// -1) from row from; it stays put when nothing matches.
func (p *logsPane) jump(dir, from int) {
	if p.search == "" {
		return
	}
	for i := from + dir; i >= 0 && i < len(p.idx); i += dir {
		if containsFold(plainLine(p.recs[p.idx[i]], p.loggerW, p.ctx.UserNames), p.search) {
			p.cursor = i
			p.follow = false
			return
		}
	}
}

// Keys are the pane's own bindings, for the help bar.
func (p *logsPane) Keys() []key.Binding {
	k := p.ctx.Keys
	return []key.Binding{short(k.Pause, "pause"), k.Search, short(k.FilterInstance, "instance"), short(k.FilterLevel, "level"),
		short(k.FilterLogger, "logger"), short(k.FilterEvent, "event"), short(k.Details, "fields"), short(k.ClearFilters, "clear")}
}

// Update handles the pane's keys (the prompts for search, logger and event
// are opened by the root).
func (p *logsPane) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := p.ctx.Keys
	last := len(p.idx) - 1
	move := func(to int) {
		p.cursor = max(0, min(last, to))
		p.follow = p.cursor >= last
	}
	switch {
	case key.Matches(km, k.Up):
		move(p.cursor - 1)
	case key.Matches(km, k.Down):
		move(p.cursor + 1)
	case key.Matches(km, k.PageUp):
		move(p.cursor - 10)
	case key.Matches(km, k.PageDown):
		move(p.cursor + 10)
	case key.Matches(km, k.Top):
		move(0)
	case key.Matches(km, k.Bottom):
		move(last)
	case key.Matches(km, k.Pause):
		p.SetPaused(!p.paused)
	case key.Matches(km, k.NextMatch):
		p.jump(+1, p.cursor)
	case key.Matches(km, k.PrevMatch):
		p.jump(-1, p.cursor)
	case key.Matches(km, k.FilterInstance):
		f := p.filter
		opts := append([]string{""}, p.ctx.Instances...)
		opts = append(opts, sandboxInstance)
		f.Instance = opts[(slices.Index(opts, f.Instance)+1)%len(opts)]
		p.SetFilter(f)
	case key.Matches(km, k.FilterLevel):
		f := p.filter
		f.MinLevel = nextLevel(f.MinLevel)
		p.SetFilter(f)
	case key.Matches(km, k.ClearFilters):
		p.search = ""
		p.SetFilter(logFilter{MinLevel: zapcore.InfoLevel})
	case key.Matches(km, k.Details):
		p.detail = !p.detail
	}
	return nil
}

// Selected returns the record under the cursor.
func (p *logsPane) Selected() (logging.Record, bool) {
	if p.cursor < 0 || p.cursor >= len(p.idx) {
		return logging.Record{}, false
	}
	return p.recs[p.idx[p.cursor]], true
}

// View renders the pane as a w x h box.
func (p *logsPane) View(w, h int, focused bool) string {
	st := p.ctx.Styles
	inner := w - 2
	p.loggerW = 15
	switch {
	case inner < 60:
		p.loggerW = 0 // beside the scenario pane at 80 columns: the event name first
	case inner < 100:
		p.loggerW = 12
	}
	body := max(1, h-3)
	var detail []string
	if p.detail {
		detail = p.detailLines(inner)
		dh := min(len(detail), max(3, body-3, body/2))
		if dh < len(detail) {
			detail = append(detail[:dh-1], st.Dim.Render(" …"))
		}
		body -= len(detail)
		body = max(1, body)
	}

	mode := st.OK.Render("following")
	switch {
	case p.paused:
		mode = st.Fault.Render(fmt.Sprintf("PAUSED +%d", len(p.held)))
	case !p.follow:
		mode = st.Warn.Render("scrolled (G follows)")
	}
	head := st.Dim.Render(p.filter.String())
	if p.search != "" {
		head += st.Dim.Render(" search:") + st.Match.Render(p.search)
	}
	right := mode + st.Dim.Render(fmt.Sprintf(" %d/%d", len(p.idx), len(p.recs)))
	if p.missed > 0 {
		right += st.Warn.Render(fmt.Sprintf(" missed %d", p.missed))
	}
	lines := []string{joinRight(" "+head, right+" ", inner)}

	if p.follow {
		p.offset = max(0, len(p.idx)-body)
	} else {
		p.offset = scrollWindow(p.offset, p.cursor, len(p.idx), body)
	}
	for i := p.offset; i < len(p.idx) && i < p.offset+body; i++ {
		r := p.recs[p.idx[i]]
		var line string
		switch {
		case (focused || p.detail) && i == p.cursor:
			line = st.Selected.Render(fit("▸"+plainLineW(r, p.loggerW, p.ctx.UserNames, inner-1), inner))
		case p.search != "" && containsFold(plainLine(r, p.loggerW, p.ctx.UserNames), p.search):
			line = highlight("•"+plainLineW(r, p.loggerW, p.ctx.UserNames, inner-1), p.search, st.Match)
		default:
			line = " " + p.styledLine(r, inner-1)
		}
		lines = append(lines, line)
	}
	if len(p.idx) == 0 {
		lines = append(lines, st.Dim.Render(" no log lines match (c clears the filters)"))
	}
	for len(lines) < body+1 {
		lines = append(lines, "")
	}
	lines = append(lines, detail...)
	return box(p.ctx, w, h, "Logs", focused, lines)
}

// styledLine is r coloured by instance and level, fitted in w cells by
// whole fields.
func (p *logsPane) styledLine(r logging.Record, w int) string {
	st := p.ctx.Styles
	lvl := st.Info
	switch {
	case r.Level <= zapcore.DebugLevel:
		lvl = st.Debug
	case r.Level == zapcore.WarnLevel:
		lvl = st.WarnLevel
	case r.Level >= zapcore.ErrorLevel:
		lvl = st.ErrorLevel
	}
	inst := p.ctx.InstanceStyle(r.InstanceID)
	head := st.Dim.Render(r.Time.Format("15:04:05.000")) + " " +
		inst.Render(fmt.Sprintf("%-3s", instanceTag(r))) + " " +
		lvl.Render(levelTag(r.Level)) + " "
	if p.loggerW > 0 {
		head += st.Dim.Render(fit(r.Logger, p.loggerW)) + " "
	}
	head += lvl.Render(r.Event)
	tokens := fieldTokens(r, p.ctx.UserNames)
	if g := eventGloss(r.Event); g != "" {
		tokens = append([]string{st.Dim.Render(g)}, tokens...) // dropped whole, like a field
	}
	return fitTokens(head, tokens, w)
}

// detailLines are every field of the record under the cursor.
func (p *logsPane) detailLines(inner int) []string {
	st := p.ctx.Styles
	r, ok := p.Selected()
	if !ok {
		return []string{st.Header.Render(fit(" fields", inner)), st.Dim.Render(" no line selected")}
	}
	out := []string{st.Header.Render(fit(fmt.Sprintf(" fields of %s %s %s %s (enter closes)", instanceTag(r), r.Level.CapitalString(), r.Logger, r.Event), inner))}
	add := func(k, v string) { out = append(out, " "+st.Bold.Render(k)+": "+v) }
	keys := fieldKeys(r)
	if _, ok := r.Fields["instanceId"]; ok {
		keys = append([]string{"instanceId"}, keys...)
	}
	for _, k := range keys {
		v := fieldValue(r.Fields[k])
		if s, ok := r.Fields[k].(string); ok && p.ctx.UserNames[s] != "" {
			v += " (" + p.ctx.UserNames[s] + ")"
		}
		add(k, v)
	}
	add("time", r.Time.Format("2006-01-02 15:04:05.000000 MST"))
	return out
}

// highlight renders s with every case-insensitive occurrence of q in st.
func highlight(s, q string, st interface{ Render(...string) string }) string {
	if q == "" {
		return s
	}
	low, lq := strings.ToLower(s), strings.ToLower(q)
	var b strings.Builder
	for {
		i := strings.Index(low, lq)
		if i < 0 || len(low) != len(s) {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(st.Render(s[i : i+len(q)]))
		s, low = s[i+len(q):], low[i+len(q):]
	}
}
