package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StepResult is one offered rate of the pairs workload.
type StepResult struct {
	// Offered is the rate the tool offered, DMs/s, spread evenly over the
	// senders on a fixed schedule (open loop).
	Offered int `json:"offeredPerSec"`
	// Achieved is the rate of DMs both acked and delivered: their number
	// over the time from the step's start to the last of them.
	Achieved float64 `json:"achievedPerSec"`
	// Counts. Completed DMs went the full cycle: sent, acked, delivered,
	// delivery-acked and MESSAGE_STATE DELIVERED back at the sender.
	Planned   int64            `json:"planned"`
	Sent      int64            `json:"sent"`
	Acked     int64            `json:"acked"`
	Delivered int64            `json:"delivered"`
	Completed int64            `json:"completed"`
	Errors    int64            `json:"errors"`
	Codes     map[string]int64 `json:"errorCodes,omitempty"`
	ElapsedS  float64          `json:"elapsedS"`
	// Latencies from the moment each send was due (not from when the tool
	// managed to write it): send→MESSAGE_ACK, send→MESSAGE at the
	// recipient, send→MESSAGE_STATE at the sender; SendLag is due→written,
	// the tool's own lateness.
	Ack       Summary `json:"sendToAck"`
	Deliver   Summary `json:"sendToDelivered"`
	Cycle     Summary `json:"sendToState"`
	SendLag   Summary `json:"sendLag"`
	ServerCPU float64 `json:"serverCpuPct"` // percent of one core, over the step and its drain
	ToolCPU   float64 `json:"toolCpuPct"`
	// OtherCPU is what every other process of the machine used meanwhile
	// (percent of one core): a busy neighbour makes every figure worse.
	OtherCPU float64 `json:"otherCpuPct"`
	// RedisCPU is the redis-server the tool started (cross-instance), not
	// counted in ServerCPU, CPUPerDM or OtherCPU.
	RedisCPU float64 `json:"redisCpuPct,omitempty"`
	// CPUPerDM is µs of server-process CPU per completed DM (0 when not
	// measurable).
	CPUPerDM float64 `json:"serverCpuUsPerDm"`
	// Sustained: achieved ≥ 95% of offered, everything completed, no errors.
	Sustained bool `json:"sustained"`
	// ToolLimited: the machine's CPU was saturated and the load tool used a
	// large share of it, or the tool fell behind its own schedule.
	ToolLimited bool   `json:"toolLimited"`
	Note        string `json:"note,omitempty"`
}

// PairsResult is the pairs workload, on one instance or across two.
type PairsResult struct {
	Name      string       `json:"name"`
	Pairs     int          `json:"pairs"`
	Instances int          `json:"instances"`
	Steps     []StepResult `json:"steps"`
	// MaxUnder20ms is the highest offered rate that was sustained with a
	// send→delivered p99 under 20 ms.
	MaxUnder20ms int `json:"maxRateP99Under20ms"`
	// MaxAchieved is the highest achieved rate of a step that completed
	// everything it sent.
	MaxAchieved float64 `json:"maxAchievedPerSec"`
}

// pairsRun is the state shared by the tool's goroutines in one pairs run.
type pairsRun struct {
	prefix string // clientMessageId prefix, unique per run
	pad    string

	cur                 atomic.Pointer[pairsStep]
	ack, dlv, cyc, lag  *latency
	stale, unexpected   atomic.Int64
	stopping            atomic.Bool
	readyWG             sync.WaitGroup
	senders, recipients []*wsConn
	recipientIDs        []string
	users               []benchUser // senders, then recipients
}

// pairsStep is one offered rate in progress.
type pairsStep struct {
	t0   time.Time
	rate float64
	base int64 // sequence number of the step's first DM
	m    int64 // DMs planned

	sent, acked, delivered, stated, errors atomic.Int64
	last                                   atomic.Int64 // ns after t0 of the last ack or delivery

	mu    sync.Mutex // guards codes
	codes map[string]int64
}

