package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/sandbox"
	"github.com/dmchat/dmchat/tui"
)

// tuiFlags are the flags of the terminal UI.
type tuiFlags struct {
	db        string
	redisDown bool
	users     int
	logFile   string
	scenario  string
	noConnect bool
	portA     int
	portB     int
}

func parseTUIFlags(args []string, stderr io.Writer) (tuiFlags, error) {
	var f tuiFlags
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.db, "db", "mem", "store URI shared by the instances: mem, sqlite:PATH or postgres://...")
	fs.BoolVar(&f.redisDown, "redis-down", false, "start with Redis stopped (press R to start it)")
	fs.IntVar(&f.users, "users", 4, "create user1..userN and an admin (password "+sandbox.DefaultPassword+")")
	fs.StringVar(&f.logFile, "log-file", "", "also write every log line as JSON to this file")
	fs.StringVar(&f.scenario, "scenario", "", "open this scenario file in the scenario pane")
	fs.BoolVar(&f.noConnect, "no-connect", false, "leave the users disconnected at start (default: user1 on A, user2 on B, ...)")
	fs.IntVar(&f.portA, "port-a", 0, "serve instance A (API, WebSocket and web client) on this loopback port (default: a free one)")
	fs.IntVar(&f.portB, "port-b", 0, "serve instance B on this loopback port (default: a free one)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sandbox [--db URI] [--redis-down] [--users N] [--port-a N] [--port-b N] [--log-file PATH] [--scenario FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if err := f.check(fs); err != nil {
		// The flag package prints its own errors; these are ours.
		fmt.Fprintf(stderr, "sandbox: %v\n", err)
		return f, err
	}
	return f, nil
}

// check refuses what the flags allow but the sandbox cannot do.
func (f tuiFlags) check(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the commands are run, bench, token and help)", fs.Arg(0))
	}
	if f.users < 0 {
		return fmt.Errorf("--users must be 0 or more")
	}
	for _, p := range []int{f.portA, f.portB} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("--port-a and --port-b must be ports (1-65535), or 0 for a free one")
		}
	}
	if f.portA != 0 && f.portA == f.portB {
		return fmt.Errorf("--port-a and --port-b must differ")
	}
	return nil
}

// runTUI starts the cluster and runs the terminal UI on it until q; the
// cluster is shut down before it returns.
func runTUI(args []string, stdout, stderr io.Writer) int {
	f, err := parseTUIFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if f.scenario != "" {
		if _, err := os.Stat(f.scenario); err != nil {
			fmt.Fprintf(stderr, "sandbox: %v\n", err)
			return 2
		}
	}
	fmt.Fprintln(stderr, "sandbox: starting instances A and B…")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c, err := sandbox.Start(ctx, sandbox.Options{
		DBURI:     f.db,
		RedisDown: f.redisDown,
		Users:     f.users,
		LogFile:   f.logFile,
		LogLevel:  zapcore.DebugLevel,
		Ports:     map[string]int{"A": f.portA, "B": f.portB},
	})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "sandbox: %v\n", err)
		return 1
	}
	m := tui.New(tui.Options{Cluster: c, AutoConnect: !f.noConnect, ScenarioFile: f.scenario})
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithOutput(stdout)}
	_, runErr := tea.NewProgram(m, opts...).Run()
	closeErr := m.Shutdown() // already done when the user quit with q
	switch {
	case errors.Is(runErr, tea.ErrInterrupted) && closeErr == nil:
		// SIGINT from outside the terminal (in the UI ^C is a key): a
		// stop like q, reported with the shell's code for it.
		fmt.Fprintln(stderr, "sandbox: interrupted; instances A and B stopped")
		return 130
	case runErr != nil:
		fmt.Fprintf(stderr, "sandbox: %v\n", runErr)
		return 1
	case closeErr != nil:
		fmt.Fprintf(stderr, "sandbox: shutdown: %v\n", closeErr)
		return 1
	}
	return 0
}
