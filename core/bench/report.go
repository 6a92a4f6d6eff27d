package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a benchmark run measured.
type Report struct {
	Started  time.Time      `json:"started"`
	Short    bool           `json:"short"`
	Machine  Machine        `json:"machine"`
	Settings Settings       `json:"settings"`
	Pairs    *PairsResult   `json:"pairs,omitempty"`
	Cross    *PairsResult   `json:"cross,omitempty"`
	Idle     *IdleResult    `json:"idle,omitempty"`
	Replay   *ReplayResult  `json:"replay,omitempty"`
	Storm    *StormResult   `json:"storm,omitempty"`
	Hostile  *HostileResult `json:"hostile,omitempty"`
	Cycle    *CycleResult   `json:"cycle,omitempty"`
	Fanout   *FanoutResult  `json:"fanout,omitempty"`
	Targets  []Check        `json:"targets"`
	Notes    []string       `json:"notes,omitempty"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPU        string  `json:"cpu"`
	Cores      int     `json:"cores"`
	MemGiB     float64 `json:"memGiB"`
	Kernel     string  `json:"kernel"`
	GoVersion  string  `json:"goVersion"`
	FsyncDir   string  `json:"fsyncDir"`
	FsyncP50Ms float64 `json:"fsyncP50Ms"`
	FsyncP99Ms float64 `json:"fsyncP99Ms"`
}

// Settings are the server settings the figures were measured with.
type Settings struct {
	Server      string  `json:"server"` // child process, in-process, or target
	DB          string  `json:"db"`
	Synchronous string  `json:"synchronous,omitempty"`
	Redis       string  `json:"redis,omitempty"`
	Log         string  `json:"log"`
	WSRate      float64 `json:"wsRate"`
	WSBurst     int     `json:"wsBurst"`
	BcryptCost  int     `json:"bcryptCost"`
	Pairs       int     `json:"pairs"`
	StepS       float64 `json:"stepS"`
	Content     int     `json:"contentBytes"`
}

// Check is one figure against its target.
type Check struct {
	Workload string `json:"workload"`
	Figure   string `json:"figure"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	// Status is "MET", "NOT MET" or "NOT MEASURED".
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

// Check statuses.
const (
	StatusMet         = "MET"
	StatusNotMet      = "NOT MET"
	StatusNotMeasured = "NOT MEASURED"
)

func newReport(o Options) *Report {
	return &Report{
		Started: time.Now(), Short: o.Short, Machine: machineInfo(),
		Settings: Settings{Pairs: o.Pairs, StepS: o.Step.Seconds(), Content: o.ContentBytes},
	}
}

// noteServer records the server settings (once) and measures fsync where
// the database lives.
func (r *Report) noteServer(srv serverSide, o Options) {
	info := srv.Info()
	s := &r.Settings
	if s.Server == "" {
		switch {
		case len(o.Targets) > 0 && o.ServerPID > 0:
			s.Server = fmt.Sprintf("running servers %s (pid %d measured)", strings.Join(o.Targets, " "), o.ServerPID)
		case len(o.Targets) > 0:
			s.Server = fmt.Sprintf("running servers %s (CPU and memory not measured: no --server-pid)", strings.Join(o.Targets, " "))
		case srv.Separate():
			s.Server = "child process (its own CPU and memory measured; the load tool runs in the parent)"
		default:
			s.Server = "in-process (CPU and memory figures include the load tool)"
		}
		s.DB, s.Log, s.WSRate, s.WSBurst, s.BcryptCost = info.DB, info.LogFile, info.Rate, info.Burst, info.Bcrypt
		if s.Log != "" && s.Log != "discard" {
			s.Log = "production JSON logger (Info level) to the file " + s.Log
		} else if s.Log == "discard" {
			s.Log = "production JSON logger (Info level) to io.Discard"
		}
		if strings.HasPrefix(info.DB, "sqlite:") {
			s.Synchronous = "FULL, WAL (the store's fixed setting)"
		}
		if s.DB == "" {
			s.DB = "unknown (target)"
		}
	}
	if info.Redis != "" {
		s.Redis = info.Redis
	}
	if r.Machine.FsyncDir == "" {
		dir := os.TempDir()
		if p, ok := strings.CutPrefix(info.DB, "sqlite:"); ok {
			dir = filepath.Dir(p)
		}
		if p50, p99, err := measureFsync(dir, 200); err == nil {
			r.Machine.FsyncDir, r.Machine.FsyncP50Ms, r.Machine.FsyncP99Ms = dir, p50, p99
		}
	}
}

// finish checks each measured figure against its target and collects the
// notes about the tool.
func (r *Report) finish(o Options) {
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " ms" }
	check := func(workload, figure, target, measured string, met bool, note string) {
		st := StatusNotMet
		if met {
			st = StatusMet
		}
		r.Targets = append(r.Targets, Check{workload, figure, target, measured, st, note})
	}
	missing := func(workload, figure, target, note string) {
		r.Targets = append(r.Targets, Check{workload, figure, target, "-", StatusNotMeasured, note})
	}
	if p := r.Pairs; p != nil {
		check("pairs", "DMs/s delivered and acked, one instance", "≥ 20000/s",
			fmt.Sprintf("%.0f/s", p.MaxAchieved), p.MaxAchieved >= 20000, stepNote(p))
		if s, ok := stepAt(p, 10000); ok && s.Completed >= s.Planned {
			check("pairs", "send→delivered p99 at 10000/s", "< 10 ms", ms(s.Deliver.P99), s.Deliver.P99 < 10, "")
		} else {
			missing("pairs", "send→delivered p99 at 10000/s", "< 10 ms", "no completed 10000/s step")
		}
		if s, ok := cpuStep(p); ok && s.CPUPerDM > 0 {
			check("pairs", "server CPU per full DM cycle", "≤ 55 µs at 10000/s",
				fmt.Sprintf("%.1f µs", s.CPUPerDM), s.CPUPerDM <= 55 && s.Offered == 10000, fmt.Sprintf("at %d/s", s.Offered))
		} else {
			missing("pairs", "server CPU per full DM cycle", "≤ 55 µs at 10000/s", "server CPU not measured")
		}
	}
	if c := r.Cross; c != nil {
		note := stepNote(c)
		if !strings.HasPrefix(r.Settings.Redis, "redis-server") {
			note = strings.TrimPrefix(note+"; over "+r.Settings.Redis+", not a real redis-server", "; ")
		}
		check("cross", "DMs/s cross-instance (two instances, Redis bus)", "≥ 12000/s",
			fmt.Sprintf("%.0f/s", c.MaxAchieved), c.MaxAchieved >= 12000, note)
	}
	if i := r.Idle; i != nil {
		if i.Measured {
			note := fmt.Sprintf("heap %.1f KiB + stacks %.1f KiB per socket", i.HeapPerSocket/1024, i.StackPerSocket/1024)
			if i.Note != "" {
				note += "; " + i.Note
			} else if i.Sockets < 20000 {
				note += fmt.Sprintf("; measured at %d sockets, extrapolated per socket (full: --workload idle --n 20000)", i.Sockets)
			}
			check("idle", fmt.Sprintf("server RSS per idle socket (%d sockets)", i.Sockets), "≤ 12 KiB",
				fmt.Sprintf("%.1f KiB", i.RSSPerSocket/1024), i.RSSPerSocket <= 12*1024 && i.Lost == 0, note)
		} else {
			missing("idle", "server RSS per idle socket", "≤ 12 KiB", "server memory not measured (no --server-pid)")
		}
	}
	if rp := r.Replay; rp != nil && len(rp.Runs) > 0 {
		ok := rp.Replayed == rp.Pending && rp.Count == rp.Pending
		note := fmt.Sprintf("median of %d reconnects; runs %s", len(rp.Runs), joinFloats(rp.Runs, "%.3fs"))
		if !ok {
			note += fmt.Sprintf("; replayed %d, REPLAY_DONE count %d, expected %d", rp.Replayed, rp.Count, rp.Pending)
		}
		check("replay", fmt.Sprintf("%d pending messages to REPLAY_DONE", rp.Pending), "< 0.1 s",
			fmt.Sprintf("%.3f s", rp.MedianS), ok && rp.MedianS < 0.1 && rp.Pending >= 10000, note)
	}
	if h := r.Hostile; h != nil {
		r.Targets = append(r.Targets, h.checks()...)
	}
	if cy := r.Cycle; cy != nil {
		r.Targets = append(r.Targets, cy.checks()...)
	}
	for _, p := range []*PairsResult{r.Pairs, r.Cross} {
		if p == nil {
			continue
		}
		for _, s := range p.Steps {
			if s.ToolLimited {
				r.Notes = append(r.Notes, fmt.Sprintf("%s at %d/s: the load tool was (part of) the bottleneck: %s", p.Name, s.Offered, s.Note))
			} else if s.Note != "" {
				r.Notes = append(r.Notes, fmt.Sprintf("%s at %d/s: %s", p.Name, s.Offered, s.Note))
			}
		}
	}
	// The hostile workload keeps the server's own limits and says so in
	// its table; these notes are about the others.
	raised := r.Pairs != nil || r.Cross != nil || r.Idle != nil || r.Replay != nil || r.Storm != nil
	if r.Settings.WSRate > 0 && raised {
		r.Notes = append(r.Notes, fmt.Sprintf("the bench servers run with WS_RATE=%g and WS_BURST=%d: the contract's default of 20 frames/s per connection would throttle every workload",
			r.Settings.WSRate, r.Settings.WSBurst))
	}
	if r.Settings.BcryptCost > 0 && raised {
		r.Notes = append(r.Notes, fmt.Sprintf("bcrypt cost %d (the minimum) so that setting up thousands of users is fast; it affects only register/login, never a measured figure", r.Settings.BcryptCost))
	}
}

