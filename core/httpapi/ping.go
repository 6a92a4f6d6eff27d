package httpapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dmchat/dmchat/core/internal/wheel"
)

// Defaults of Options.PingInterval and Options.PingTimeout.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 10 * time.Second
)

// pinger pings one socket every interval of its wheel and reports a peer
// that does not answer within timeout as dead, so a socket whose peer
// vanished (no FIN, no RST: a cable pulled, a laptop closed) is dropped
// instead of held, and proxies in between see traffic on an idle socket.
// Between pings an idle socket costs no goroutine and no timer of its own
// (the wheel's one timer serves every socket), only during one (the read
// loop answers pongs meanwhile; coder/websocket hands them to Ping).
//
// Lock rule: mu guards every field but the read-only ones; never held
// while pinging, scheduling or calling onDead.
type pinger struct {
	w       *pingWheel
	timeout time.Duration
	// answered, if set (tests), is called after each pong.
	answered func()
	// cork, if set, is kicked after a pong when no message came since the
	// last one (see idlepark.go); messages is the count seen then. Only
	// the ping in flight uses messages.
	cork     *corkConn
	messages uint32

	mu       sync.Mutex
	c        *websocket.Conn // nil once stopped: the wheel may hold p a while
	onDead   func()
	cancel   context.CancelFunc // of the ping in flight, if any
	inflight sync.WaitGroup
	stopped  bool
}

// startPinger pings c every w.interval until stop; onDead is called
// (once, from the pinging goroutine) when a pong does not come within
// timeout. After a pong, a socket that read no message since the last
// one has its read loop kicked into an idle park (cork may be nil: none).
func startPinger(w *pingWheel, c *websocket.Conn, cork *corkConn, timeout time.Duration, onDead func()) *pinger {
	return startPingerHooked(w, c, cork, timeout, onDead, nil)
}

// startPingerHooked is startPinger that also calls answered after each
// pong.
func startPingerHooked(w *pingWheel, c *websocket.Conn, cork *corkConn, timeout time.Duration, onDead, answered func()) *pinger {
	p := &pinger{w: w, c: c, cork: cork, timeout: timeout, onDead: onDead, answered: answered}
	w.schedule(p, time.Now().Add(w.interval))
	return p
}

// isStopped reports whether stop was called.
func (p *pinger) isStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

func (p *pinger) ping() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	c, onDead, cork := p.c, p.onDead, p.cork
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	p.cancel = cancel
	p.inflight.Add(1)
	p.mu.Unlock()

	err := c.Ping(ctx)
	timedOut := errors.Is(err, context.DeadlineExceeded)
	cancel()

	p.mu.Lock()
	p.cancel = nil
	stopped := p.stopped
	p.mu.Unlock()
	if err == nil && !stopped {
		if cork != nil {
			// The pong woke the read loop, which parks deep again: send it
			// back to a small stack unless the socket is in use.
			if n := cork.messages.Load(); n == p.messages {
				cork.kickIdle()
			} else {
				p.messages = n
			}
		}
		p.w.schedule(p, time.Now().Add(p.w.interval))
	}
	// Before Done, so that nothing is answered after stop returns.
	if err == nil && p.answered != nil {
		p.answered()
	}
	p.inflight.Done()
	// Any other error means the socket closed, which the read loop sees.
	if timedOut && !stopped {
		onDead()
	}
}

// stop ends the pings, cancelling one in flight and waiting for it, so no
// goroutine outlives the socket. It drops the socket and the callback, so
// the wheel, which forgets p only at its next turn, holds no more than p.
// Idempotent.
func (p *pinger) stop() {
	p.mu.Lock()
	p.stopped = true
	p.c, p.onDead, p.cork = nil, nil, nil
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.inflight.Wait()
}

// pingWheelSlots is how many turns of the wheel one interval spans: a ping
// is sent at most interval/pingWheelSlots after it is due, never before.
const pingWheelSlots = 16

// pingWheel is the one timer behind every pinger of an API (see
// core/internal/wheel): an idle socket costs one wheel entry (~32 B) instead of a
// runtime timer and its callback. A stopped pinger is not taken out; the
// wheel forgets it at its turn, and stop has dropped what it held.
type pingWheel struct {
	interval time.Duration
	w        *wheel.Wheel[*pinger]
}

func newPingWheel(interval time.Duration) *pingWheel {
	return &pingWheel{interval: interval, w: wheel.New(interval/pingWheelSlots, startPings)}
}

// schedule pings p at the first tick at or after at.
func (w *pingWheel) schedule(p *pinger, at time.Time) { w.w.Add(p, at) }

// startPings pings each pinger due in a goroutine of its own, as a timer
// callback did: a ping waits for its pong.
func startPings(due []*pinger) {
	for _, p := range due {
		if !p.isStopped() {
			go p.ping()
		}
	}
}