// dueAt is when DM idx of the step was due, after t0.
func (s *pairsStep) dueAt(idx int64) time.Duration {
	return time.Duration(float64(idx) * float64(time.Second) / s.rate)
}

// index maps a sequence number to the step's DM index; ok is false for a
// DM of another step.
func (s *pairsStep) index(seq int64) (int64, bool) {
	i := seq - s.base
	return i, i >= 0 && i < s.m
}

func (s *pairsStep) touch(now time.Duration) {
	for {
		l := s.last.Load()
		if int64(now) <= l || s.last.CompareAndSwap(l, int64(now)) {
			return
		}
	}
}

func (s *pairsStep) code(c []byte) {
	s.mu.Lock()
	s.codes[string(c)]++
	s.mu.Unlock()
}

// runPairs runs the stepped pairs workload.
func (e *env) runPairs(ctx context.Context, cross bool) (*PairsResult, error) {
	o := e.o
	info := e.srv.Info()
	if cross && len(info.URLs) < 2 {
		return nil, errors.New("bench: cross-instance pairs need two instances")
	}
	name := "pairs, one instance"
	recipientURL := info.URLs[0]
	if cross {
		name, recipientURL = "pairs, cross-instance", info.URLs[1]
	}
	res := &PairsResult{Name: name, Pairs: o.Pairs, Instances: len(info.URLs)}
	e.logf("%s: setting up %d pairs", name, o.Pairs)

	r, stop, err := e.startPairs(ctx, o.Pairs, info.URLs[0], recipientURL, false)
	if err != nil {
		return nil, err
	}
	defer stop()

	// A short warm-up at the first rate, not recorded: the first step
	// should not pay for cold caches and a fresh database.
	warm, err := e.pairsStep(ctx, r, o.Rates[0], 0, name+" (warm-up)", min(time.Second, o.Step))
	if err != nil {
		return res, err
	}
	seq := warm.Planned
	for _, rate := range o.Rates {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		step, err := e.pairsStep(ctx, r, rate, seq, name, o.Step)
		if err != nil {
			return res, err
		}
		seq += step.Planned
		res.Steps = append(res.Steps, step)
		if step.Sustained && step.Deliver.P99 < 20 {
			res.MaxUnder20ms = max(res.MaxUnder20ms, rate)
		}
		if step.Completed >= step.Planned && step.Errors == 0 {
			res.MaxAchieved = max(res.MaxAchieved, step.Achieved)
		}
		if !step.Sustained {
			e.logf("%s: %d/s not sustained; stopping the steps here", name, rate)
			break
		}
	}
	return res, nil
}

// startPairs registers n sender/recipient pairs (over e.apis), opens their
// sockets (senders to senderURL, recipients to recipientURL; with spread,
// from several loopback source addresses, see connectAll), starts their
// readers and waits for every REPLAY_DONE. stop closes the sockets and
// waits for the readers.
func (e *env) startPairs(ctx context.Context, n int, senderURL, recipientURL string, spread bool) (*pairsRun, func(), error) {
	wsPath := e.srv.Info().WSPath
	users, err := setupUsers(ctx, e.apis, e.runID+"p", 2*n, nil)
	if err != nil {
		return nil, nil, err
	}
	specs := make([]dialSpec, 2*n)
	for i := range n {
		specs[i] = dialSpec{URL: wsURL(senderURL, wsPath), Token: users[i].Token}
		specs[n+i] = dialSpec{URL: wsURL(recipientURL, wsPath), Token: users[n+i].Token}
	}
	conns, err := connectAll(ctx, specs, 64, 16<<10, spread, nil)
	if err != nil {
		return nil, nil, err
	}
	r := &pairsRun{
		prefix: e.runID + "-",
		pad:    strings.Repeat("x", max(0, e.o.ContentBytes-12)),
		ack:    newLatency(), dlv: newLatency(), cyc: newLatency(), lag: newLatency(),
		senders: conns[:n], recipients: conns[n:], users: users,
	}
	for i := range n {
		r.recipientIDs = append(r.recipientIDs, users[n+i].ID)
	}
	var readers sync.WaitGroup
	r.readyWG.Add(len(conns))
	for i, c := range r.senders {
		readers.Add(1)
		go func() { defer readers.Done(); r.readSender(i, c) }()
	}
	for i, c := range r.recipients {
		readers.Add(1)
		go func() { defer readers.Done(); r.readRecipient(i, c) }()
	}
	stop := func() {
		r.stopping.Store(true)
		for _, c := range conns {
			_ = c.Close()
		}
		readers.Wait()
	}
	if err := waitGroup(ctx, &r.readyWG, 60*time.Second); err != nil {
		stop()
		return nil, nil, fmt.Errorf("bench: sockets did not all get REPLAY_DONE: %w", err)
	}
	return r, stop, nil
}

