package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/client"
)

// WorkloadFanout measures the bus's routing: pairs across N instances on
// one real redis-server, counting the bus events each instance receives
// per delivered DM. Not part of "all" (8 instances take a while).
const WorkloadFanout = "fanout"

// FanoutOptions size the fanout workload.
type FanoutOptions struct {
	// Instances are the cluster sizes to measure, each with a fresh
	// server. Default 2, 4, 8.
	Instances []int
	// Pairs is how many sender/recipient pairs; each sender is on another
	// instance than its recipient. Default 64 (short 32).
	Pairs int
	// PerPair is how many DMs each sender sends, one at a time. Default
	// 100 (short 30).
	PerPair int
}

// FanoutRow is one cluster size's figures.
type FanoutRow struct {
	Instances int `json:"instances"`
	// Delivered is how many DMs reached their recipient (and were acked).
	Delivered int `json:"delivered"`
	// MessageEvents and StateEvents are the chat.message and chat.state
	// events received by all instances together.
	MessageEvents int `json:"messageEvents"`
	StateEvents   int `json:"stateEvents"`
	// PerDM is MessageEvents/Delivered: instances that received each DM.
	PerDM float64 `json:"messageEventsPerDm"`
	// StatesPerDM is StateEvents/Delivered.
	StatesPerDM float64 `json:"stateEventsPerDm"`
	// PerInstance is each instance's message events received.
	PerInstance []int `json:"messageEventsPerInstance"`
	// Broadcast is what one channel for all would cost: every instance
	// receives each event, N−1 of them for nothing.
	Broadcast int `json:"broadcastUselessPerDm"`
	// ServerCPUPerDM and RedisCPUPerDM are CPU time per delivered DM, µs.
	ServerCPUPerDM float64 `json:"serverCpuUsPerDm"`
	RedisCPUPerDM  float64 `json:"redisCpuUsPerDm,omitempty"`
	Seconds        float64 `json:"seconds"`
}

// FanoutResult is the fanout workload's table.
type FanoutResult struct {
	Redis string      `json:"redis"`
	Rows  []FanoutRow `json:"rows"`
}

func (o FanoutOptions) withDefaults(short bool) FanoutOptions {
	if len(o.Instances) == 0 {
		o.Instances = []int{2, 4, 8}
	}
	if o.Pairs <= 0 {
		o.Pairs = 64
		if short {
			o.Pairs = 32
		}
	}
	if o.PerPair <= 0 {
		o.PerPair = 100
		if short {
			o.PerPair = 30
		}
	}
	return o
}

// runFanout measures each cluster size in turn.
func runFanout(ctx context.Context, o Options, rep *Report) (*FanoutResult, error) {
	fo := o.Fanout.withDefaults(o.Short)
	if len(o.Targets) > 0 {
		return nil, errors.New("bench: fanout starts its own instances (no --target)")
	}
	res := &FanoutResult{}
	for _, n := range fo.Instances {
		if n < 2 || n > 8 {
			return res, fmt.Errorf("bench: fanout: %d instances (want 2 to 8)", n)
		}
		so := o
		if so.Server.Redis == "" || so.Server.Redis == RedisAuto {
			so.Server.Redis = RedisServerBin // the figures are about a real Redis
		}
		srv, err := startServer(ctx, so, n)
		if err != nil {
			return res, err
		}
		if len(res.Rows) == 0 {
			rep.noteServer(srv, o)
		}
		row, err := fanoutStep(ctx, o, fo, srv, n)
		res.Redis = srv.Info().Redis
		_ = srv.Close()
		if err != nil {
			return res, err
		}
		res.Rows = append(res.Rows, row)
		fmt.Fprintf(o.Progress, "%s  fanout N=%d: %.2f message events received per DM (one channel for all: %d, %d of them useless), %.0f µs server CPU per DM\n",
			time.Now().Format("15:04:05"), n, row.PerDM, n, n-1, row.ServerCPUPerDM)
	}
	return res, nil
}

