package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/client"
)

// HostileResult is the hostile workload: legitimate pairs at a steady rate
// while attackers, one kind after another and then all together, try to
// exhaust the server. It reports; it asserts nothing (the defences may or
// may not be in the server under test).
type HostileResult struct {
	Pairs   int     `json:"pairs"`
	Rate    int     `json:"ratePerSec"` // the legitimate pairs' steady DMs/s
	PhaseS  float64 `json:"phaseS"`
	Sockets int     `json:"sockets"` // non-reading sockets of one user; the flood uses min(40, this)
	Conns   int     `json:"conns"`   // slowloris and idle keep-alive connections, each
	// The server's own limits during the run (its defaults, not raised).
	WSRate     float64 `json:"wsRate"`
	WSBurst    int     `json:"wsBurst"`
	BcryptCost int     `json:"bcryptCost"`
	// Measured is false when the server process cannot be read (--target
	// without --server-pid): peaks are then 0.
	Measured bool `json:"measured"`
	// AttackersApart says the attackers ran in a child process of their
	// own (Options.ChildArgv), not in the process that timed the
	// legitimate clients.
	AttackersApart bool           `json:"attackersApart"`
	Phases         []HostilePhase `json:"phases"`
	Note           string         `json:"note,omitempty"`
}

// HostilePhase is one phase: the quiet baseline, one attack, or all of
// them at once.
type HostilePhase struct {
	Name string `json:"name"`
	// The server's peaks, sampled every 200 ms from the attack's start
	// until it was stopped. Goroutines is -1 for a target server.
	PeakRSS        int64 `json:"peakRss"`
	PeakFDs        int   `json:"peakOpenFds"`
	PeakGoroutines int   `json:"peakGoroutines"`
	PeakSockets    int   `json:"peakSockets"`
	Samples        int   `json:"samples"`
	// The legitimate pairs: DMs planned in the phase, delivered by the end
	// of its drain, lost (not delivered by then), late (delivered more than
	// 1 s after they were due), and send→delivered latency.
	Planned   int64   `json:"planned"`
	Delivered int64   `json:"delivered"`
	Lost      int64   `json:"lost"`
	Late      int64   `json:"lateOver1s"`
	Deliver   Summary `json:"sendToDelivered"`
	// SendLag is how late the tool wrote the legitimate sends (due →
	// written): when it is a real part of Deliver, so is the tool.
	SendLag Summary          `json:"sendLag"`
	Errors  int64            `json:"errors"`
	Codes   map[string]int64 `json:"errorCodes,omitempty"`
	// A legitimate client meanwhile: GET /healthz and a login with the
	// right password, four times a second from an address of its own.
	Healthz       Summary `json:"healthz"`
	HealthzFailed int64   `json:"healthzFailed"`
	Login         Summary `json:"login"`
	LoginFailed   int64   `json:"loginFailed"`
	// Attack counts what the attackers did and what the server did to
	// them (opened, refused, closed, answered 429, ...).
	Attack  map[string]int64 `json:"attack,omitempty"`
	AttackS float64          `json:"attackS"`
	// LogLines is how many lines the server logged during the phase (-1
	// when its log is not a readable file): a flood must not become a
	// flood of log lines.
	LogLines int64 `json:"logLines"`
	// Aborted says why the attack was stopped before the phase's end (the
	// server's RSS passed hostileRSSAbort), or is empty.
	Aborted string `json:"aborted,omitempty"`
}

// hostileRSSAbort stops an attack whose server has grown past it: the
// figure is already far over its target, and a server without defences
// would otherwise grow until it takes the (shared) machine with it.
const hostileRSSAbort = 2 << 30

// Phase names, in the order they run.
const (
	PhaseQuiet      = "quiet"
	PhaseNonReading = "non-reading sockets"
	PhaseSlowloris  = "slowloris"
	PhaseIdleConns  = "idle keep-alives"
	PhaseSendFlood  = "send flood"
	PhaseLoginStorm = "login storm"
	PhaseRepeatAcks = "repeat acks"
	PhaseHistory    = "history flood"
	PhaseAll        = "all together"
)

// HostilePhases is every phase, in order.
var HostilePhases = []string{PhaseQuiet, PhaseNonReading, PhaseSlowloris, PhaseIdleConns,
	PhaseSendFlood, PhaseLoginStorm, PhaseRepeatAcks, PhaseHistory, PhaseAll}

// hostileRun is the state of one hostile run.
type hostileRun struct {
	e     *env
	pairs *pairsRun
	attackTarget
}

// attackTarget is what the attacks need: the server, their bounds and the
// attackers' accounts. The attacker child is handed it as JSON, so an
// attack sees the same fields in either process.
type attackTarget struct {
	RunID    string        `json:"runId"` // names the attackers' messages
	Base     string        `json:"base"`  // the instance's base URL
	WS       string        `json:"ws"`    // its WebSocket URL
	Sockets  int           `json:"sockets"`
	Conns    int           `json:"conns"`
	PhaseLen time.Duration `json:"phaseLen"`

	Victim       benchUser   `json:"victim"`  // its sockets never read
	Feeders      []benchUser `json:"feeders"` // send to the victim
	Flooder      benchUser   `json:"flooder"` // floods the sink over many sockets
	Sink         benchUser   `json:"sink"`
	Acker        benchUser   `json:"acker"`     // repeats delivery acks
	AckFeeder    benchUser   `json:"ackFeeder"` // sends the acker the messages it acks
	StormTargets []benchUser `json:"stormTargets"`
}

