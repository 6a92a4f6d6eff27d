package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// CycleInstructions is the cycle workload's instruction count: the same
// full cycles run under valgrind's callgrind, which counts the
// instructions the process executes rather than the time they take, so
// the figure does not move with the neighbours' load (CPU time does, by
// 10-50 % on a shared machine). Only user-space instructions count: the
// kernel's side of a system call is not seen.
type CycleInstructions struct {
	Store string `json:"store"`
	Pairs int    `json:"pairs"`
	// Two runs of different lengths; their difference cancels the
	// program's start, the store's opening and the users' setup.
	CyclesLow, CyclesHigh int    `json:"-"`
	IrLow, IrHigh         uint64 `json:"-"`
	// PerDM is (IrHigh − IrLow) / (CyclesHigh − CyclesLow).
	PerDM float64 `json:"instructionsPerDM"`
}

// cycleChildSubcommand is the argument after "bench" that runs the
// cycle child (RunCycleChild).
const cycleChildSubcommand = "_cycle"

// callgrindCollected is callgrind's summary line on stderr.
var callgrindCollected = regexp.MustCompile(`(?m)Collected\s*:\s*(\d+)`)

// cycleChildResult is what the child prints on stdout.
type cycleChildResult struct {
	// Total counts every cycle the child ran, warm-up included: the
	// instructions counted are of all of them.
	Total int `json:"total"`
}

// RunCycleChild is "sandbox bench _cycle --store S --pairs P --cycles N":
// measureCycles once, then the number of cycles it ran as JSON on
// stdout. The cycle workload runs it under callgrind.
func RunCycleChild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench "+cycleChildSubcommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeName := fs.String("store", "mem", "mem or sqlite")
	pairs := fs.Int("pairs", 1, "pairs cycling at once")
	cycles := fs.Int("cycles", 1000, "full cycles, not counting the warm-up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pairs < 1 || *cycles < 1 {
		return fmt.Errorf("bench %s: --pairs and --cycles must be at least 1", cycleChildSubcommand)
	}
	run, err := measureCycles(ctx, *storeName, *pairs, *cycles)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(cycleChildResult{Total: run.Cycles + run.WarmCycles})
}

// IsCycleChild reports whether args (after "bench") ask for the cycle
// child, so that a program's "bench" command can hand them to
// RunCycleChild.
func IsCycleChild(args []string) bool {
	return len(args) > 0 && args[0] == cycleChildSubcommand
}

// countCycleInstructions runs the cycle child under callgrind twice, for
// low and high cycles, and returns the instructions per cycle.
func countCycleInstructions(ctx context.Context, argv []string, storeName string, pairs, low, high int) (CycleInstructions, error) {
	ci := CycleInstructions{Store: storeName, Pairs: pairs}
	valgrind, err := exec.LookPath("valgrind")
	if err != nil {
		return ci, errors.New("valgrind not found on PATH (Debian package valgrind)")
	}
	dir, err := os.MkdirTemp("", "dmchat-callgrind-")
	if err != nil {
		return ci, err
	}
	defer os.RemoveAll(dir)
	one := func(cycles int) (total int, ir uint64, err error) {
		args := append([]string{"--tool=callgrind", "--callgrind-out-file=" + filepath.Join(dir, "callgrind.out."+strconv.Itoa(cycles))}, argv...)
		args = append(args, cycleChildSubcommand, "--store", storeName, "--pairs", strconv.Itoa(pairs), "--cycles", strconv.Itoa(cycles))
		cmd := exec.CommandContext(ctx, valgrind, args...)
		// Go's asynchronous preemption signals abort callgrind; one P keeps
		// idle processors from spinning, which would count the scheduler's
		// waiting as work.
		cmd.Env = append(os.Environ(), "GODEBUG="+withGODEBUG(os.Getenv("GODEBUG"), "asyncpreemptoff=1"), "GOMAXPROCS=1")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("callgrind run of %d cycles: %w: %s", cycles, err, lastLines(errOut.String(), 5))
		}
		var res cycleChildResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Total <= 0 {
			return 0, 0, fmt.Errorf("callgrind run of %d cycles: bad child output %q", cycles, out.String())
		}
		m := callgrindCollected.FindStringSubmatch(errOut.String())
		if m == nil {
			return 0, 0, fmt.Errorf("callgrind run of %d cycles: no instruction count in its output: %s", cycles, lastLines(errOut.String(), 5))
		}
		ir, err = strconv.ParseUint(m[1], 10, 64)
		return res.Total, ir, err
	}
	if ci.CyclesLow, ci.IrLow, err = one(low); err != nil {
		return ci, err
	}
	if ci.CyclesHigh, ci.IrHigh, err = one(high); err != nil {
		return ci, err
	}
	if ci.CyclesHigh <= ci.CyclesLow || ci.IrHigh <= ci.IrLow {
		return ci, fmt.Errorf("callgrind: %d instructions for %d cycles and %d for %d: not comparable", ci.IrLow, ci.CyclesLow, ci.IrHigh, ci.CyclesHigh)
	}
	ci.PerDM = float64(ci.IrHigh-ci.IrLow) / float64(ci.CyclesHigh-ci.CyclesLow)
	return ci, nil
}

// withGODEBUG adds setting to a GODEBUG value.
func withGODEBUG(cur, setting string) string {
	if cur == "" {
		return setting
	}
	return cur + "," + setting
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
