package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ReplayResult is the replay workload: one recipient with K pending
// messages reconnects.
type ReplayResult struct {
	Pending int `json:"pending"`
	// Runs are the times from the start of the dial to REPLAY_DONE, in
	// seconds, one per reconnect (nothing is acked, so each run replays
	// all K).
	Runs     []float64 `json:"runsS"`
	MedianS  float64   `json:"medianS"`
	Replayed int       `json:"replayed"` // MESSAGE frames before REPLAY_DONE in the last run
	Count    int       `json:"count"`    // REPLAY_DONE's count in the last run
	FillS    float64   `json:"fillS"`    // time to store the K messages
}

// StormResult is the storm workload: N clients with pending messages
// reconnect at once.
type StormResult struct {
	Clients int `json:"clients"`
	Pending int `json:"pendingEach"`
	// AllS is the time from the gate opening to the last REPLAY_DONE.
	AllS     float64 `json:"allS"`
	PerConn  Summary `json:"perClient"` // dial start → REPLAY_DONE
	Replayed int64   `json:"replayed"`
	Failed   int64   `json:"failed"`
	FillS    float64 `json:"fillS"`
}

// filler stores pending messages for offline recipients through a few
// sender sockets, keeping a window of unacknowledged sends per socket.
type filler struct {
	prefix  string
	senders []*wsConn
	acked   []atomic.Int64
	errs    atomic.Int64
	codes   sync.Map
	readers sync.WaitGroup
	ready   sync.WaitGroup
}

const fillWindow = 256

// newFiller connects the senders and starts their readers.
func (e *env) newFiller(ctx context.Context, users []benchUser, tag string) (*filler, error) {
	info := e.srv.Info()
	specs := make([]dialSpec, len(users))
	for i, u := range users {
		specs[i] = dialSpec{URL: wsURL(info.URLs[0], info.WSPath), Token: u.Token}
	}
	conns, err := connectAll(ctx, specs, 32, 16<<10, false, nil)
	if err != nil {
		return nil, err
	}
	f := &filler{prefix: e.runID + tag + "-", senders: conns, acked: make([]atomic.Int64, len(conns))}
	f.ready.Add(len(conns))
	for i, c := range conns {
		f.readers.Add(1)
		go func() {
			defer f.readers.Done()
			ready := false
			for {
				fr, err := c.ReadFrame()
				if err != nil {
					if !ready {
						f.ready.Done()
					}
					return
				}
				switch kindOf(fr) {
				case kindReplayDone:
					if !ready {
						ready = true
						f.ready.Done()
					}
				case kindAck:
					f.acked[i].Add(1)
				case kindError:
					f.errs.Add(1)
					f.codes.Store(string(stringField(fr, keyCode)), true)
					f.acked[i].Add(1) // answered, if not stored
				}
			}
		}()
	}
	if err := waitGroup(ctx, &f.ready, 60*time.Second); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *filler) close() {
	for _, c := range f.senders {
		_ = c.Close()
	}
	f.readers.Wait()
}

// fill sends, from sender i, count[i] messages to recipients[i] in turn
// (round robin over that list), and waits until all are acknowledged.
func (f *filler) fill(ctx context.Context, recipients [][]string, count []int, contentBytes int) error {
	pad := strings.Repeat("x", max(0, contentBytes-12))
	var wg sync.WaitGroup
	errs := make([]error, len(f.senders))
	for i, c := range f.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var payload, out []byte
			pfx := f.prefix + strconv.Itoa(i) + "-"
			base := f.acked[i].Load()
			sent := 0
			for sent < count[i] {
				for int64(sent)-(f.acked[i].Load()-base) >= fillWindow {
					if ctx.Err() != nil {
						errs[i] = ctx.Err()
						return
					}
					time.Sleep(200 * time.Microsecond)
				}
				out = out[:0]
				for k := 0; k < 64 && sent < count[i]; k++ {
					rcpt := recipients[i][sent%len(recipients[i])]
					payload = appendSend(payload[:0], pfx, int64(sent), rcpt, pad)
					out = c.AppendText(out, payload)
					sent++
				}
				if err := c.WriteBuffered(out); err != nil {
					errs[i] = err
					return
				}
			}
			for f.acked[i].Load()-base < int64(count[i]) {
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: failed to store pending messages: %w", err)
	}
	if n := f.errs.Load(); n > 0 {
		var codes []string
		f.codes.Range(func(k, _ any) bool { codes = append(codes, k.(string)); return true })
		return fmt.Errorf("bench: %d sends were refused while storing pending messages (%s)", n, strings.Join(codes, ", "))
	}
	return nil
}

