package bench

import (
	"bufio"
	"fmt"
	"text/tabwriter"
)

// hostileRSSTarget is the most the server may hold under any attack.
const hostileRSSTarget = 512 << 20

// phase returns the named phase.
func (h *HostileResult) phase(name string) (HostilePhase, bool) {
	for _, p := range h.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return HostilePhase{}, false
}

// checks are the hostile workload's targets: bounded memory, legitimate
// latency at most twice its quiet value, and no legitimate message lost or
// late.
func (h *HostileResult) checks() []Check {
	const w = "hostile"
	var out []Check
	add := func(figure, target, measured string, met bool, note string) {
		st := StatusNotMet
		if met {
			st = StatusMet
		}
		out = append(out, Check{w, figure, target, measured, st, note})
	}
	missing := func(figure, target, note string) {
		out = append(out, Check{w, figure, target, "-", StatusNotMeasured, note})
	}
	if len(h.Phases) == 0 {
		missing("server RSS under attack", "≤ 512 MiB", "no phase ran")
		return out
	}

	if h.Measured {
		worst := h.Phases[0]
		for _, p := range h.Phases {
			if p.PeakRSS > worst.PeakRSS {
				worst = p
			}
		}
		add("peak server RSS, every phase", "≤ 512 MiB", fmt.Sprintf("%.0f MiB", float64(worst.PeakRSS)/(1<<20)),
			worst.PeakRSS <= hostileRSSTarget, "highest in "+worst.Name)
	} else {
		missing("peak server RSS, every phase", "≤ 512 MiB", h.Note)
	}

	quiet, ok := h.phase(PhaseQuiet)
	if !ok || quiet.Deliver.Count == 0 {
		missing("legitimate send→delivered p99 under attack", "≤ 2× quiet", "no quiet baseline")
	} else {
		worst, ratio := HostilePhase{}, 0.0
		for _, p := range h.Phases {
			if p.Name == PhaseQuiet {
				continue
			}
			r := p.Deliver.P99 / max(quiet.Deliver.P99, 0.001)
			if p.Deliver.Count == 0 {
				r = 1e9 // nothing delivered at all
			}
			if r >= ratio {
				worst, ratio = p, r
			}
		}
		note := "worst in " + worst.Name
		if toolLate(worst.SendLag, worst.Deliver) {
			note += fmt.Sprintf("; the tool fell behind its own schedule there (send lag p99 %.1f ms), so part of the figure is the tool's: run it again",
				worst.SendLag.P99)
		}
		add("legitimate send→delivered p99 under attack", fmt.Sprintf("≤ 2× quiet (%.2f ms)", quiet.Deliver.P99),
			fmt.Sprintf("%.2f ms (%.1f×)", worst.Deliver.P99, ratio), ratio <= 2, note)
	}

	var lost, late int64
	worst := ""
	for _, p := range h.Phases {
		lost += p.Lost
		late += p.Late
		if p.Lost+p.Late > 0 && worst == "" {
			worst = "first in " + p.Name
		}
	}
	add("legitimate messages lost or delivered > 1 s late", "0", fmt.Sprintf("lost %d, late %d", lost, late),
		lost+late == 0, worst)
	return out
}

// writeTable prints one row per phase and the attackers' counts.
func (h *HostileResult) writeTable(bw *bufio.Writer) {
	fmt.Fprintf(bw, "\nhostile: %d pairs at %d DMs/s, %.1f s per phase; %d non-reading sockets, %d slowloris and %d idle connections; server limits at their defaults (WS_RATE %g, WS_BURST %d, bcrypt cost %d)\n",
		h.Pairs, h.Rate, h.PhaseS, h.Sockets, h.Conns, h.Conns, h.WSRate, h.WSBurst, h.BcryptCost)
	if h.AttackersApart {
		fmt.Fprintln(bw, "attackers: in a child process of their own (bench _attack)")
	} else {
		fmt.Fprintln(bw, "attackers: in the tool's process, beside the legitimate clients it times")
	}
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tpeak RSS MiB\tfds\tgoroutines\tsockets\tdelivered p50\tp99\tmax\tlost\tlate>1s\terrors\tlogin p50\tmax\tfailed\thealthz p99\tfailed\tlog lines\t")
	for _, p := range h.Phases {
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%.1f\t%.1f\t%d\t%.1f\t%d\t%d\t\n",
			p.Name, float64(p.PeakRSS)/(1<<20), p.PeakFDs, p.PeakGoroutines, p.PeakSockets,
			p.Deliver.P50, p.Deliver.P99, p.Deliver.Max, p.Lost, p.Late, p.Errors,
			p.Login.P50, p.Login.Max, p.LoginFailed, p.Healthz.P99, p.HealthzFailed, p.LogLines)
	}
	_ = tw.Flush()
	fmt.Fprintln(bw, "attackers (what they did, and what the server did to them):")
	for _, p := range h.Phases {
		if len(p.Attack) > 0 {
			fmt.Fprintf(bw, "  %s (%.1f s): %s\n", p.Name, p.AttackS, formatCounts(p.Attack))
		}
		if p.Aborted != "" {
			fmt.Fprintf(bw, "  %s: %s\n", p.Name, p.Aborted)
		}
	}
	if h.Note != "" {
		fmt.Fprintf(bw, "note: %s\n", h.Note)
	}
}