// pairsStep offers rate DMs/s for the step duration, then waits for the
// stragglers (at most the drain time), and measures.
func (e *env) pairsStep(ctx context.Context, r *pairsRun, rate int, base int64, name string, dur time.Duration) (StepResult, error) {
	o := e.o
	m := int64(math.Round(float64(rate) * dur.Seconds()))
	st := &pairsStep{rate: float64(rate), base: base, m: m, codes: map[string]int64{}}
	for _, l := range []*latency{r.ack, r.dlv, r.cyc, r.lag} {
		l.Reset()
	}
	s0, measured, err := e.srv.Stats(ctx, false)
	if err != nil {
		return StepResult{}, err
	}
	tool0 := SelfCPU()
	busy0, _ := MachineBusy()
	redisPID := e.srv.Info().RedisPID
	var redis0 time.Duration
	if redisPID > 0 {
		redis0, _ = ProcCPU(redisPID)
	}
	st.t0 = time.Now().Add(20 * time.Millisecond)
	r.cur.Store(st)

	var senders sync.WaitGroup
	for i, c := range r.senders {
		senders.Add(1)
		go func() { defer senders.Done(); r.send(ctx, st, i, c, r.recipientIDs[i]) }()
	}
	stopProgress := e.progressLoop(func(el time.Duration) string {
		return fmt.Sprintf("%s %6d/s  %5.1fs  sent %d  acked %d  delivered %d  completed %d  errors %d",
			name, rate, el.Seconds(), st.sent.Load(), st.acked.Load(), st.delivered.Load(), st.stated.Load(), st.errors.Load())
	}, st.t0)
	senders.Wait()
	deadline := st.t0.Add(dur + o.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st.acked.Load() >= m && st.delivered.Load() >= m && st.stated.Load() >= m {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	end := time.Now()
	stopProgress()
	tool1 := SelfCPU()
	busy1, _ := MachineBusy()
	var redis1 time.Duration
	if redisPID > 0 {
		redis1, _ = ProcCPU(redisPID)
	}
	s1, _, err := e.srv.Stats(ctx, false)
	if err != nil {
		return StepResult{}, err
	}
	r.cur.Store(nil)

	wall := end.Sub(st.t0)
	res := StepResult{
		Offered: rate, Planned: m, Sent: st.sent.Load(), Acked: st.acked.Load(), Delivered: st.delivered.Load(),
		Completed: st.stated.Load(), Errors: st.errors.Load(), ElapsedS: wall.Seconds(),
		Ack: r.ack.Summary(), Deliver: r.dlv.Summary(), Cycle: r.cyc.Summary(), SendLag: r.lag.Summary(),
		ToolCPU: 100 * float64(tool1-tool0) / float64(wall),
	}
	st.mu.Lock()
	if len(st.codes) > 0 {
		res.Codes = maps.Clone(st.codes) // a late reader may still add to st.codes
	}
	st.mu.Unlock()
	both := min(res.Acked, res.Delivered)
	if last := time.Duration(st.last.Load()); last > 0 {
		res.Achieved = float64(both) / max(last, dur).Seconds()
	}
	if measured {
		cpu := s1.CPU - s0.CPU
		res.ServerCPU = 100 * float64(cpu) / float64(wall)
		if res.Completed > 0 {
			res.CPUPerDM = float64(cpu/time.Microsecond) / float64(res.Completed)
		}
		if !e.srv.Separate() {
			res.Note = "server shares the tool's process: CPU figures include the tool"
		}
		res.RedisCPU = 100 * float64(redis1-redis0) / float64(wall)
		if e.srv.Separate() && busy1 > busy0 {
			res.OtherCPU = max(0, 100*float64(busy1-busy0)/float64(wall)-res.ServerCPU-res.ToolCPU-res.RedisCPU)
		}
	}
	res.Sustained = res.Achieved >= 0.95*float64(rate) && res.Completed >= m && res.Errors == 0 && res.Sent >= m
	res.ToolLimited, res.Note = toolVerdict(res, measured && e.srv.Separate(), res.Note)
	e.logf("%s %6d/s: achieved %.0f/s, ack p99 %.2f ms, delivered p99 %.2f ms, cycle p99 %.2f ms, server CPU %.0f%% (%.1f µs/DM), tool CPU %.0f%%%s",
		name, rate, res.Achieved, res.Ack.P99, res.Deliver.P99, res.Cycle.P99, res.ServerCPU, res.CPUPerDM, res.ToolCPU,
		noteSuffix(res.Note))
	return res, nil
}

// toolVerdict decides whether the load tool limited a step.
func toolVerdict(s StepResult, serverMeasured bool, note string) (bool, string) {
	var why []string
	if note != "" {
		why = append(why, note)
	}
	limited := false
	cores := float64(runtime.NumCPU()) * 100
	if serverMeasured && s.ServerCPU+s.ToolCPU >= 0.85*cores && s.ToolCPU >= 0.4*(s.ServerCPU+s.ToolCPU) {
		limited = true
		why = append(why, fmt.Sprintf("CPU saturated (server %.0f%% + tool %.0f%% of %d cores): the load tool's share limits this step",
			s.ServerCPU, s.ToolCPU, runtime.NumCPU()))
	}
	// Lateness matters when it is a real part of what was measured: a tool
	// 10 ms late under a server 3 s behind did not make the server slow.
	if s.OtherCPU > 25 {
		why = append(why, fmt.Sprintf("other processes used %.0f%% of a core meanwhile: the machine was not quiet", s.OtherCPU))
	}
	if toolLate(s.SendLag, s.Deliver) {
		limited = true
		why = append(why, fmt.Sprintf("the tool fell behind its schedule (send lag p99 %.1f ms)", s.SendLag.P99))
	}
	return limited, strings.Join(why, "; ")
}

// toolLate reports whether the tool's own lateness (due → written) is a
// real part of the send→delivered latency it measured: then the figure is
// partly the tool's, not the server's.
func toolLate(sendLag, deliver Summary) bool {
	return sendLag.P99 > 5 && sendLag.P99 > 0.25*deliver.P99
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " [" + n + "]"
}

// send is sender i's schedule: DMs i, i+P, i+2P... of the step, each
// written when due (all that are due at once in one write).
func (r *pairsRun) send(ctx context.Context, st *pairsStep, i int, c *wsConn, recipientID string) {
	p := int64(len(r.senders))
	var payload, out []byte
	for idx := int64(i); idx < st.m && ctx.Err() == nil; {
		if wait := time.Until(st.t0.Add(st.dueAt(idx))); wait > 0 {
			time.Sleep(wait)
		}
		now := time.Since(st.t0)
		out = out[:0]
		first, n := idx, int64(0)
		for ; idx < st.m && st.dueAt(idx) <= now; idx += p {
			payload = appendSend(payload[:0], r.prefix, st.base+idx, recipientID, r.pad)
			out = c.AppendText(out, payload)
			n++
		}
		if n == 0 { // woke a little early
			continue
		}
		if err := c.WriteBuffered(out); err != nil {
			st.errors.Add(1)
			st.code([]byte("WRITE_FAILED"))
			return
		}
		written := time.Since(st.t0)
		for j := first; j < idx; j += p {
			r.lag.Record(i, written-st.dueAt(j))
		}
		st.sent.Add(n)
	}
}

// readSender reads a sender's socket: acks and states.
func (r *pairsRun) readSender(i int, c *wsConn) {
	ready := false
	ids := make(map[uint64]int64)
	other := make(map[string]int64) // message ids that are not numbers
	for {
		f, err := c.ReadFrame()
		if err != nil {
			r.readEnded(ready)
			return
		}
		st := r.cur.Load()
		switch kindOf(f) {
		case kindReplayDone:
			if !ready {
				ready = true
				r.readyWG.Done()
			}
		case kindAck:
			seq, ok := seqOfCMID(stringField(f, keyCMID))
			if !ok || st == nil {
				r.stale.Add(1)
				continue
			}
			idx, ok := st.index(seq)
			if !ok {
				r.stale.Add(1)
				continue
			}
			now := time.Since(st.t0)
			r.ack.Record(i, now-st.dueAt(idx))
			st.acked.Add(1)
			st.touch(now)
			mid := stringField(f, keyMessageID)
			if k, ok := messageKey(mid); ok {
				ids[k] = seq
			} else {
				other[string(mid)] = seq
			}
		case kindState:
			mid := stringField(f, keyMessageID)
			var seq int64
			var ok bool
			if k, isNum := messageKey(mid); isNum {
				seq, ok = ids[k]
				delete(ids, k)
			} else {
				seq, ok = other[string(mid)]
				delete(other, string(mid))
			}
			if !ok || st == nil {
				r.stale.Add(1)
				continue
			}
			idx, ok := st.index(seq)
			if !ok {
				r.stale.Add(1)
				continue
			}
			r.cyc.Record(i, time.Since(st.t0)-st.dueAt(idx))
			st.stated.Add(1)
		case kindError:
			if st != nil {
				st.errors.Add(1)
				st.code(stringField(f, keyCode))
			}
		}
	}
}

// readRecipient reads a recipient's socket: it records each delivery and
// answers with DELIVERY_ACK, holding the acks back while more frames are
// already buffered so that a burst is acknowledged in one write.
func (r *pairsRun) readRecipient(i int, c *wsConn) {
	ready := false
	var payload, out []byte
	for {
		f, err := c.ReadFrame()
		if err != nil {
			r.readEnded(ready)
			return
		}
		st := r.cur.Load()
		switch kindOf(f) {
		case kindReplayDone:
			if !ready {
				ready = true
				r.readyWG.Done()
			}
		case kindMessage:
			payload = appendDeliveryAck(payload[:0], stringField(f, keyMessageID))
			out = c.AppendText(out, payload)
			seq, ok := seqOfContent(stringField(f, keyContent))
			if !ok || st == nil {
				r.stale.Add(1)
				break
			}
			idx, ok := st.index(seq)
			if !ok {
				r.stale.Add(1)
				break
			}
			now := time.Since(st.t0)
			r.dlv.Record(i, now-st.dueAt(idx))
			st.delivered.Add(1)
			st.touch(now)
		case kindError:
			if st != nil {
				st.errors.Add(1)
				st.code(stringField(f, keyCode))
			}
		}
		if len(out) > 0 && !c.Buffered() {
			if err := c.WriteBuffered(out); err != nil {
				r.readEnded(ready)
				return
			}
			out = out[:0]
		}
	}
}

// readEnded notes a reader's end; one before the run stops is unexpected.
func (r *pairsRun) readEnded(ready bool) {
	if !r.stopping.Load() {
		r.unexpected.Add(1)
	}
	if !ready {
		r.readyWG.Done()
	}
}

// waitGroup waits for wg, at most d or until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup, d time.Duration) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return fmt.Errorf("timed out after %v", d)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sortedRates returns rates sorted ascending without duplicates or zeros.
func sortedRates(rates []int) []int {
	out := slices.Clone(rates)
	out = slices.DeleteFunc(out, func(r int) bool { return r <= 0 })
	slices.Sort(out)
	return slices.Compact(out)
}
