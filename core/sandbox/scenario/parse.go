package scenario

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxScriptBytes bounds a scenario file.
const maxScriptBytes = 4 << 20

// Parse reads a scenario from r; name is used in error messages and
// reports. Every problem is checked before anything runs: the result is an
// ErrorList naming file, line and what was expected for each bad line.
func Parse(name string, r io.Reader) (*Script, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxScriptBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scenario: failed to read %s: %w", name, err)
	}
	if len(data) > maxScriptBytes {
		return nil, fmt.Errorf("scenario: failed to read %s: larger than %d bytes", name, maxScriptBytes)
	}
	p := &parser{
		sc:     &Script{Name: name},
		users:  map[string]userDecl{},
		labels: map[string]labelDecl{},
		gate:   -1,
	}
	for _, ln := range logicalLines(string(data)) {
		p.line(ln)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.sc, nil
}

// ParseString is Parse of a string.
func ParseString(name, src string) (*Script, error) {
	return Parse(name, strings.NewReader(src))
}

type userDecl struct {
	line     int
	admin    bool
	instance string
}

type labelDecl struct {
	line   int
	sender string
}

// parser holds the state of one file: what has been declared so far, so
// that references are checked before anything runs.
type parser struct {
	sc      *Script
	errs    ErrorList
	users   map[string]userDecl
	labels  map[string]labelDecl
	gate    int
	started bool // a runnable step was seen: "sandbox" lines are over
	instSet bool // a "sandbox instances=" line was seen
}

func (p *parser) errorf(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.sc.Name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) line(ln numberedLine) {
	toks, err := lexLine(ln.text)
	if err != nil {
		p.errorf(ln.n, 0, "%v", err)
		return
	}
	if len(toks) == 0 {
		return
	}
	lp := &lineParser{p: p, toks: toks, n: ln.n}
	text := strings.TrimSpace(ln.text)
	xfail := ""
	if !toks[0].Quoted && toks[0].Text == "xfail" {
		lp.pos++
		t, ok := lp.next()
		if !ok || !t.Quoted {
			lp.fail(t, ok, `the reason in quotes, as in: xfail "bug #12: ..." STEP`)
			p.flush(lp)
			return
		}
		xfail = t.Text
		if strings.TrimSpace(xfail) == "" {
			lp.failAt(t.Col, "a non-empty reason after xfail")
		}
	}
	verbTok, ok := lp.next()
	if !ok {
		lp.fail(verbTok, ok, "a step after the xfail reason")
		p.flush(lp)
		return
	}
	verb := verbTok.Text
	if verbTok.Quoted || verbTok.Key != "" {
		verb = ""
	}
	switch verb {
	case "sandbox":
		if xfail != "" {
			lp.failAt(verbTok.Col, "a runnable step after xfail, not sandbox options")
		}
		if p.started {
			lp.failAt(verbTok.Col, "sandbox options before the first runnable step")
		}
		p.parseSandbox(lp)
		p.flush(lp)
		return
	case "step":
		if xfail != "" {
			lp.failAt(verbTok.Col, "a runnable step after xfail, not a gate row")
		}
		p.parseGate(lp)
		p.flush(lp)
		return
	}
	def, found := stepDefs[verb]
	if !found {
		lp.failAt(verbTok.Col, "a step (%s), got %s", verbList(), verbTok)
		p.flush(lp)
		return
	}
	p.started = true
	kind, act := def(lp)
	if len(lp.errs) > 0 {
		p.flush(lp)
		return
	}
	p.sc.Steps = append(p.sc.Steps, &Step{File: p.sc.Name, Line: ln.n, Text: text, Kind: kind,
		Gate: p.gate, XFail: xfail, act: act})
}

// flush moves a line's errors to the file's list (at most the first two of
// a line: later ones are usually echoes of the first).
func (p *parser) flush(lp *lineParser) {
	for i, e := range lp.errs {
		if i == 2 {
			break
		}
		p.errs = append(p.errs, e)
	}
	lp.errs = nil
}

