package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/sandbox/history"
)

// Line renders a step result as one line (two when it has a detail):
//
//	PASS  scenarios/x.scn:12  send alice to bob "hi" as m1  (14ms)
//	      cmid alice-1, messageId 1, 1 attempt(s)
func (r StepResult) Line() string {
	s := fmt.Sprintf("%-5s %s:%d  %s  (%s)", r.Status, r.Step.File, r.Step.Line, r.Step.Text, r.Duration.Round(time.Millisecond))
	if r.Detail != "" && r.Status != Skip {
		s += "\n      " + strings.ReplaceAll(r.Detail, "\n", "\n      ")
	}
	return s
}

// CheckLine renders the checker's verdict, with the violations and the
// seed when it failed.
func (r *Report) CheckLine() string {
	if r.Check == nil {
		return "SKIP  history: not checked"
	}
	status := Pass
	if !r.Check.OK() {
		status = Fail
	}
	return fmt.Sprintf("%-5s %s", status, r.Check.String())
}

// checkStatus is the history row's status.
func (r *Report) checkStatus() Status {
	switch {
	case r.Check == nil:
		return Skip
	case r.Check.OK():
		return Pass
	}
	return Fail
}

// WriteText writes the whole report: every step line, the checker's line,
// the gate table and the verdict.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "== %s (seed %d)\n", r.Script, r.Seed)
	if r.Err != "" {
		fmt.Fprintf(w, "FAIL  %s\n", r.Err)
	}
	for _, s := range r.Steps {
		fmt.Fprintln(w, s.Line())
	}
	fmt.Fprintln(w, r.CheckLine())
	fmt.Fprintln(w)
	r.WriteGateTable(w)
}

// WriteGateTable writes the gate table in the seeds' form:
//
//	| Step | Description | Status |
//	|------|-------------|--------|
//	| 5 | DM A→B: publish on A, deliver on B | **PASS** |
func (r *Report) WriteGateTable(w io.Writer) {
	fmt.Fprintf(w, "## PASS/FAIL gate: %s\n\n", r.Script)
	fmt.Fprintln(w, "| Step | Description | Status |")
	fmt.Fprintln(w, "|------|-------------|--------|")
	for _, g := range r.Gates {
		fmt.Fprintf(w, "| %s | %s | **%s** |\n", cell(g.Gate.ID), cell(g.Gate.Description), g.Status)
	}
	desc := "history checked: every guarantee"
	if r.Check != nil {
		desc = fmt.Sprintf("history of %d events, %d messages checked against every guarantee", r.Check.Events, r.Check.Messages)
		if !r.Check.OK() {
			rules := map[string]bool{}
			var broken []string
			for _, v := range r.Check.Violations {
				if !rules[v.Rule] {
					rules[v.Rule] = true
					broken = append(broken, v.Rule)
				}
			}
			desc += "; broken: " + strings.Join(broken, ", ") + fmt.Sprintf(" (seed %d)", r.Seed)
		}
	}
	fmt.Fprintf(w, "| history | %s | **%s** |\n", cell(desc), r.checkStatus())
	verdict := Pass
	if !r.Passed() {
		verdict = Fail
	}
	fmt.Fprintf(w, "\n**%s** — %s in %s\n", verdict, r.Script, r.Duration.Round(time.Millisecond))
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// jsonReport is the --json form of a report.
type jsonReport struct {
	Script     string          `json:"script"`
	Seed       int64           `json:"seed"`
	Passed     bool            `json:"passed"`
	Start      time.Time       `json:"start"`
	DurationMS int64           `json:"durationMs"`
	Error      string          `json:"error,omitempty"`
	Steps      []jsonStep      `json:"steps"`
	Gates      []jsonGate      `json:"gates"`
	Check      *history.Result `json:"check,omitempty"`
}

type jsonStep struct {
	Line       int    `json:"line"`
	Text       string `json:"text"`
	Kind       Kind   `json:"kind"`
	Gate       string `json:"gate,omitempty"`
	Status     Status `json:"status"`
	Detail     string `json:"detail,omitempty"`
	XFail      string `json:"xfail,omitempty"`
	DurationMS int64  `json:"durationMs"`
}

type jsonGate struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Status      Status `json:"status"`
}

