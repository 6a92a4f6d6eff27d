package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/core/sandbox/history"
	"github.com/dmchat/dmchat/core/sandbox/scenario"
)

// runFlags are the flags of "sandbox run".
type runFlags struct {
	jsonPath, junitPath, historyPath string
	recheck                          string
	db, logFile                      string
	seed                             int64
	trace                            string
	verbose, quiet                   bool
}

// runScenarios is "sandbox run [flags] FILE...": it parses every file first
// (reporting every error with file and line before anything runs), runs
// them one after the other, each on a fresh sandbox, prints each step as
// PASS/FAIL and a gate table per file, writes the --json, --junit and
// --history reports, and exits 0 only when everything passed (1 when
// something failed, 2 for bad usage or files).
func runScenarios(args []string, stdout, stderr io.Writer) int {
	var f runFlags
	fs := flag.NewFlagSet("sandbox run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.jsonPath, "json", "", "write a JSON report of every run to `FILE`")
	fs.StringVar(&f.junitPath, "junit", "", "write a JUnit XML report to `FILE` (for CI)")
	fs.StringVar(&f.historyPath, "history", "", "save every run's history (events, seed, user names) to `FILE` as JSON")
	fs.StringVar(&f.recheck, "check-history", "", "check a history saved with --history again and exit (no scenario runs)")
	fs.StringVar(&f.db, "db", "", "store `URI` for every run, overriding the scripts' db= (mem, sqlite:PATH, postgres://...; \"sqlite\": a fresh SQLite file per run)")
	fs.StringVar(&f.logFile, "log-file", "", "append every instance's log lines, as JSON, to `FILE`")
	fs.Int64Var(&f.seed, "seed", 0, "override every script's seed (to reproduce a run)")
	fs.BoolVar(&f.verbose, "v", false, "also print the instances' log lines")
	fs.StringVar(&f.trace, "trace", "", "after each run, print the timeline of message `MSGID` across every instance (send, persist, ack, publish, deliver, DELIVERED, state, replays)")
	fs.BoolVar(&f.quiet, "q", false, "print only failed steps, the checker's verdicts and the gate tables")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sandbox run [flags] FILE...")
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.recheck != "" {
		return recheckHistory(f.recheck, stdout, stderr)
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}

	// Every file is parsed before anything runs.
	var scripts []*scenario.Script
	bad := false
	for _, path := range files {
		sc, err := parseFile(path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			bad = true
			continue
		}
		scripts = append(scripts, sc)
	}
	if bad {
		fmt.Fprintln(stderr, "sandbox: nothing was run")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logOut io.Writer
	if f.verbose {
		logOut = stderr
	}
	start := time.Now()
	var reports []*scenario.Report
	for _, sc := range scripts {
		var out io.Writer = stdout
		if f.quiet {
			out = &failuresOnly{w: stdout}
		}
		fmt.Fprintf(stdout, "== %s\n", sc.Name)
		db, cleanup, err := runDB(f.db)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		rep, err := scenario.Run(ctx, sc, scenario.RunOptions{
			Seed: f.seed, DB: db, Out: out, LogOutput: logOut, LogFile: f.logFile,
		})
		cleanup()
		if err != nil {
			fmt.Fprintf(stdout, "FAIL  %v\n", err)
		}
		if rep != nil {
			fmt.Fprintln(stdout)
			rep.WriteGateTable(stdout)
			if !rep.Passed() {
				fmt.Fprintf(stdout, "replay it: %s\n", replayCommand(rep, f.db))
			}
			if f.trace != "" {
				writeTrace(stdout, rep, f.trace)
			}
			fmt.Fprintln(stdout)
			reports = append(reports, rep)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "sandbox: interrupted")
			break
		}
	}

	failed := 0
	for _, r := range reports {
		if !r.Passed() {
			failed++
		}
	}
	if len(reports) < len(scripts) {
		failed += len(scripts) - len(reports)
	}
	code := 0
	if failed > 0 {
		code = 1
	}
	if len(reports) > 1 || code != 0 {
		writeSummary(stdout, reports, f.db)
	}
	fmt.Fprintf(stdout, "%d of %d scenario file(s) passed in %s\n", len(scripts)-failed, len(scripts), time.Since(start).Round(time.Millisecond))

	if err := writeReports(f, reports); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return code
}

// parseInterleaved parses flags that may come before, between or after the
// file names, and returns the file names.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if rest[0] == "--" {
			return append(files, rest[1:]...), nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

func parseFile(path string) (*scenario.Script, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer fh.Close()
	return scenario.Parse(path, fh)
}

// failuresOnly passes on the step lines that did not pass (and their
// detail lines), and the checker's line.
type failuresOnly struct {
	w    io.Writer
	keep bool
}

func (f *failuresOnly) Write(p []byte) (int, error) {
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !bytes.HasPrefix(line, []byte(" ")) {
			f.keep = !bytes.HasPrefix(line, []byte("PASS  ")) || bytes.Contains(line, []byte(" history: "))
		}
		if f.keep {
			if _, err := f.w.Write(line); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// writeTrace prints the timeline of message mid in rep's run.
func writeTrace(w io.Writer, rep *scenario.Report, mid string) {
	tl := sandbox.Timeline(mid, rep.History, rep.Logs, rep.Names)
	fmt.Fprintf(w, "\n## Timeline of message %s (%d entries)\n\n", mid, len(tl))
	if len(tl) == 0 {
		fmt.Fprintln(w, "no event or log line names it in this run")
		return
	}
	fmt.Fprint(w, sandbox.FormatTimeline(tl))
}

// runDB is the store URI of one run: "sqlite" means a fresh SQLite file
// in a directory of its own, removed by cleanup, so every run starts
// empty as on the memory store.
func runDB(db string) (uri string, cleanup func(), err error) {
	if db != "sqlite" {
		return db, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "sandbox-run-")
	if err != nil {
		return "", nil, fmt.Errorf("sandbox: %w", err)
	}
	return "sqlite:" + filepath.Join(dir, "run.db"), func() { _ = os.RemoveAll(dir) }, nil
}

// replayCommand is the command line that runs a failed report's script
// again with the same seed and store.
func replayCommand(r *scenario.Report, db string) string {
	cmd := fmt.Sprintf("go run ./cmd/sandbox run --seed %d", r.Seed)
	if db != "" {
		cmd += " --db " + shellQuote(db)
	}
	return cmd + " " + shellQuote(r.Script)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeSummary prints one line per file and the failed steps again, so a
// long run's failures are found at the end of its output.
func writeSummary(w io.Writer, reports []*scenario.Report, db string) {
	fmt.Fprintln(w, "## Summary")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Scenario | Steps | Failed | History | Status |")
	fmt.Fprintln(w, "|----------|-------|--------|---------|--------|")
	for _, r := range reports {
		failedSteps := 0
		for _, s := range r.Steps {
			if s.Status == scenario.Fail {
				failedSteps++
			}
		}
		hist := "not checked"
		if r.Check != nil {
			hist = "ok"
			if !r.Check.OK() {
				hist = fmt.Sprintf("%d violation(s), seed %d", len(r.Check.Violations)+r.Check.Omitted, r.Seed)
			}
		}
		status := scenario.Pass
		if !r.Passed() {
			status = scenario.Fail
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | **%s** |\n", r.Script, len(r.Steps), failedSteps, hist, status)
	}
	fmt.Fprintln(w)
	for _, r := range reports {
		for _, s := range r.Steps {
			if s.Status == scenario.Fail {
				fmt.Fprintln(w, s.Line())
			}
		}
		if r.Err != "" {
			fmt.Fprintf(w, "FAIL  %s: %s\n", r.Script, r.Err)
		}
		if r.Check != nil && !r.Check.OK() {
			fmt.Fprintf(w, "FAIL  %s: %s\n", r.Script, r.Check)
		}
		if !r.Passed() {
			fmt.Fprintf(w, "replay it: %s\n", replayCommand(r, db))
		}
	}
}

// writeReports writes the --json, --junit and --history files.
func writeReports(f runFlags, reports []*scenario.Report) error {
	var errs []error
	write := func(path string, fn func(io.Writer) error) {
		if path == "" {
			return
		}
		if dir := filepath.Dir(path); dir != "." {
			_ = os.MkdirAll(dir, 0o755)
		}
		fh, err := os.Create(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("sandbox: %w", err))
			return
		}
		if err := fn(fh); err != nil {
			errs = append(errs, err)
		}
		if err := fh.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sandbox: %w", err))
		}
	}
	write(f.jsonPath, func(w io.Writer) error { return scenario.WriteJSON(w, reports) })
	write(f.junitPath, func(w io.Writer) error { return scenario.WriteJUnit(w, reports) })
	if f.historyPath != "" {
		var hf history.File
		for _, r := range reports {
			hf.Runs = append(hf.Runs, history.Run{Name: r.Script, Seed: r.Seed, Names: r.Names, Events: r.History})
		}
		if err := history.WriteFile(f.historyPath, hf); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recheckHistory runs the checker over a saved history file.
func recheckHistory(path string, stdout, stderr io.Writer) int {
	hf, err := history.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	code := 0
	for _, r := range hf.Runs {
		res := history.Check(r.Events, history.CheckOptions{Seed: r.Seed, Names: r.Names})
		status := scenario.Pass
		if !res.OK() {
			status, code = scenario.Fail, 1
		}
		fmt.Fprintf(stdout, "%-5s %s: %s\n", status, r.Name, strings.ReplaceAll(res.String(), "\n", "\n      "))
	}
	return code
}
