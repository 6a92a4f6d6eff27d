package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/internal/cputime"
	"github.com/dmchat/dmchat/core/node"
	"github.com/dmchat/dmchat/core/store"
)

// WorkloadCycle is a fixed number of full DM cycles through the engine
// with no network: the figure that does not move with the neighbours.
const WorkloadCycle = "cycle"

// CycleResult is what the cycle workload measured: per full DM cycle
// (MESSAGE_SEND decoded, persisted, MESSAGE_ACK, MESSAGE to the recipient,
// DELIVERY_ACK decoded and persisted, MESSAGE_STATE to the sender), the
// heap allocations and the process CPU, over a fixed amount of work.
type CycleResult struct {
	Runs []CycleRun `json:"runs"`
	// Instructions are the same cycles counted by callgrind (one pair per
	// store), when Options.ChildArgv is set and valgrind is installed;
	// InstructionsNote says why they are missing otherwise.
	Instructions     []CycleInstructions `json:"instructions,omitempty"`
	InstructionsNote string              `json:"instructionsNote,omitempty"`
}

// CycleRun is one store's figures.
type CycleRun struct {
	Store       string  `json:"store"` // "mem" or "sqlite"
	Pairs       int     `json:"pairs"`
	Cycles      int     `json:"cycles"`
	WarmCycles  int     `json:"warmCycles"` // run before the count started
	AllocsPerDM float64 `json:"allocsPerDM"`
	BytesPerDM  float64 `json:"bytesPerDM"`
	CPUPerDMus  float64 `json:"cpuPerDMus"`
	WallS       float64 `json:"wallS"`
}

// cycleConn is an in-memory socket: it tells its pair the id of each
// MESSAGE and the arrival of each MESSAGE_STATE, without allocating, so
// that every allocation counted is the server's.
type cycleConn struct {
	p *cyclePair
}

var (
	cycleTypeMessage = []byte(`{"type":"MESSAGE",`)
	cycleTypeState   = []byte(`{"type":"MESSAGE_STATE",`)
	cycleKeyID       = []byte(`"messageId":"`)
)

// Write implements hub.Transport.
func (c cycleConn) Write(_ time.Time, frames [][]byte) error {
	for _, b := range frames {
		switch {
		case bytes.HasPrefix(b, cycleTypeMessage):
			i := bytes.Index(b, cycleKeyID) + len(cycleKeyID)
			j := bytes.IndexByte(b[i:], '"')
			p := c.p
			p.ack = append(append(append(p.ack[:0], `{"type":"DELIVERY_ACK","messageId":"`...), b[i:i+j]...), `"}`...)
			p.delivered <- struct{}{}
		case bytes.HasPrefix(b, cycleTypeState):
			c.p.stated <- struct{}{}
		}
	}
	return nil
}

// TryWrite implements hub.TryWriter, as the server's sockets do: a frame a
// socket takes at once is written by the goroutine that queued it, so the
// count includes no writer goroutine that the server would not start.
func (c cycleConn) TryWrite(frames [][]byte) (bool, error) { return true, c.Write(time.Time{}, frames) }

// Close implements hub.Transport.
func (cycleConn) Close(int, string) error { return nil }

// cyclePair is a sender and a recipient attached to the node, with every
// MESSAGE_SEND frame built before the clock starts. Each has content of
// its own: the decoder interns repeated strings, and real messages differ.
type cyclePair struct {
	send, recv *node.Session
	sends      [][]byte
	ack        []byte // the DELIVERY_ACK of the last MESSAGE, rebuilt in place
	delivered  chan struct{}
	stated     chan struct{}
}

// run does the cycles of sends, one at a time.
func (p *cyclePair) run(ctx context.Context, sends [][]byte) error {
	for _, f := range sends {
		p.send.HandleFrame(ctx, f)
		select {
		case <-p.delivered:
		case <-ctx.Done():
			return errors.New("no MESSAGE delivered")
		}
		p.recv.HandleFrame(ctx, p.ack)
		select {
		case <-p.stated:
		case <-ctx.Done():
			return errors.New("no MESSAGE_STATE")
		}
	}
	return nil
}