// runReplay stores K messages for one offline recipient, then times its
// reconnects until REPLAY_DONE.
func (e *env) runReplay(ctx context.Context) (*ReplayResult, error) {
	k := e.o.ReplayK
	res := &ReplayResult{Pending: k}
	nSenders := max(1, min(16, k/200))
	users, err := setupUsers(ctx, e.apis, e.runID+"r", 1+nSenders, nil)
	if err != nil {
		return nil, err
	}
	rcpt := users[0]
	f, err := e.newFiller(ctx, users[1:], "r")
	if err != nil {
		return nil, err
	}
	defer f.close()
	e.logf("replay: storing %d messages for one offline recipient", k)
	counts := make([]int, nSenders)
	targets := make([][]string, nSenders)
	for i := range counts {
		counts[i] = k / nSenders
		if i < k%nSenders {
			counts[i]++
		}
		targets[i] = []string{rcpt.ID}
	}
	start := time.Now()
	if err := f.fill(ctx, targets, counts, e.o.ContentBytes); err != nil {
		return nil, err
	}
	res.FillS = time.Since(start).Seconds()

	info := e.srv.Info()
	url := wsURL(info.URLs[0], info.WSPath)
	for run := 0; run < 3; run++ {
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		c, err := dialWS(dctx, url, dialOptions{Token: rcpt.Token, ReadBuffer: 64 << 10})
		cancel()
		if err != nil {
			return nil, err
		}
		msgs, count := 0, -1
		for count < 0 {
			fr, err := c.ReadFrame()
			if err != nil {
				_ = c.CloseNow()
				return nil, fmt.Errorf("bench: replay connection ended before REPLAY_DONE: %w", err)
			}
			switch kindOf(fr) {
			case kindMessage:
				msgs++
			case kindReplayDone:
				n, _ := intField(fr, keyCount)
				count = int(n)
			}
		}
		res.Runs = append(res.Runs, time.Since(t0).Seconds())
		res.Replayed, res.Count = msgs, count
		_ = c.Close()
		e.logf("replay: run %d: %d messages, REPLAY_DONE after %.3fs", run+1, msgs, res.Runs[run])
	}
	sorted := slices.Clone(res.Runs)
	slices.Sort(sorted)
	res.MedianS = sorted[len(sorted)/2]
	return res, nil
}

// runStorm stores P messages for each of N offline clients, then connects
// them all at once and times each until REPLAY_DONE.
func (e *env) runStorm(ctx context.Context) (*StormResult, error) {
	n, p := e.o.StormClients, e.o.StormPending
	res := &StormResult{Clients: n, Pending: p}
	nSenders := max(1, min(16, n*p/200))
	e.logf("storm: setting up %d clients", n)
	users, err := setupUsers(ctx, e.apis, e.runID+"s", n+nSenders, nil)
	if err != nil {
		return nil, err
	}
	clients := users[:n]
	if p > 0 {
		f, err := e.newFiller(ctx, users[n:], "s")
		if err != nil {
			return nil, err
		}
		targets := make([][]string, nSenders)
		counts := make([]int, nSenders)
		for i, u := range clients {
			targets[i%nSenders] = append(targets[i%nSenders], u.ID)
		}
		for i := range counts {
			counts[i] = len(targets[i]) * p
		}
		e.logf("storm: storing %d messages (%d per client)", n*p, p)
		start := time.Now()
		err = f.fill(ctx, targets, counts, e.o.ContentBytes)
		f.close()
		if err != nil {
			return nil, err
		}
		res.FillS = time.Since(start).Seconds()
	}

	info := e.srv.Info()
	per := newLatency()
	var (
		wg       sync.WaitGroup
		replayed atomic.Int64
		failed   atomic.Int64
		lastDone atomic.Int64
		mu       sync.Mutex
		conns    []*wsConn
	)
	gate := make(chan struct{})
	for i, u := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			t0 := time.Now()
			dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			o := dialOptions{Token: u.Token, ReadBuffer: 4096}
			c, err := dialWS(dctx, wsURL(info.URLs[i%len(info.URLs)], info.WSPath), o)
			cancel()
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			for {
				fr, err := c.ReadFrame()
				if err != nil {
					failed.Add(1)
					return
				}
				switch kindOf(fr) {
				case kindMessage:
					replayed.Add(1)
				case kindReplayDone:
					d := time.Since(t0)
					per.Record(i, d)
					for {
						l := lastDone.Load()
						if int64(d) <= l || lastDone.CompareAndSwap(l, int64(d)) {
							break
						}
					}
					return
				}
			}
		}()
	}
	e.logf("storm: %d clients reconnect at once", n)
	start := time.Now()
	close(gate)
	wg.Wait()
	res.AllS = time.Since(start).Seconds()
	closeAll(conns)
	res.PerConn = per.Summary()
	res.Replayed, res.Failed = replayed.Load(), failed.Load()
	e.logf("storm: %d clients, all REPLAY_DONE after %.3fs (p50 %.1f ms, p99 %.1f ms), %d replayed, %d failed",
		n, res.AllS, res.PerConn.P50, res.PerConn.P99, res.Replayed, res.Failed)
	return res, nil
}
