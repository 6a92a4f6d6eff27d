package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/client"
)

// Workload names.
const (
	WorkloadPairs  = "pairs"  // pairs on one instance
	WorkloadCross  = "cross"  // pairs across two instances over Redis
	WorkloadIdle   = "idle"   // idle authenticated sockets
	WorkloadReplay = "replay" // one recipient with K pending reconnects
	WorkloadStorm  = "storm"  // N clients with pending messages reconnect at once
	// WorkloadHostile is pairs at a steady rate under attack (see runHostile).
	WorkloadHostile = "hostile"
)

// AllWorkloads is every workload, in the order "all" (and make bench's
// --short run) runs them.
var AllWorkloads = []string{WorkloadPairs, WorkloadCross, WorkloadIdle, WorkloadReplay, WorkloadStorm, WorkloadHostile, WorkloadCycle}

// Options configure Run. The zero value runs every workload at full size
// against servers the tool starts in a child process (which needs
// ServerArgv) — see each field for its default and its --short default.
type Options struct {
	// Workloads to run; empty means AllWorkloads.
	Workloads []string
	// Short makes every default smaller and every step briefer (make
	// bench: all workloads in well under two minutes).
	Short bool

	// Pairs is the number of sender/recipient pairs. Default 200 (short 100).
	Pairs int
	// Rates are the offered rates of the one-instance steps, DMs/s.
	// Default 2000, 5000, 10000, 15000, 20000, 22500, 25000, 30000, 40000
	// (short 5000, 10000, 12500, 15000, 20000, 22500). Steps stop at the
	// first rate not sustained. A step above 20,000/s is what can show the
	// ≥ 20,000/s target met: a step's achieved rate never exceeds what it
	// offered.
	Rates []int
	// CrossRates are the cross-instance steps. Default 2000, 5000, 10000,
	// 15000, 20000 (short 5000, 10000, 12500).
	CrossRates []int
	// Step is how long each rate is offered. Default 5 s (short 2 s).
	Step time.Duration
	// Drain is how long a step waits for stragglers after its last send.
	// Default 5 s (short 2 s).
	Drain time.Duration
	// ContentBytes is the size of each message's content. Default 64.
	ContentBytes int

	// IdleSockets is the idle workload's size. Default 20000 (short 2000).
	IdleSockets int
	// IdleFor is how long the idle CPU is measured. Default 5 s (short 2 s).
	IdleFor time.Duration
	// ReplayK is how many messages wait for the replay workload's
	// recipient. Default 10000 (short too: it is the target's figure).
	ReplayK int
	// StormClients and StormPending size the storm workload. Defaults 2000
	// clients with 5 pending messages each (short 500).
	StormClients int
	StormPending int

	// HostilePairs is how many legitimate pairs the hostile workload runs.
	// Default 100 (short too).
	HostilePairs int
	// HostileRate is their steady rate, DMs/s. Default 1000 (short too).
	HostileRate int
	// HostilePhase is how long each hostile phase offers the legitimate
	// load. Default 5 s (short 2 s).
	HostilePhase time.Duration
	// HostileSockets is how many sockets the non-reading user opens (the
	// send flood uses at most 40). Default 300 (short 100).
	HostileSockets int
	// HostileConns is how many slowloris connections, and how many idle
	// keep-alive connections, the hostile workload opens. Default 1000
	// (short 300).
	HostileConns int
	// HostileBcryptCost is the password hashing cost of the hostile
	// workload's server: the login storm's weight depends on it. Default
	// 10, bcrypt's own default (short 6, so that setting up its 200 users
	// stays quick); an explicit Server.BcryptCost wins.
	HostileBcryptCost int

	// Targets are base URLs (http://127.0.0.1:8000) of running servers to
	// load instead of starting any. The cross workload needs two.
	Targets []string
	// ServerPID is the process to read CPU and memory from when Targets
	// are given; 0 means those figures are not measured.
	ServerPID int
	// WSPath is the targets' WebSocket path; default "/ws".
	WSPath string

	// Fanout sizes the fanout workload (fanout.go).
	Fanout FanoutOptions

	// Server configures the servers the tool starts.
	Server ServerOptions
	// ServerArgv is the command that runs Serve in a child process (the
	// same binary's hidden subcommand); ServerOptions.Args are appended.
	// Empty, or InProcess, runs the servers in this process instead (their
	// CPU then includes the tool's, and the report says so).
	ServerArgv []string
	InProcess  bool
	// ChildArgv is the command of this program's "bench", whose hidden
	// subcommands run the tool's children: the cycle child
	// (RunCycleChild; with valgrind on PATH the cycle workload also counts
	// instructions per cycle under callgrind) and the hostile workload's
	// attackers (RunAttackChild), in a process apart from the legitimate
	// clients it times. Empty skips that count and runs the attackers in
	// this process.
	ChildArgv []string

	// Progress receives progress lines while the benchmark runs; nil
	// means io.Discard.
	Progress io.Writer
	// ServerStderr receives the child's standard error; nil means
	// os.Stderr.
	ServerStderr io.Writer
}