// runCycle measures the memory store with one pair (the engine alone, one
// cycle at a time) and SQLite with 64 pairs at once (engine and store, with
// group commit filling its batches).
func (e *env) runCycle(ctx context.Context) (*CycleResult, error) {
	n := 20000
	if e.o.Short {
		n = 5000
	}
	res := &CycleResult{}
	for _, c := range []struct {
		store string
		pairs int
	}{{"mem", 1}, {"sqlite", 64}} {
		run, err := measureCycles(ctx, c.store, c.pairs, n)
		if err != nil {
			return res, fmt.Errorf("%s: %w", c.store, err)
		}
		fmt.Fprintf(e.o.Progress, "%s  cycle, %s store, %d pairs: %d cycles, %.1f allocs/DM, %.0f B/DM, %.1f µs CPU/DM\n",
			time.Now().Format("15:04:05"), run.Store, run.Pairs, run.Cycles, run.AllocsPerDM, run.BytesPerDM, run.CPUPerDMus)
		res.Runs = append(res.Runs, run)
	}
	if len(e.o.ChildArgv) == 0 {
		res.InstructionsNote = "not counted: no program to run under callgrind (Options.ChildArgv)"
		return res, nil
	}
	// One pair each: with one cycle at a time the group commit's batches
	// do not depend on timing, so neither does the count.
	counts := []struct {
		store     string
		low, high int
	}{{"mem", 1000, 3000}, {"sqlite", 300, 900}}
	if e.o.Short {
		counts[0].low, counts[0].high, counts[1].low, counts[1].high = 500, 1500, 150, 450
	}
	for _, c := range counts {
		ci, err := countCycleInstructions(ctx, e.o.ChildArgv, c.store, 1, c.low, c.high)
		if err != nil {
			res.InstructionsNote = "instructions not counted: " + err.Error()
			break
		}
		fmt.Fprintf(e.o.Progress, "%s  cycle, %s store, 1 pair, under callgrind: %.0f instructions/DM\n",
			time.Now().Format("15:04:05"), ci.Store, ci.PerDM)
		res.Instructions = append(res.Instructions, ci)
	}
	return res, nil
}

