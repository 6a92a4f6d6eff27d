package scenario

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of a script's sandbox options.
const (
	// DefaultTimeout is how long an expectation waits when the step names
	// no deadline.
	DefaultTimeout = 5 * time.Second
	// DefaultAbsence is how long an absence ("expect ... no frame",
	// "expect no log", "lacks") is watched when the step names no "for".
	DefaultAbsence = time.Second
)

// Script is one parsed scenario file. It is read-only once Parse returns
// and may be run any number of times.
type Script struct {
	// Name is the file name given to Parse.
	Name string
	// Options are the script's sandbox options ("sandbox" lines).
	Options Options
	// Steps are the runnable steps in file order.
	Steps []*Step
	// Gates are the rows of the gate table ("step" lines), in file order.
	Gates []Gate
}

// Options are a script's sandbox settings, from its "sandbox" lines. The
// zero value means: an in-memory store, Redis up, seed 1, instances A and B,
// DefaultTimeout per expectation.
type Options struct {
	// DB is the store URI ("mem", "sqlite:PATH", "postgres://..."); empty
	// means the harness default.
	DB string
	// RedisDown starts the cluster with Redis stopped.
	RedisDown bool
	// RedisInitTimeout is how long an instance waits for Redis at start;
	// zero means the harness default.
	RedisInitTimeout time.Duration
	// Seed makes random choices reproducible; zero means 1 unless the run
	// overrides it.
	Seed int64
	// Instances are the instance names; nil means A and B.
	Instances []string
	// Timeout is the default deadline of expectations; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// InstanceNames returns Instances or the default A, B.
func (o Options) InstanceNames() []string {
	if len(o.Instances) == 0 {
		return []string{"A", "B"}
	}
	return o.Instances
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// Gate is one row of the gate table: a "step ID "description"" line; the
// runnable steps after it, up to the next one, decide its status.
type Gate struct {
	ID          string
	Description string
	Line        int
}

// Kind names a step's kind, like "send" or "expect-frame".
type Kind string

// Step is one runnable line of a script.
type Step struct {
	// File and Line locate the step; Text is its source, trimmed.
	File string
	Line int
	Text string
	// Kind is the step's kind.
	Kind Kind
	// Gate is the index in Script.Gates of the row the step belongs to, or
	// -1 for steps before the first "step" line.
	Gate int
	// XFail, when set, is why the step is expected to fail (a known bug,
	// reported elsewhere): its failure does not fail the run.
	XFail string

	act action
}

// String is "file:line: text".
func (s *Step) String() string { return fmt.Sprintf("%s:%d: %s", s.File, s.Line, s.Text) }

// ParseError is one problem in a scenario file.
type ParseError struct {
	File string
	Line int
	Col  int // 0 when the problem is the whole line
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ErrorList is every problem Parse found in a file, in line order.
type ErrorList []*ParseError

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
