package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dmchat/dmchat/core/bench"
)

// serverSubcommand is the hidden "sandbox bench _server": the benchmark's
// server side, run by the tool as a child process.
const serverSubcommand = "_server"

// runBench is "sandbox bench": the load tool (see core/bench).
func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == serverSubcommand {
		return runBenchServer(args[1:], stderr)
	}
	if bench.IsCycleChild(args) {
		if err := bench.RunCycleChild(context.Background(), args[1:], stdout, stderr); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	if bench.IsAttackChild(args) {
		if err := bench.RunAttackChild(context.Background(), os.Stdin, stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o          bench.Options
		workloads  stringList
		targets    stringList
		rates      string
		crossRates string
		n          int
		jsonOut    bool
		jsonFile   string
		cpuProfile string
	)
	fs.Var(&workloads, "workload", "workload to run: "+strings.Join(bench.AllWorkloads, ", ")+", "+bench.WorkloadFanout+
		" or all (repeatable; default all, which leaves out "+bench.WorkloadFanout+")")
	var fanoutInstances string
	fs.StringVar(&fanoutInstances, "instances", "", "fanout: cluster sizes to measure, comma-separated, 2 to 8 (default 2,4,8)")
	fs.IntVar(&o.Fanout.Pairs, "fanout-pairs", 0, "fanout: sender/recipient pairs (default 64, short 32)")
	fs.IntVar(&o.Fanout.PerPair, "fanout-dms", 0, "fanout: DMs each sender sends (default 100, short 30)")
	fs.BoolVar(&o.Short, "short", false, "a short version of every workload (make bench: under 2 minutes)")
	fs.IntVar(&n, "n", 0, "size of the workload: pairs for pairs/cross, sockets for idle, clients for storm")
	fs.IntVar(&o.Pairs, "pairs", 0, "pairs for pairs/cross (default 200, short 100)")
	fs.StringVar(&rates, "rates", "", "offered rates of the one-instance steps, DMs/s, comma-separated")
	fs.StringVar(&crossRates, "cross-rates", "", "offered rates of the cross-instance steps")
	fs.DurationVar(&o.Step, "step", 0, "how long each rate is offered (default 5s, short 2s)")
	fs.DurationVar(&o.Drain, "drain", 0, "how long a step waits for stragglers (default 5s, short 2s)")
	fs.IntVar(&o.ContentBytes, "content-bytes", 0, "content size of each DM (default 64)")
	fs.IntVar(&o.IdleSockets, "sockets", 0, "idle sockets (default 20000, short 2000)")
	fs.DurationVar(&o.IdleFor, "idle-for", 0, "how long idle CPU is measured (default 5s, short 2s)")
	fs.IntVar(&o.ReplayK, "k", 0, "pending messages for the replay workload (default 10000)")
	fs.IntVar(&o.StormClients, "clients", 0, "storm clients (default 2000, short 500)")
	fs.IntVar(&o.StormPending, "pending", 0, "pending messages per storm client (default 5; -1 for none)")
	fs.IntVar(&o.HostilePairs, "hostile-pairs", 0, "legitimate pairs of the hostile workload (default 100)")
	fs.IntVar(&o.HostileRate, "hostile-rate", 0, "their steady rate, DMs/s (default 1000)")
	fs.DurationVar(&o.HostilePhase, "hostile-phase", 0, "how long each hostile phase lasts (default 5s, short 2s)")
	fs.IntVar(&o.HostileSockets, "hostile-sockets", 0, "non-reading sockets of one user (default 300, short 100)")
	fs.IntVar(&o.HostileConns, "hostile-conns", 0, "slowloris and idle keep-alive connections, each (default 1000, short 300)")
	fs.IntVar(&o.HostileBcryptCost, "hostile-bcrypt", 0, "bcrypt cost of the hostile workload's server (default 10, short 6)")
	fs.Var(&targets, "target", "base URL of a running server to load instead of starting one (repeatable; cross needs two)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "with --target: the server process to read CPU and memory from")
	fs.StringVar(&o.WSPath, "ws-path", "", "with --target: the WebSocket path (default /ws)")
	fs.StringVar(&o.Server.DB, "db", "", "DB_URI of the bench servers (default sqlite in a temporary directory; postgres://... or mem)")
	fs.StringVar(&o.Server.Redis, "redis", "", "Redis for cross: auto (redis-server if found, else miniredis), miniredis, redis-server, or a redis:// URL")
	fs.StringVar(&o.Server.LogFile, "log-file", "", `where the servers' production JSON logs go (default a file in the temporary directory; "discard" for io.Discard)`)
	fs.StringVar(&o.Server.PprofAddr, "pprof", "", "serve net/http/pprof of the (first) bench server on this loopback host:port")
	fs.StringVar(&o.Server.Dir, "dir", "", "directory of the bench servers' database and log (default a new temporary one, removed after)")
	fs.BoolVar(&o.InProcess, "inprocess", false, "run the servers in the tool's process (CPU figures then include the tool)")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON on standard output instead of the table")
	fs.StringVar(&jsonFile, "json-file", "", "also write the JSON report to this file")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := refuseNegative(fs, "pending"); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	for _, w := range workloads {
		for _, x := range strings.Split(w, ",") {
			if x == "all" {
				o.Workloads = append(o.Workloads, bench.AllWorkloads...)
			} else if x != "" {
				o.Workloads = append(o.Workloads, x)
			}
		}
	}
	var err error
	if o.Rates, err = parseRates(rates); err != nil {
		fmt.Fprintln(stderr, "bench: --rates:", err)
		return 2
	}
	if o.CrossRates, err = parseRates(crossRates); err != nil {
		fmt.Fprintln(stderr, "bench: --cross-rates:", err)
		return 2
	}
	if o.Fanout.Instances, err = parseRates(fanoutInstances); err != nil {
		fmt.Fprintln(stderr, "bench: --instances:", err)
		return 2
	}
	if n > 0 {
		o.Pairs = n
		o.IdleSockets = n
		o.StormClients = n
	}
	o.Targets = targets
	o.Progress = stderr
	o.ServerStderr = stderr
	if !o.InProcess && len(o.Targets) == 0 {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "bench: cannot find this program to start the server process:", err)
			return 1
		}
		o.ServerArgv = []string{exe, "bench", serverSubcommand}
	}
	if exe, err := os.Executable(); err == nil {
		o.ChildArgv = []string{exe, "bench"}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	// The tool's heap is small and steady: collecting it less often keeps
	// its GC from delaying sends (the servers, in their own process, keep
	// the default).
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	rep, runErr := bench.Run(ctx, o)
	if rep == nil {
		fmt.Fprintln(stderr, runErr)
		return 2
	}
	if jsonFile != "" {
		if f, err := os.Create(jsonFile); err == nil {
			_ = rep.WriteJSON(f)
			_ = f.Close()
		} else {
			fmt.Fprintln(stderr, "bench:", err)
		}
	}
	if jsonOut {
		_ = rep.WriteJSON(stdout)
	} else {
		_ = rep.WriteTable(stdout)
		fmt.Fprintf(stdout, "\nbench took %.0f s\n", time.Since(started).Seconds())
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "bench:", runErr)
		return 1
	}
	return 0
}

// runBenchServer is the child process: the bench's server side.
func runBenchServer(args []string, stderr io.Writer) int {
	so, err := bench.ParseServerArgs(args, stderr)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := bench.Serve(ctx, so, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r, err := strconv.Atoi(f)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("bad rate %q: want a positive whole number of DMs/s", f)
		}
		out = append(out, r)
	}
	return out, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// refuseNegative refuses a negative number or duration given to any flag
// but the exempt ones: 0 means the workload's default, so a negative one
// would otherwise run the default without a word.
func refuseNegative(fs *flag.FlagSet, exempt ...string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if err != nil || !ok || slices.Contains(exempt, f.Name) {
			return
		}
		switch v := g.Get().(type) {
		case int:
			if v < 0 {
				err = fmt.Errorf("--%s must be 0 (the default) or more, not %d", f.Name, v)
			}
		case time.Duration:
			if v < 0 {
				err = fmt.Errorf("--%s must be 0 (the default) or longer, not %v", f.Name, v)
			}
		}
	})
	return err
}