func (p *parser) parseSandbox(lp *lineParser) {
	if lp.done() {
		lp.failAt(0, "sandbox options such as db=mem redis=down seed=7 instances=A,B timeout=5s redis-init-timeout=1s")
		return
	}
	for !lp.done() {
		t, _ := lp.next()
		if t.Key == "" {
			lp.failAt(t.Col, "a sandbox option key=value (db, redis, redis-init-timeout, seed, instances, timeout), got %s", t)
			continue
		}
		o := &p.sc.Options
		switch t.Key {
		case "db":
			if t.Value == "" {
				lp.failAt(t.Col, "db=URI (mem, sqlite:PATH or postgres://...)")
			}
			o.DB = t.Value
		case "redis":
			switch t.Value {
			case "up":
				o.RedisDown = false
			case "down":
				o.RedisDown = true
			default:
				lp.failAt(t.Col, "redis=up or redis=down, got %s", t)
			}
		case "redis-init-timeout":
			o.RedisInitTimeout = lp.durationValue(t)
		case "timeout":
			o.Timeout = lp.durationValue(t)
		case "seed":
			n, err := strconv.ParseInt(t.Value, 10, 64)
			if err != nil || n == 0 {
				lp.failAt(t.Col, "seed=N with a non-zero integer N, got %s", t)
			}
			o.Seed = n
		case "instances":
			if p.instSet || len(p.users) > 0 {
				lp.failAt(t.Col, "instances= once, before any user")
			}
			names := strings.Split(t.Value, ",")
			seen := map[string]bool{}
			for _, n := range names {
				if !instanceRE.MatchString(n) || seen[n] {
					lp.failAt(t.Col, "instances=A,B with distinct names of letters and digits, got %s", t)
					break
				}
				seen[n] = true
			}
			o.Instances = names
			p.instSet = true
		default:
			lp.failAt(t.Col, "a sandbox option (db, redis, redis-init-timeout, seed, instances, timeout), got %s", t.Key)
		}
	}
}

func (p *parser) parseGate(lp *lineParser) {
	id, ok := lp.next()
	if !ok || id.Key != "" {
		lp.fail(id, ok, `a gate row: step ID "description"`)
		return
	}
	desc, ok := lp.next()
	if !ok || !desc.Quoted {
		lp.fail(desc, ok, `the gate row's description in quotes, as in: step %s "DM A to B"`, id.Text)
		return
	}
	lp.end()
	if len(lp.errs) > 0 {
		return
	}
	p.sc.Gates = append(p.sc.Gates, Gate{ID: id.Text, Description: desc.Text, Line: lp.n})
	p.gate = len(p.sc.Gates) - 1
}

var instanceRE = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)

// reserved words cannot be user names or labels: they start other forms of
// the same verb.
var reserved = map[string]bool{
	"all": true, "state": true, "stored": true, "log": true, "no": true, "raw": true,
	"redis": true, "instance": true, "until": true, "to": true, "by": true, "on": true, "as": true,
}

// lineParser reads the tokens of one line.
type lineParser struct {
	p    *parser
	toks []token
	pos  int
	n    int
	errs []*ParseError
}

func (lp *lineParser) done() bool { return lp.pos >= len(lp.toks) }

func (lp *lineParser) next() (token, bool) {
	if lp.done() {
		return token{}, false
	}
	t := lp.toks[lp.pos]
	lp.pos++
	return t, true
}

func (lp *lineParser) peek() (token, bool) {
	if lp.done() {
		return token{}, false
	}
	return lp.toks[lp.pos], true
}

// failAt records "expected ..." at col.
func (lp *lineParser) failAt(col int, format string, args ...any) {
	lp.errs = append(lp.errs, &ParseError{File: lp.p.sc.Name, Line: lp.n, Col: col,
		Msg: "expected " + fmt.Sprintf(format, args...)})
}