// Loopback source addresses, one /24 per role, so that each role looks like
// clients of its own to per-address limits. Linux routes all of 127/8 to lo.
// Each attack comes from one address (attackerIP(addrX)), as one attacking
// client would, so per-address caps see it whole; the login storm comes
// from eight, as in the issue.
func setupIP(i int) net.IP    { return net.IPv4(127, 0, 2, byte(1+i%64)) }
func attackerIP(i int) net.IP { return net.IPv4(127, 0, 3, byte(1+i%250)) }
func stormIP(i int) net.IP    { return net.IPv4(127, 0, 4, byte(1+i%8)) }
func legitIP() net.IP         { return net.IPv4(127, 0, 5, 1) }

// httpClientFrom is an HTTP client whose connections leave from ip.
func httpClientFrom(ip net.IP, idle int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}).DialContext,
			MaxIdleConns:        idle,
			MaxIdleConnsPerHost: idle,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// ErrNotLoopback is returned by the hostile workload for a target that is
// not on 127.0.0.0/8: it attacks only this machine.
var ErrNotLoopback = errors.New("bench: the hostile workload only targets loopback (127.0.0.0/8)")

// runHostile runs every phase against the first instance.
func (e *env) runHostile(ctx context.Context) (*HostileResult, error) {
	o := e.o
	info := e.srv.Info()
	base := info.URLs[0]
	if !isLoopbackURL(base) || strings.Contains(base, "localhost") {
		return nil, fmt.Errorf("%w: %s", ErrNotLoopback, base)
	}
	res := &HostileResult{Pairs: o.HostilePairs, Rate: o.HostileRate, PhaseS: o.HostilePhase.Seconds(),
		Sockets: o.HostileSockets, Conns: o.HostileConns, WSRate: info.Rate, WSBurst: info.Burst, BcryptCost: info.Bcrypt,
		AttackersApart: len(o.ChildArgv) > 0}
	h := &hostileRun{e: e, attackTarget: attackTarget{RunID: e.runID, Base: base, WS: wsURL(base, info.WSPath),
		Sockets: o.HostileSockets, Conns: o.HostileConns, PhaseLen: o.HostilePhase}}

	// Setup goes through many source addresses, so a per-address login
	// limit does not make it crawl.
	var setupAPIs []*client.API
	for i := range 32 {
		hc := httpClientFrom(setupIP(i), 8)
		defer hc.CloseIdleConnections()
		setupAPIs = append(setupAPIs, &client.API{BaseURL: base, HTTP: hc})
	}
	saved := e.apis
	e.apis = setupAPIs
	defer func() { e.apis = saved }()
	e.logf("hostile: setting up %d pairs and the attackers' accounts", o.HostilePairs)
	attackers, err := setupUsers(ctx, setupAPIs, e.runID+"h", nonReadingFeeders+8, nil)
	if err != nil {
		return nil, err
	}
	h.Victim, h.Feeders = attackers[0], attackers[1:1+nonReadingFeeders]
	rest := attackers[1+nonReadingFeeders:]
	h.Flooder, h.Sink, h.Acker, h.AckFeeder = rest[0], rest[1], rest[2], rest[3]
	h.StormTargets = rest[4:7]
	r, stop, err := e.startPairs(ctx, o.HostilePairs, base, base, true)
	if err != nil {
		return nil, err
	}
	defer stop()
	h.pairs = r

	warm, err := e.pairsStep(ctx, r, o.HostileRate, 0, "hostile (warm-up)", min(time.Second, o.HostilePhase))
	if err != nil {
		return res, err
	}
	seq := warm.Planned
	_, res.Measured, _ = e.srv.Stats(ctx, false)
	switch {
	case !res.Measured:
		res.Note = "server process not measured (no --server-pid): peaks are not reported"
	case !e.srv.Separate():
		res.Note = "server in the tool's process: its RSS, fds and goroutines include the load tool's"
	}
	for _, name := range HostilePhases {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		ph, err := h.runPhase(ctx, name, seq)
		if err != nil {
			return res, err
		}
		seq += ph.Planned
		res.Phases = append(res.Phases, ph)
		if name != PhaseAll {
			h.settle(ctx)
		}
	}
	return res, nil
}

// attackFunc is one attack: it runs until ctx ends or its count bound is
// reached, counting into c, and calls engaged once it is going.
type attackFunc func(ctx context.Context, c *counters, engaged func())