// stepAt returns the step offered at rate.
func stepAt(p *PairsResult, rate int) (StepResult, bool) {
	for _, s := range p.Steps {
		if s.Offered == rate {
			return s, true
		}
	}
	return StepResult{}, false
}

// cpuStep picks the step whose CPU per DM is checked: 10000/s when it was
// sustained, else the highest sustained step, else the first.
func cpuStep(p *PairsResult) (StepResult, bool) {
	if s, ok := stepAt(p, 10000); ok && s.Sustained {
		return s, true
	}
	for i := len(p.Steps) - 1; i >= 0; i-- {
		if p.Steps[i].Sustained {
			return p.Steps[i], true
		}
	}
	if len(p.Steps) > 0 {
		return p.Steps[0], true
	}
	return StepResult{}, false
}

// stepNote says which step gave the best rate and whether the tool limited it.
func stepNote(p *PairsResult) string {
	var notes []string
	if len(p.Steps) > 0 {
		last := p.Steps[len(p.Steps)-1]
		if last.Sustained {
			notes = append(notes, fmt.Sprintf("every step sustained up to %d/s: the true limit is higher", last.Offered))
		}
	}
	for _, s := range p.Steps {
		if s.ToolLimited {
			notes = append(notes, fmt.Sprintf("tool-limited at %d/s", s.Offered))
		}
	}
	return strings.Join(notes, "; ")
}

