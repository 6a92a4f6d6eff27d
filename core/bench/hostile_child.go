package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// attackChildSubcommand is the argument after "bench" that runs one
// phase's attackers in a process of their own (RunAttackChild).
//
// Why a process: the attackers' work (decoding answers, opening sockets,
// their garbage) would otherwise share the runtime of the process that
// times the legitimate clients, and its pauses would be counted as the
// server's latency (measured: the history flood's p99 halved once its
// page decoding left that process's hot path; docs/PERFORMANCE.md).
const attackChildSubcommand = "_attack"

// attackEngaged is the line the child prints once every attack is going.
const attackEngaged = "engaged"

// attackSpec is what the attacker child is told on its standard input:
// the phase and everything its attacks need.
type attackSpec struct {
	Phase   string        `json:"phase"`
	Timeout time.Duration `json:"timeout"` // the child's own bound, should the parent vanish
	Target  attackTarget  `json:"target"`
}

// IsAttackChild reports whether args (after "bench") ask for the attacker
// child, so that a program's "bench" command can hand it to
// RunAttackChild.
func IsAttackChild(args []string) bool {
	return len(args) > 0 && args[0] == attackChildSubcommand
}

// RunAttackChild is "sandbox bench _attack": it reads an attackSpec line
// on stdin, runs that phase's attacks, prints "engaged" once they are all
// going, and when stdin closes (or the spec's timeout passes) stops them
// and prints their counts as one JSON object.
func RunAttackChild(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("bench %s: no spec on stdin: %w", attackChildSubcommand, err)
	}
	var spec attackSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("bench %s: unreadable spec: %w", attackChildSubcommand, err)
	}
	if spec.Phase == "" || spec.Timeout <= 0 {
		return fmt.Errorf("bench %s: the spec needs a phase and a timeout", attackChildSubcommand)
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, in) // the parent closes stdin to stop the attacks
		cancel()
	}()
	c := newCounters()
	engaged, wait := (&hostileRun{attackTarget: spec.Target}).startAttacks(ctx, spec.Phase, c)
	told := make(chan struct{})
	go func() {
		defer close(told)
		select {
		case <-engaged:
			fmt.Fprintln(stdout, attackEngaged)
		case <-ctx.Done():
		}
	}()
	wait()
	<-told
	return json.NewEncoder(stdout).Encode(c.snapshot())
}

// startAttacksInChild is startAttacks in a child process (this program's
// "bench _attack"): engaged is closed once the child says so (or is gone),
// and wait stops it, adds what it counted to c and reaps it. Ending ctx
// stops it too. A child that cannot be started, or that exits with an
// error, counts "attacker child failed" (and a first one attacks nothing).
func (h *hostileRun) startAttacksInChild(ctx context.Context, name string, c *counters) (<-chan struct{}, func()) {
	o := h.e.o
	argv := append(append([]string(nil), o.ChildArgv...), attackChildSubcommand)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = o.ServerStderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	engaged, done := make(chan struct{}), make(chan struct{})
	failed := func(err error) (<-chan struct{}, func()) {
		h.e.logf("hostile: %s: attacker child: %v", name, err)
		c.add("attacker child failed", 1)
		close(engaged)
		return engaged, func() {}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return failed(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return failed(err)
	}
	if err := cmd.Start(); err != nil {
		return failed(err)
	}
	// The child's own bound outlives ctx's a little, so the parent's stop
	// (stdin closed) is what ends it normally.
	bound := attackEngageMax + 2*h.PhaseLen + 10*time.Second
	if deadline, ok := ctx.Deadline(); ok {
		bound = max(time.Until(deadline), time.Second) + 5*time.Second
	}
	spec, _ := json.Marshal(attackSpec{Phase: name, Timeout: bound, Target: h.attackTarget}) // strings, ints and durations: cannot fail
	_, _ = stdin.Write(append(spec, '\n'))
	stop := context.AfterFunc(ctx, func() { _ = stdin.Close() })
	var once sync.Once
	go func() {
		defer close(done)
		defer once.Do(func() { close(engaged) })
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			if sc.Text() == attackEngaged {
				once.Do(func() { close(engaged) })
				continue
			}
			var counts map[string]int64
			if err := json.Unmarshal(sc.Bytes(), &counts); err != nil {
				c.add("attacker child: unreadable line", 1)
				continue
			}
			for k, v := range counts {
				c.add(k, v)
			}
		}
	}()
	return engaged, func() {
		stop()
		_ = stdin.Close()
		<-done
		if err := cmd.Wait(); err != nil {
			h.e.logf("hostile: %s: attacker child: %v", name, err)
			c.add("attacker child failed", 1)
		}
	}
}