func (o Options) withDefaults() Options {
	pick := func(full, short int) int {
		if o.Short {
			return short
		}
		return full
	}
	pickD := func(full, short time.Duration) time.Duration {
		if o.Short {
			return short
		}
		return full
	}
	if len(o.Workloads) == 0 {
		o.Workloads = AllWorkloads
	}
	if o.Pairs <= 0 {
		o.Pairs = pick(200, 100)
	}
	if len(o.Rates) == 0 {
		o.Rates = []int{2000, 5000, 10000, 15000, 20000, 22500, 25000, 30000, 40000}
		if o.Short {
			o.Rates = []int{5000, 10000, 12500, 15000, 20000, 22500}
		}
	}
	if len(o.CrossRates) == 0 {
		o.CrossRates = []int{2000, 5000, 10000, 15000, 20000}
		if o.Short {
			o.CrossRates = []int{5000, 10000, 12500}
		}
	}
	o.Rates, o.CrossRates = sortedRates(o.Rates), sortedRates(o.CrossRates)
	if o.Step <= 0 {
		o.Step = pickD(5*time.Second, 2*time.Second)
	}
	if o.Drain <= 0 {
		o.Drain = pickD(5*time.Second, 2*time.Second)
	}
	if o.ContentBytes <= 0 {
		o.ContentBytes = 64
	}
	if o.IdleSockets <= 0 {
		o.IdleSockets = pick(20000, 2000)
	}
	if o.IdleFor <= 0 {
		o.IdleFor = pickD(5*time.Second, 2*time.Second)
	}
	if o.ReplayK <= 0 {
		o.ReplayK = 10000
	}
	if o.StormClients <= 0 {
		o.StormClients = pick(2000, 500)
	}
	if o.StormPending < 0 {
		o.StormPending = 0
	} else if o.StormPending == 0 {
		o.StormPending = 5
	}
	if o.HostilePairs <= 0 {
		o.HostilePairs = 100
	}
	if o.HostileRate <= 0 {
		o.HostileRate = 1000
	}
	if o.HostilePhase <= 0 {
		o.HostilePhase = pickD(5*time.Second, 2*time.Second)
	}
	if o.HostileSockets <= 0 {
		o.HostileSockets = pick(300, 100)
	}
	if o.HostileConns <= 0 {
		o.HostileConns = pick(1000, 300)
	}
	if o.HostileBcryptCost <= 0 {
		o.HostileBcryptCost = pick(10, 6)
	}
	if o.WSPath == "" {
		o.WSPath = "/ws"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ServerStderr == nil {
		o.ServerStderr = os.Stderr
	}
	return o
}

// ErrUnknownWorkload is returned by Run for a workload name it does not know.
var ErrUnknownWorkload = errors.New("bench: unknown workload")

// env is one workload's run: its options, its server and its clients.
type env struct {
	o     Options
	srv   serverSide
	apis  []*client.API
	runID string

	logMu sync.Mutex // guards writes to o.Progress
}

func (e *env) logf(format string, args ...any) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.o.Progress, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// progressLoop prints line(elapsed) every second until the returned stop
// is called.
func (e *env) progressLoop(line func(time.Duration) string, t0 time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				e.logf("%s", line(time.Since(t0)))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Run runs the chosen workloads and returns the report. Each workload gets
// a fresh server (unless Targets are given). A workload that fails is
// noted in the report and the others still run; the error returned joins
// the failures.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	for _, w := range o.Workloads {
		if !isWorkload(w) {
			return nil, fmt.Errorf("%w %q (want %s)", ErrUnknownWorkload, w, strings.Join(AllWorkloads, ", "))
		}
	}
	RaiseFileLimit(1 << 18)
	rep := newReport(o)
	var errs []error
	for _, w := range o.Workloads {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if err := runWorkload(ctx, o, w, rep); err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s failed: %v", w, err))
			fmt.Fprintf(o.Progress, "%s  %s failed: %v\n", time.Now().Format("15:04:05"), w, err)
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
		}
	}
	rep.finish(o)
	return rep, errors.Join(errs...)
}