func joinFloats(v []float64, format string) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprintf(format, f)
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: settings, one table per
// workload, and every figure against its target.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m := r.Machine
	kind := "full run"
	if r.Short {
		kind = "short run (--short)"
	}
	fmt.Fprintf(bw, "\ndmchat bench, %s, %s\n", r.Started.Format("2006-01-02 15:04"), kind)
	fmt.Fprintf(bw, "machine:  %s, %d cores, %.1f GiB, Linux %s, %s\n", m.CPU, m.Cores, m.MemGiB, m.Kernel, m.GoVersion)
	if m.FsyncDir != "" {
		fmt.Fprintf(bw, "fsync:    p50 %.3f ms, p99 %.3f ms (4 KiB write + fsync, in %s)\n", m.FsyncP50Ms, m.FsyncP99Ms, m.FsyncDir)
	}
	s := r.Settings
	fmt.Fprintf(bw, "server:   %s\n", s.Server)
	fmt.Fprintf(bw, "store:    %s", s.DB)
	if s.Synchronous != "" {
		fmt.Fprintf(bw, ", synchronous=%s", s.Synchronous)
	}
	fmt.Fprintln(bw)
	if s.Redis != "" {
		fmt.Fprintf(bw, "redis:    %s\n", s.Redis)
	}
	fmt.Fprintf(bw, "logging:  %s\n", s.Log)

	for _, p := range []*PairsResult{r.Pairs, r.Cross} {
		if p == nil {
			continue
		}
		fmt.Fprintf(bw, "\n%s: %d pairs, %.0f s per step, %d-byte content; latencies from when each send was due (ms)\n",
			p.Name, p.Pairs, s.StepS, s.Content)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "offered/s\tachieved/s\tack p50\tp99\tp99.9\tdelivered p50\tp99\tp99.9\tcycle p99\tsend lag p99\terrors\tserver CPU\tµs/DM\ttool CPU\tother CPU\t")
		for _, st := range p.Steps {
			errs := strconv.FormatInt(st.Errors, 10)
			if st.Completed < st.Planned {
				errs += fmt.Sprintf(" (%d incomplete)", st.Planned-st.Completed)
			}
			mark := ""
			if st.ToolLimited {
				mark = " *"
			}
			fmt.Fprintf(tw, "%d\t%.0f%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%.0f%%\t%.1f\t%.0f%%\t%.0f%%\t\n",
				st.Offered, st.Achieved, mark, st.Ack.P50, st.Ack.P99, st.Ack.P999, st.Deliver.P50, st.Deliver.P99, st.Deliver.P999,
				st.Cycle.P99, st.SendLag.P99, errs, st.ServerCPU, st.CPUPerDM, st.ToolCPU, st.OtherCPU)
		}
		_ = tw.Flush()
		fmt.Fprintf(bw, "highest rate with send→delivered p99 < 20 ms: %d/s; highest achieved: %.0f/s", p.MaxUnder20ms, p.MaxAchieved)
		if slices.ContainsFunc(p.Steps, func(s StepResult) bool { return s.ToolLimited }) {
			fmt.Fprint(bw, "  (* the load tool limited that step: see notes)")
		}
		fmt.Fprintln(bw)
		if slices.ContainsFunc(p.Steps, func(s StepResult) bool { return s.RedisCPU > 0 }) {
			fmt.Fprint(bw, "redis-server CPU per step (not in server CPU):")
			for _, st := range p.Steps {
				fmt.Fprintf(bw, " %d/s: %.0f%%", st.Offered, st.RedisCPU)
			}
			fmt.Fprintln(bw)
		}
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(bw, "\nidle: %d sockets opened in %.1f s (%.0f/s)", i.Sockets, i.ConnectS, i.ConnectRate)
		if i.Measured {
			fmt.Fprintf(bw, "; server per socket: RSS %.1f KiB, heap %.1f KiB, stacks %.1f KiB, %.1f goroutines; RSS total %.0f MiB; idle CPU %.2f%% of a core over %.0f s",
				i.RSSPerSocket/1024, i.HeapPerSocket/1024, i.StackPerSocket/1024, i.GoroutinesPer, float64(i.RSSTotal)/(1<<20), i.IdleCPU, i.IdleS)
		}
		if i.Lost > 0 {
			fmt.Fprintf(bw, "; %d sockets LOST while idle", i.Lost)
		}
		fmt.Fprintln(bw)
	}
	if rp := r.Replay; rp != nil {
		fmt.Fprintf(bw, "\nreplay: %d pending (stored in %.1f s); reconnect to REPLAY_DONE: %s (median %.3f s); last run replayed %d, count %d\n",
			rp.Pending, rp.FillS, joinFloats(rp.Runs, "%.3f s"), rp.MedianS, rp.Replayed, rp.Count)
	}
	if st := r.Storm; st != nil {
		fmt.Fprintf(bw, "\nstorm: %d clients with %d pending each (stored in %.1f s) reconnect at once: all REPLAY_DONE after %.3f s; per client p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d replayed, %d failed\n",
			st.Clients, st.Pending, st.FillS, st.AllS, st.PerConn.P50, st.PerConn.P99, st.PerConn.Max, st.Replayed, st.Failed)
	}
	if h := r.Hostile; h != nil {
		h.writeTable(bw)
	}
	if cy := r.Cycle; cy != nil {
		cy.writeTable(bw)
	}
	writeFanoutTable(bw, r.Fanout)
	if len(r.Targets) > 0 {
		fmt.Fprintf(bw, "\ntargets (set for a %d-core machine; this one has %d):\n", 2, m.Cores)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tfigure\ttarget\tmeasured\tstatus\tnote")
		for _, c := range r.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Workload, c.Figure, c.Target, c.Measured, c.Status, c.Note)
		}
		_ = tw.Flush()
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(bw, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(bw, "  - %s\n", n)
		}
	}
	return bw.Flush()
}

// machineInfo reads what /proc says about this machine.
func machineInfo() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(v)
				if len(f) > 0 {
					kb, _ := strconv.ParseFloat(f[0], 64)
					m.MemGiB = kb / (1 << 20)
				}
			}
		}
	}
	return m
}

// measureFsync writes and fsyncs a 4 KiB block n times in dir and returns
// the p50 and p99 latency in milliseconds.
func measureFsync(dir string, n int) (p50, p99 float64, err error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	d := make([]float64, 0, n)
	for i := range n {
		buf[0] = byte(i)
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return 0, 0, err
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		d = append(d, float64(time.Since(t))/float64(time.Millisecond))
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100], nil
}