// attacks returns the phase's attacks by name; PhaseAll runs them all.
func (h *hostileRun) attacks(name string) map[string]attackFunc {
	all := map[string]attackFunc{
		PhaseNonReading: h.nonReading, PhaseSlowloris: h.slowloris, PhaseIdleConns: h.idleKeepAlives,
		PhaseSendFlood: h.sendFlood, PhaseLoginStorm: h.loginStorm, PhaseRepeatAcks: h.repeatAcks,
		PhaseHistory: h.historyFlood,
	}
	switch name {
	case PhaseQuiet:
		return nil
	case PhaseAll:
		return all
	}
	return map[string]attackFunc{name: all[name]}
}

// attackEngageMax bounds how long attackers may take to get going (open
// their sockets) before the legitimate load is measured anyway.
const attackEngageMax = 30 * time.Second

// startAttacks starts the phase's attacks in this process, each counting
// into c (under its name when there are several); engaged is closed once
// every one is going, and wait returns once all have ended (with ctx).
func (h *hostileRun) startAttacks(ctx context.Context, name string, c *counters) (engaged <-chan struct{}, wait func()) {
	var attackers, engagedWG sync.WaitGroup
	attacks := h.attacks(name)
	for an, a := range attacks {
		ac := c
		if len(attacks) > 1 {
			ac = c.with(an + ": ")
		}
		attackers.Add(1)
		engagedWG.Add(1)
		var once sync.Once
		engaged := func() { once.Do(engagedWG.Done) }
		go func() {
			defer attackers.Done()
			defer engaged()
			a(ctx, ac, engaged)
		}()
	}
	all := make(chan struct{})
	go func() { engagedWG.Wait(); close(all) }()
	return all, attackers.Wait
}

// runPhase starts the phase's attacks, waits until they are engaged, offers
// the legitimate load for one phase while a legitimate client probes
// /healthz and login, then stops the attackers.
func (h *hostileRun) runPhase(ctx context.Context, name string, seq int64) (HostilePhase, error) {
	e := h.e
	ph := HostilePhase{Name: name}
	c := newCounters()
	// Every attack is bounded in time by this context (and in count by
	// its own limits).
	actx, cancel := context.WithTimeout(ctx, attackEngageMax+h.PhaseLen+e.o.Drain+10*time.Second)
	defer cancel()
	logs := newLogCounter(e.srv.Info().LogFile)
	var aborted atomic.Bool
	peaks := h.sample(actx, func(s ServerStats) {
		if s.RSS > hostileRSSAbort && !aborted.Swap(true) {
			e.logf("hostile: %s: server RSS %.0f MiB: stopping the attack", name, float64(s.RSS)/(1<<20))
			cancel()
		}
	})
	t0 := time.Now()
	start := h.startAttacks
	if len(e.o.ChildArgv) > 0 && name != PhaseQuiet {
		start = h.startAttacksInChild
	}
	engaged, waitAttackers := start(actx, name, c)
	if name != PhaseQuiet {
		e.logf("hostile: %s: starting the attack", name)
	}
	select {
	case <-engaged:
	case <-ctx.Done():
	case <-time.After(attackEngageMax):
		e.logf("hostile: %s: attackers not all engaged after %v; measuring anyway", name, attackEngageMax)
	}

	probe := newProbe(h)
	stopProbe := make(chan struct{})
	probeDone := make(chan struct{})
	go func() { defer close(probeDone); probe.run(ctx, stopProbe) }()
	step, err := e.pairsStep(ctx, h.pairs, e.o.HostileRate, seq, "hostile: "+name, h.PhaseLen)
	close(stopProbe)
	<-probeDone // its last round may still be under attack: it is measured too
	cancel()
	waitAttackers()
	ph.AttackS = time.Since(t0).Seconds()
	pk := peaks()
	if err != nil {
		return ph, err
	}
	ph.PeakRSS, ph.PeakFDs, ph.PeakGoroutines, ph.PeakSockets, ph.Samples = pk.RSS, pk.FDs, pk.Goroutines, pk.Sockets, pk.Samples
	ph.Planned, ph.Delivered, ph.Errors, ph.Codes, ph.Deliver = step.Planned, step.Delivered, step.Errors, step.Codes, step.Deliver
	ph.SendLag = step.SendLag
	ph.Lost = max(0, step.Planned-step.Delivered)
	ph.Late = countOver(h.pairs.dlv, time.Second)
	ph.Healthz, ph.HealthzFailed = probe.health.Summary(), probe.healthFailed.Load()
	ph.Login, ph.LoginFailed = probe.login.Summary(), probe.loginFailed.Load()
	ph.Attack = c.snapshot()
	ph.LogLines = logs.lines()
	if aborted.Load() {
		ph.Aborted = fmt.Sprintf("attack stopped early: server RSS passed %d MiB", hostileRSSAbort>>20)
	}
	e.logf("hostile: %s: delivered p99 %.2f ms, lost %d, late %d, login p50 %.1f ms, peak RSS %.0f MiB, fds %d, goroutines %d; attack %s",
		name, ph.Deliver.P99, ph.Lost, ph.Late, ph.Login.P50, float64(ph.PeakRSS)/(1<<20), ph.PeakFDs, ph.PeakGoroutines,
		formatCounts(ph.Attack))
	return ph, nil
}