// fanoutStep runs the pairs on one cluster of n instances.
func fanoutStep(ctx context.Context, o Options, fo FanoutOptions, srv serverSide, n int) (FanoutRow, error) {
	row := FanoutRow{Instances: n, Broadcast: n - 1}
	info := srv.Info()
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	api := &client.API{BaseURL: info.URLs[0], HTTP: hc}
	users, err := setupUsers(ctx, []*client.API{api}, newRunID()+"f", 2*fo.Pairs, nil)
	if err != nil {
		return row, err
	}
	// Sender i on instance i mod n, its recipient on the next one.
	conns := make([]*client.Conn, 2*fo.Pairs)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.CloseNow()
			}
		}
	}()
	for i := range conns {
		inst := (i / 2) % n
		if i%2 == 1 {
			inst = (inst + 1) % n
		}
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, _, err := client.Dial(dctx, wsURL(info.URLs[inst], info.WSPath), client.DialOptions{Token: users[i].Token})
		if err == nil {
			_, err = c.WaitFor(dctx, client.OfType(chat.TypeReplayDone))
		}
		cancel()
		if err != nil {
			return row, fmt.Errorf("bench: fanout socket %d: %w", i, err)
		}
		conns[i] = c
	}

	before, err := fanoutCounters(ctx, hc, info.URLs)
	if err != nil {
		return row, err
	}
	s0, measured, err := srv.Stats(ctx, false)
	if err != nil {
		return row, err
	}
	r0, _ := ProcCPU(info.RedisPID)
	t0 := time.Now()

	var delivered atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2*fo.Pairs)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for p := range fo.Pairs {
		sender, recipient := conns[2*p], conns[2*p+1]
		wg.Add(2)
		go func() { // the sender: one DM at a time, then every DELIVERED
			defer wg.Done()
			states := 0
			for k := range fo.PerPair {
				if err := sender.SendMessage(rctx, fmt.Sprintf("f%d-%d", p, k), users[2*p+1].ID, "fan-out"); err != nil {
					errs <- err
					return
				}
				for acked := false; !acked; {
					f, err := sender.Next(rctx)
					if err != nil {
						errs <- err
						return
					}
					acked = f.Type == chat.TypeMessageAck
					if f.Type == chat.TypeMessageState {
						states++
					}
				}
			}
			for states < fo.PerPair {
				if _, err := sender.WaitFor(rctx, client.OfType(chat.TypeMessageState)); err != nil {
					errs <- fmt.Errorf("waiting for DELIVERED: %w", err)
					return
				}
				states++
			}
		}()
		go func() { // the recipient: ack each DM
			defer wg.Done()
			seen := map[string]bool{}
			for len(seen) < fo.PerPair {
				f, err := recipient.WaitFor(rctx, client.OfType(chat.TypeMessage))
				if err != nil {
					errs <- err
					return
				}
				if seen[f.MessageID] {
					continue
				}
				seen[f.MessageID] = true
				delivered.Add(1)
				if err := recipient.Ack(rctx, f.MessageID); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return row, fmt.Errorf("bench: fanout N=%d: %w", n, err)
	}
	row.Seconds = time.Since(t0).Seconds()
	s1, _, err := srv.Stats(ctx, false)
	if err != nil {
		return row, err
	}
	r1, _ := ProcCPU(info.RedisPID)
	after, err := fanoutCounters(ctx, hc, info.URLs)
	if err != nil {
		return row, err
	}
	row.Delivered = int(delivered.Load())
	for i := range info.URLs {
		m := int(after[i].messages - before[i].messages)
		row.MessageEvents += m
		row.StateEvents += int(after[i].states - before[i].states)
		row.PerInstance = append(row.PerInstance, m)
	}
	if row.Delivered > 0 {
		d := float64(row.Delivered)
		row.PerDM = float64(row.MessageEvents) / d
		row.StatesPerDM = float64(row.StateEvents) / d
		if measured {
			row.ServerCPUPerDM = float64((s1.CPU - s0.CPU).Microseconds()) / d
		}
		if info.RedisPID > 0 {
			row.RedisCPUPerDM = float64((r1 - r0).Microseconds()) / d
		}
	}
	return row, nil
}

// busCounters are one instance's received chat events.
type busCounters struct{ messages, states float64 }

// fanoutCounters reads dmchat_bus_events_received_total of each instance
// from its /metrics.
func fanoutCounters(ctx context.Context, hc *http.Client, urls []string) ([]busCounters, error) {
	out := make([]busCounters, len(urls))
	for i, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("bench: failed to read metrics: %w", err)
		}
		out[i] = parseBusCounters(resp.Body)
		_ = resp.Body.Close()
	}
	return out, nil
}

func parseBusCounters(r io.Reader) busCounters {
	var c busCounters
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "dmchat_bus_events_received_total{") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(line, `kind="chat.message"`):
			c.messages = v
		case strings.Contains(line, `kind="chat.state"`):
			c.states = v
		}
	}
	return c
}

// writeFanoutTable prints the fanout table and its targets.
func writeFanoutTable(w io.Writer, f *FanoutResult) {
	if f == nil || len(f.Rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nfanout (pairs across instances, %s)\n", f.Redis)
	fmt.Fprintf(w, "  %-9s %9s %14s %12s %14s %18s %14s %13s\n", "instances", "DMs", "msg events/DM", "states/DM", "broadcast N-1", "per instance", "server µs/DM", "redis µs/DM")
	base := f.Rows[0].ServerCPUPerDM
	for _, r := range f.Rows {
		per := make([]string, len(r.PerInstance))
		for i, v := range r.PerInstance {
			per[i] = strconv.Itoa(v)
		}
		fmt.Fprintf(w, "  %-9d %9d %14.3f %12.3f %14d %18s %14.0f %13.0f\n", r.Instances, r.Delivered, r.PerDM, r.StatesPerDM,
			r.Broadcast, strings.Join(per, "/"), r.ServerCPUPerDM, r.RedisCPUPerDM)
	}
	last := f.Rows[len(f.Rows)-1]
	okEvents := true
	for _, r := range f.Rows {
		okEvents = okEvents && r.PerDM <= 1.1 && r.StatesPerDM <= 1.1
	}
	verdict := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "NOT MET"
	}
	fmt.Fprintf(w, "  target: received events per DM <= 1.1 at every N: %s\n", verdict(okEvents))
	if base > 0 {
		ratio := last.ServerCPUPerDM / base
		fmt.Fprintf(w, "  target: server CPU per DM flat in N (N=%d / N=%d = %.2f, want <= 1.5): %s\n",
			last.Instances, f.Rows[0].Instances, ratio, verdict(ratio <= 1.5))
	}
}