// measureCycles runs cycles full cycles spread over pairs pairs on a fresh
// node and store, after a warm-up of a tenth as many.
func measureCycles(ctx context.Context, storeName string, pairs, cycles int) (CycleRun, error) {
	run := CycleRun{Store: storeName, Pairs: pairs}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var st store.Store = store.NewMemory()
	switch storeName {
	case "mem":
	case "sqlite":
		dir, err := os.MkdirTemp("", "dmchat-cycle-")
		if err != nil {
			return run, err
		}
		defer os.RemoveAll(dir)
		if st, err = store.OpenSQLite(ctx, filepath.Join(dir, "cycle.db"), store.Options{}); err != nil {
			return run, err
		}
	default:
		return run, fmt.Errorf("cycle: unknown store %q (mem or sqlite)", storeName)
	}
	defer st.Close()
	nd, err := node.New(node.Options{InstanceID: "cycle", Store: st, Rate: 1e9, Burst: 1 << 30})
	if err != nil {
		return run, err
	}
	if err := nd.Start(ctx); err != nil {
		return run, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = nd.Shutdown(sctx)
	}()
	per := max(1, cycles/pairs)
	warm := max(1, per/10)
	ps := make([]*cyclePair, pairs)
	for i := range ps {
		p := &cyclePair{delivered: make(chan struct{}, 1), stated: make(chan struct{}, 1)}
		a, err := st.CreateUser(ctx, "cs"+strconv.Itoa(i), []byte("h"), chat.RoleUser)
		if err != nil {
			return run, err
		}
		r, err := st.CreateUser(ctx, "cr"+strconv.Itoa(i), []byte("h"), chat.RoleUser)
		if err != nil {
			return run, err
		}
		if p.send, err = nd.Attach(ctx, a, time.Time{}, cycleConn{p}); err != nil {
			return run, err
		}
		if p.recv, err = nd.Attach(ctx, r, time.Time{}, cycleConn{p}); err != nil {
			return run, err
		}
		p.sends = make([][]byte, per+warm)
		for k := range p.sends {
			p.sends[k] = []byte(`{"type":"MESSAGE_SEND","clientMessageId":"c` + strconv.Itoa(k) +
				`","recipientId":"` + r.ID + `","content":"k=` + strconv.Itoa(k) + `;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
		}
		ps[i] = p
	}
	all := func(part func(p *cyclePair) [][]byte) error {
		var wg sync.WaitGroup
		errs := make([]error, len(ps))
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = p.run(ctx, part(p))
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	// Warm-up: the first cycles of each pair, not counted.
	if err := all(func(p *cyclePair) [][]byte { return p.sends[:warm] }); err != nil {
		return run, err
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start, cpu0 := time.Now(), cputime.Self()
	if err := all(func(p *cyclePair) [][]byte { return p.sends[warm:] }); err != nil {
		return run, err
	}
	cpu, wall := cputime.Self()-cpu0, time.Since(start)
	runtime.ReadMemStats(&m1)
	run.Cycles = per * pairs
	run.WarmCycles = warm * pairs
	dms := float64(run.Cycles)
	run.AllocsPerDM = float64(m1.Mallocs-m0.Mallocs) / dms
	run.BytesPerDM = float64(m1.TotalAlloc-m0.TotalAlloc) / dms
	run.CPUPerDMus = float64(cpu.Microseconds()) / dms
	run.WallS = wall.Seconds()
	return run, nil
}

// checks are the cycle workload's figures against the target:
// allocations per full cycle on the memory store. The CPU figures have no
// target of their own (the pairs workload's server CPU per DM has); they
// are printed beside it as the noise-proof view of the same cost.
func (c *CycleResult) checks() []Check {
	var out []Check
	for _, r := range c.Runs {
		if r.Store != "mem" {
			continue
		}
		st := StatusNotMet
		if r.AllocsPerDM <= 12 {
			st = StatusMet
		}
		note := fmt.Sprintf("%.0f B and %.1f µs CPU per cycle, %d cycles", r.BytesPerDM, r.CPUPerDMus, r.Cycles)
		for _, ci := range c.Instructions {
			if ci.Store == r.Store {
				note += fmt.Sprintf("; %.0f instructions per cycle (callgrind)", ci.PerDM)
			}
		}
		out = append(out, Check{Workload: WorkloadCycle, Figure: "allocations per full DM cycle, memory store",
			Target: "≤ 12", Measured: fmt.Sprintf("%.1f", r.AllocsPerDM), Status: st, Note: note})
	}
	if len(out) == 0 {
		out = append(out, Check{Workload: WorkloadCycle, Figure: "allocations per full DM cycle, memory store",
			Target: "≤ 12", Measured: "-", Status: StatusNotMeasured, Note: "the memory-store run failed"})
	}
	return out
}

// writeTable prints one line per store.
func (c *CycleResult) writeTable(bw *bufio.Writer) {
	fmt.Fprintf(bw, "\ncycle: full DM cycles through the engine in the tool's process, no network, fixed work (allocations and process CPU per cycle)\n")
	fmt.Fprintf(bw, "  %-6s  %5s  %7s  %9s  %8s  %10s  %6s\n", "store", "pairs", "cycles", "allocs/DM", "B/DM", "CPU µs/DM", "wall s")
	for _, r := range c.Runs {
		fmt.Fprintf(bw, "  %-6s  %5d  %7d  %9.1f  %8.0f  %10.1f  %6.2f\n", r.Store, r.Pairs, r.Cycles, r.AllocsPerDM, r.BytesPerDM, r.CPUPerDMus, r.WallS)
	}
	if len(c.Instructions) > 0 {
		fmt.Fprintf(bw, "  under callgrind (user-space instructions, the same for the same binary whatever the machine's load; one pair, GOMAXPROCS=1):\n")
		for _, ci := range c.Instructions {
			fmt.Fprintf(bw, "  %-6s  %5d  %.0f instructions/DM  (%d instructions for %d cycles, %d for %d)\n",
				ci.Store, ci.Pairs, ci.PerDM, ci.IrLow, ci.CyclesLow, ci.IrHigh, ci.CyclesHigh)
		}
	}
	if c.InstructionsNote != "" {
		fmt.Fprintf(bw, "  %s\n", c.InstructionsNote)
	}
}
