package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// IdleResult is the idle workload: N authenticated sockets doing nothing.
type IdleResult struct {
	Sockets int `json:"sockets"`
	// ServerSockets is the server's own count once all were open (when
	// measurable).
	ServerSockets int     `json:"serverSockets"`
	ConnectS      float64 `json:"connectS"` // time to open all and get REPLAY_DONE on each
	ConnectRate   float64 `json:"connectsPerSec"`
	// Per-socket growth of the server process, from before the first
	// connect to after the last (both after a full GC).
	RSSPerSocket  float64 `json:"rssBytesPerSocket"`
	HeapPerSocket float64 `json:"heapBytesPerSocket"`
	// LivePerSocket is the growth of the live heap (HeapAlloc): the bytes
	// the sockets hold, without the free slots of the spans they share
	// (HeapInuse counts those, and they move with the GC's timing).
	LivePerSocket  float64 `json:"liveHeapBytesPerSocket"`
	StackPerSocket float64 `json:"stackBytesPerSocket"`
	GoroutinesPer  float64 `json:"goroutinesPerSocket"`
	RSSTotal       int64   `json:"rssBytes"`
	// IdleCPU is the server's CPU while idle, percent of one core, over
	// IdleS seconds.
	IdleCPU  float64 `json:"idleCpuPct"`
	IdleS    float64 `json:"idleS"`
	Lost     int64   `json:"socketsLost"` // sockets the server closed while idle
	Measured bool    `json:"measured"`    // false: no server stats (--target without --server-pid)
	Note     string  `json:"note,omitempty"`
}

// runIdle opens N sockets, measures the server's memory per socket and its
// CPU while they sit idle.
func (e *env) runIdle(ctx context.Context) (*IdleResult, error) {
	o := e.o
	n := o.IdleSockets
	res := &IdleResult{Sockets: n}
	// Each side needs one descriptor per socket plus a few of its own;
	// where the hard limit cannot be raised (no CAP_SYS_RESOURCE), the run
	// is cut to what fits and says so.
	limit := RaiseFileLimit(1 << 18)
	if sl := e.srv.Info().FileLimit; sl > 0 {
		limit = min(limit, sl)
	}
	if limit > 0 && uint64(n)+200 > limit {
		n = int(limit) - 200
		res.Sockets = n
		res.Note = fmt.Sprintf("cut from %d to %d sockets: the open-file limit is %d here and cannot be raised (no CAP_SYS_RESOURCE)",
			o.IdleSockets, n, limit)
		e.logf("idle: %s", res.Note)
	}
	e.logf("idle: setting up %d users", n)
	users, err := setupUsers(ctx, e.apis, e.runID+"i", n, func(d int) { e.logf("idle: %d/%d users ready", d, n) })
	if err != nil {
		return nil, err
	}
	info := e.srv.Info()
	specs := make([]dialSpec, n)
	for i := range n {
		specs[i] = dialSpec{URL: wsURL(info.URLs[i%len(info.URLs)], info.WSPath), Token: users[i].Token}
	}
	s0, measured, err := e.srv.Stats(ctx, true)
	if err != nil {
		return nil, err
	}
	res.Measured = measured

	var (
		readyWG  sync.WaitGroup
		lost     atomic.Int64
		stopping atomic.Bool
		readers  sync.WaitGroup
	)
	start := time.Now()
	conns, err := connectAll(ctx, specs, 64, 512, n > 10000, func(d int) { e.logf("idle: %d/%d sockets open", d, n) })
	if err != nil {
		return nil, err
	}
	readyWG.Add(n)
	for _, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			ready := false
			for {
				f, err := c.ReadFrame()
				if err != nil {
					if !ready {
						readyWG.Done()
					}
					if !stopping.Load() {
						lost.Add(1)
					}
					return
				}
				if !ready && kindOf(f) == kindReplayDone {
					ready = true
					readyWG.Done()
				}
			}
		}()
	}
	defer func() {
		stopping.Store(true)
		closeAll(conns)
		readers.Wait()
	}()
	if err := waitGroup(ctx, &readyWG, 120*time.Second); err != nil {
		return nil, fmt.Errorf("bench: idle sockets did not all get REPLAY_DONE: %w", err)
	}
	res.ConnectS = time.Since(start).Seconds()
	res.ConnectRate = float64(n) / res.ConnectS
	e.logf("idle: %d sockets open in %.1fs", n, res.ConnectS)

	// Let the connects' garbage go, then measure memory, then CPU while idle.
	settle := time.NewTimer(500 * time.Millisecond)
	select {
	case <-ctx.Done():
		settle.Stop()
		return nil, ctx.Err()
	case <-settle.C:
	}
	s1, _, err := e.srv.Stats(ctx, true)
	if err != nil {
		return nil, err
	}
	idleStart := time.Now()
	wait := time.NewTimer(o.IdleFor)
	select {
	case <-ctx.Done():
		wait.Stop()
		return nil, ctx.Err()
	case <-wait.C:
	}
	s2, _, err := e.srv.Stats(ctx, false)
	if err != nil {
		return nil, err
	}
	idleWall := time.Since(idleStart)
	res.Lost = lost.Load()
	if measured {
		per := func(a, b int64) float64 { return float64(b-a) / float64(n) }
		res.RSSPerSocket = per(s0.RSS, s1.RSS)
		res.HeapPerSocket = per(int64(s0.HeapInuse), int64(s1.HeapInuse))
		res.LivePerSocket = per(int64(s0.HeapAlloc), int64(s1.HeapAlloc))
		res.StackPerSocket = per(int64(s0.StackInuse), int64(s1.StackInuse))
		res.GoroutinesPer = per(int64(s0.Goroutines), int64(s1.Goroutines))
		res.RSSTotal = s1.RSS
		res.ServerSockets = s1.Sockets
		res.IdleS = idleWall.Seconds()
		// The stats call itself may run a GC; the idle window starts after.
		res.IdleCPU = 100 * float64(s2.CPU-s1.CPU) / float64(idleWall)
		if !e.srv.Separate() {
			res.Note = strings.TrimPrefix(res.Note+"; server shares the tool's process: memory and CPU include the tool's sockets", "; ")
		}
	}
	e.logf("idle: %d sockets: RSS %.1f KiB/socket, heap %.1f KiB/socket (live %.2f), stacks %.1f KiB/socket, %.1f goroutines/socket, idle CPU %.2f%%",
		n, res.RSSPerSocket/1024, res.HeapPerSocket/1024, res.LivePerSocket/1024, res.StackPerSocket/1024, res.GoroutinesPer, res.IdleCPU)
	return res, nil
}