// MarshalJSON encodes the report for --json: script, seed, passed, steps,
// gate rows and the checker's result (not the whole history: --history
// saves that).
func (r *Report) MarshalJSON() ([]byte, error) {
	jr := jsonReport{Script: r.Script, Seed: r.Seed, Passed: r.Passed(), Start: r.Start,
		DurationMS: r.Duration.Milliseconds(), Error: r.Err, Check: r.Check, Steps: []jsonStep{}, Gates: []jsonGate{}}
	for _, s := range r.Steps {
		js := jsonStep{Line: s.Step.Line, Text: s.Step.Text, Kind: s.Step.Kind, Status: s.Status, Detail: s.Detail,
			XFail: s.Step.XFail, DurationMS: s.Duration.Milliseconds()}
		if s.Step.Gate >= 0 && s.Step.Gate < len(r.gatesOf()) {
			js.Gate = r.gatesOf()[s.Step.Gate].ID
		}
		jr.Steps = append(jr.Steps, js)
	}
	for _, g := range r.Gates {
		jr.Gates = append(jr.Gates, jsonGate{ID: g.Gate.ID, Description: g.Gate.Description, Status: g.Status})
	}
	jr.Gates = append(jr.Gates, jsonGate{ID: "history", Description: "history checker", Status: r.checkStatus()})
	return json.Marshal(jr)
}

// gatesOf returns the script's own gate rows (without the setup row).
func (r *Report) gatesOf() []Gate {
	var out []Gate
	for _, g := range r.Gates {
		if g.Gate.Line > 0 {
			out = append(out, g.Gate)
		}
	}
	return out
}

// WriteJSON writes reports as one JSON object {"passed", "runs":[...]}.
func WriteJSON(w io.Writer, reports []*Report) error {
	all := struct {
		Passed bool      `json:"passed"`
		Runs   []*Report `json:"runs"`
	}{Passed: true, Runs: reports}
	for _, r := range reports {
		all.Passed = all.Passed && r.Passed()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("scenario: failed to write JSON report: %w", err)
	}
	return nil
}

// JUnit XML, as CI systems read it.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	Tests   int         `xml:"tests,attr"`
	Fails   int         `xml:"failures,attr"`
	Errors  int         `xml:"errors,attr"`
	Skipped int         `xml:"skipped,attr"`
	Time    string      `xml:"time,attr"`
	Props   []junitProp `xml:"properties>property,omitempty"`
	Cases   []junitCase `xml:"testcase"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Time    string        `xml:"time,attr"`
	Failure *junitFailure `xml:"failure,omitempty"`
	Error   *junitFailure `xml:"error,omitempty"`
	Skipped *junitFailure `xml:"skipped,omitempty"`
	Out     string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes reports as JUnit XML: one test suite per script, one
// test case per step, plus one for the history checker.
func WriteJUnit(w io.Writer, reports []*Report) error {
	var all junitSuites
	for _, r := range reports {
		s := junitSuite{Name: r.Script, Time: seconds(r.Duration),
			Props: []junitProp{{Name: "seed", Value: fmt.Sprint(r.Seed)}}}
		if r.Err != "" {
			s.Errors++
			s.Cases = append(s.Cases, junitCase{Class: r.Script, Name: "sandbox", Error: &junitFailure{Message: r.Err, Text: r.Err}})
		}
		for _, st := range r.Steps {
			c := junitCase{Class: r.Script, Name: fmt.Sprintf("line %d: %s", st.Step.Line, st.Step.Text),
				Time: seconds(st.Duration), Out: st.Detail}
			switch st.Status {
			case Fail:
				s.Fails++
				c.Failure = &junitFailure{Message: firstLine(st.Detail), Text: st.Detail}
			case Skip:
				s.Skipped++
				c.Skipped = &junitFailure{Message: "not run"}
			case XFail:
				s.Skipped++
				c.Skipped = &junitFailure{Message: "known failure: " + st.Step.XFail}
			}
			s.Cases = append(s.Cases, c)
		}
		hc := junitCase{Class: r.Script, Name: "history check"}
		if r.Check != nil {
			hc.Out = r.Check.String()
			if !r.Check.OK() {
				s.Fails++
				hc.Failure = &junitFailure{Message: fmt.Sprintf("%d guarantee violation(s), seed %d", len(r.Check.Violations)+r.Check.Omitted, r.Seed),
					Text: r.Check.String()}
			}
		} else {
			s.Skipped++
			hc.Skipped = &junitFailure{Message: "not checked"}
		}
		s.Cases = append(s.Cases, hc)
		s.Tests = len(s.Cases)
		all.Tests += s.Tests
		all.Fails += s.Fails + s.Errors
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("scenario: failed to write JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("scenario: failed to write JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