// fail records "expected X, got T" (or "at end of line" when there was no
// token).
func (lp *lineParser) fail(t token, ok bool, format string, args ...any) {
	what := fmt.Sprintf(format, args...)
	if !ok {
		lp.failAt(0, "%s at the end of the line", what)
		return
	}
	lp.failAt(t.Col, "%s, got %s", what, t)
}

// keyword consumes one of the given bare words.
func (lp *lineParser) keyword(words ...string) (string, bool) {
	t, ok := lp.next()
	if ok && !t.Quoted && t.Key == "" {
		for _, w := range words {
			if t.Text == w {
				return w, true
			}
		}
	}
	lp.fail(t, ok, "%s", quoteOr(words))
	return "", false
}

// optKeyword consumes w if it is next.
func (lp *lineParser) optKeyword(w string) bool {
	t, ok := lp.peek()
	if ok && !t.Quoted && t.Key == "" && t.Text == w {
		lp.pos++
		return true
	}
	return false
}

// word consumes a bare word (not key=value).
func (lp *lineParser) word(what string) (token, bool) {
	t, ok := lp.next()
	if !ok || t.Key != "" {
		lp.fail(t, ok, "%s", what)
		return t, false
	}
	return t, true
}

// user consumes the name of a declared user.
func (lp *lineParser) user() (string, bool) {
	t, ok := lp.next()
	if !ok || t.Quoted || t.Key != "" {
		lp.fail(t, ok, "a user name")
		return "", false
	}
	if _, declared := lp.p.users[t.Text]; !declared {
		lp.failAt(t.Col, `a user declared earlier with "user NAME on INSTANCE", got %s%s`, t, lp.p.knownUsers())
		return "", false
	}
	return t.Text, true
}

// admin consumes the name of a declared admin.
func (lp *lineParser) admin() (string, bool) {
	t, _ := lp.peek()
	name, ok := lp.user()
	if ok && !lp.p.users[name].admin {
		lp.failAt(t.Col, `an admin (declared with "user %s on INSTANCE admin"), got user %s`, name, name)
		return "", false
	}
	return name, ok
}

func (p *parser) knownUsers() string {
	if len(p.users) == 0 {
		return " (no user is declared yet)"
	}
	names := make([]string, 0, len(p.users))
	for n := range p.users {
		names = append(names, n)
	}
	slices.Sort(names)
	return " (declared: " + strings.Join(names, ", ") + ")"
}

// instance consumes an instance name.
func (lp *lineParser) instance() (string, bool) {
	t, ok := lp.next()
	insts := lp.p.sc.Options.InstanceNames()
	if ok && t.Key == "" && !t.Quoted {
		for _, in := range insts {
			if t.Text == in {
				return in, true
			}
		}
	}
	lp.fail(t, ok, "an instance (%s)", strings.Join(insts, ", "))
	return "", false
}

// label consumes a message label defined by an earlier "send ... as LABEL".
func (lp *lineParser) label() (string, bool) {
	t, ok := lp.next()
	if ok && t.Key == "" && !t.Quoted {
		if _, defined := lp.p.labels[t.Text]; defined {
			return t.Text, true
		}
		lp.failAt(t.Col, `a message label defined earlier with "send ... as LABEL", got %s`, t)
		return "", false
	}
	lp.fail(t, ok, "a message label")
	return "", false
}

// intArg consumes a non-negative integer.
func (lp *lineParser) intArg(what string, max int) (int, bool) {
	t, ok := lp.next()
	if ok && t.Key == "" {
		n, err := strconv.Atoi(t.Text)
		if err == nil && n >= 0 && n <= max {
			return n, true
		}
	}
	lp.fail(t, ok, "%s (an integer from 0 to %d)", what, max)
	return 0, false
}