func isWorkload(w string) bool {
	if w == WorkloadFanout {
		return true
	}
	for _, k := range AllWorkloads {
		if w == k {
			return true
		}
	}
	return false
}

// runWorkload starts the workload's server, runs it and records it.
func runWorkload(ctx context.Context, o Options, w string, rep *Report) error {
	switch w {
	case WorkloadCycle: // in this process, no server and no network
		res, err := (&env{o: o}).runCycle(ctx)
		rep.Cycle = res
		return err
	case WorkloadFanout: // starts a server per cluster size itself
		res, err := runFanout(ctx, o, rep)
		rep.Fanout = res
		return err
	}
	instances := 1
	if w == WorkloadCross {
		instances = 2
	}
	so := o
	if w == WorkloadHostile {
		// The hostile workload measures the server's defences: its limits
		// stay at their defaults, and passwords cost what they would.
		so.Server.ProductionLimits = true
		if so.Server.BcryptCost == 0 {
			so.Server.BcryptCost = o.HostileBcryptCost
		}
	}
	srv, err := startServer(ctx, so, instances)
	if err != nil {
		return err
	}
	defer srv.Close()
	rep.noteServer(srv, o)
	e := &env{o: o, srv: srv, runID: newRunID()}
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	for _, u := range srv.Info().URLs {
		e.apis = append(e.apis, &client.API{BaseURL: u, HTTP: hc})
	}
	switch w {
	case WorkloadPairs:
		res, err := e.runPairs(ctx, false)
		rep.Pairs = res
		return err
	case WorkloadCross:
		e.o.Rates = o.CrossRates
		res, err := e.runPairs(ctx, true)
		rep.Cross = res
		return err
	case WorkloadIdle:
		res, err := e.runIdle(ctx)
		rep.Idle = res
		return err
	case WorkloadReplay:
		res, err := e.runReplay(ctx)
		rep.Replay = res
		return err
	case WorkloadStorm:
		res, err := e.runStorm(ctx)
		rep.Storm = res
		return err
	case WorkloadHostile:
		res, err := e.runHostile(ctx)
		rep.Hostile = res
		return err
	}
	return nil
}

// startServer starts (or, with targets, describes) the server side.
func startServer(ctx context.Context, o Options, instances int) (serverSide, error) {
	if len(o.Targets) > 0 {
		if len(o.Targets) < instances {
			return nil, fmt.Errorf("bench: this workload needs %d --target URLs", instances)
		}
		urls := make([]string, len(o.Targets))
		for i, t := range o.Targets {
			urls[i] = strings.TrimSuffix(t, "/")
		}
		return &targetServer{ready: Ready{URLs: urls, WSPath: o.WSPath, PID: o.ServerPID}, pid: o.ServerPID}, nil
	}
	so := o.Server
	so.Instances = instances
	if o.InProcess || len(o.ServerArgv) == 0 {
		return startInProcess(ctx, so)
	}
	argv := append(append([]string(nil), o.ServerArgv...), so.Args()...)
	return spawnServer(ctx, argv, o.ServerStderr)
}

// newRunID names one run's users and messages, so runs against a
// persistent target never collide.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "b" + hex.EncodeToString(b[:])
}