// durationArg consumes a duration like 500ms or 5s.
func (lp *lineParser) durationArg(what string) (time.Duration, bool) {
	t, ok := lp.next()
	if ok && t.Key == "" {
		if d, err := time.ParseDuration(t.Text); err == nil && d > 0 {
			return d, true
		}
	}
	lp.fail(t, ok, "%s (a duration such as 500ms or 5s)", what)
	return 0, false
}

func (lp *lineParser) durationValue(t token) time.Duration {
	d, err := time.ParseDuration(t.Value)
	if err != nil || d <= 0 {
		lp.failAt(t.Col, "%s=DURATION (such as 500ms or 5s), got %s", t.Key, t)
		return 0
	}
	return d
}

func (lp *lineParser) intValue(t token, max int) int {
	n, err := strconv.Atoi(t.Value)
	if err != nil || n < 0 || n > max {
		lp.failAt(t.Col, "%s=N with N from 0 to %d, got %s", t.Key, max, t)
		return 0
	}
	return n
}

func (lp *lineParser) probValue(t token) float64 {
	f, err := strconv.ParseFloat(t.Value, 64)
	if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
		lp.failAt(t.Col, "%s=P with P a probability from 0 to 1, got %s", t.Key, t)
		return 0
	}
	return f
}

func (lp *lineParser) boolValue(t token) bool {
	switch t.Value {
	case "yes", "true":
		return true
	case "no", "false":
		return false
	}
	lp.failAt(t.Col, "%s=yes or %s=no, got %s", t.Key, t.Key, t)
	return false
}

// tmpl parses a value with $-references and checks that each names a
// declared user or label.
func (lp *lineParser) tmpl(t token, s string) (template, bool) {
	tm, err := parseTemplate(s)
	if err != nil {
		lp.failAt(t.Col, "%v", strings.TrimPrefix(err.Error(), "expected "))
		return tm, false
	}
	for _, r := range tm.refs() {
		_, isUser := lp.p.users[r.ref]
		_, isLabel := lp.p.labels[r.ref]
		switch {
		case r.attr == "cmid" && !isLabel:
			lp.failAt(t.Col, "a message label before .cmid, got $%s.cmid", r.ref)
			return tm, false
		case !isUser && !isLabel:
			lp.failAt(t.Col, "$NAME to name a declared user or message label, got $%s", r.ref)
			return tm, false
		}
	}
	return tm, true
}

// deadline consumes an optional trailing "within D" (or "for D" when
// absence is true).
func (lp *lineParser) deadline(absence bool) time.Duration {
	w := "within"
	if absence {
		w = "for"
	}
	if !lp.optKeyword(w) {
		return 0
	}
	d, _ := lp.durationArg("a duration after " + w)
	return d
}

// matchers consumes key=value tokens up to the end of the line or a
// trailing "within"/"for"; allowed, when not nil, restricts the keys.
func (lp *lineParser) matchers(allowed []string) []matcher {
	var out []matcher
	for !lp.done() {
		t, _ := lp.peek()
		if t.Key == "" {
			if !t.Quoted && (t.Text == "within" || t.Text == "for") {
				return out
			}
			lp.pos++
			lp.failAt(t.Col, "field=value, got %s", t)
			continue
		}
		lp.pos++
		if allowed != nil && !slices.Contains(allowed, t.Key) {
			lp.failAt(t.Col, "a field of the frame (%s), got %s", strings.Join(allowed, ", "), t.Key)
			continue
		}
		tm, ok := lp.tmpl(t, t.Value)
		if ok {
			out = append(out, matcher{key: t.Key, value: tm})
		}
	}
	return out
}

// end records an error for any token left on the line.
func (lp *lineParser) end() {
	if t, ok := lp.peek(); ok {
		lp.failAt(t.Col, "the end of the line, got %s", t)
		lp.pos = len(lp.toks)
	}
}

// matcher is one field=value a frame or log record must carry.
type matcher struct {
	key   string
	value template
}

func quoteOr(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
