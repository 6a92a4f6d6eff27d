package httpapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Defaults of Options.PingInterval and Options.PingTimeout.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 10 * time.Second
)

// pinger pings one socket every interval and reports a peer that does not
// answer within timeout as dead, so a socket whose peer vanished (no FIN,
// no RST: a cable pulled, a laptop closed) is dropped instead of held, and
// proxies in between see traffic on an idle socket. It runs on a timer:
// between pings an idle socket costs no goroutine, only during one (the
// read loop answers pongs meanwhile; coder/websocket hands them to Ping).
//
// Lock rule: mu guards every field but the read-only ones; never held
// while pinging or calling onDead.
type pinger struct {
	c                 *websocket.Conn
	interval, timeout time.Duration
	onDead            func()
	// answered, if set (tests), is called after each pong.
	answered func()

	mu       sync.Mutex
	timer    *time.Timer
	cancel   context.CancelFunc // of the ping in flight, if any
	inflight sync.WaitGroup
	stopped  bool
}

// startPinger pings c every interval until stop; onDead is called (once,
// from the pinging goroutine) when a pong does not come within timeout.
func startPinger(c *websocket.Conn, interval, timeout time.Duration, onDead func()) *pinger {
	return startPingerHooked(c, interval, timeout, onDead, nil)
}

// startPingerHooked is startPinger that also calls answered after each
// pong.
func startPingerHooked(c *websocket.Conn, interval, timeout time.Duration, onDead, answered func()) *pinger {
	p := &pinger{c: c, interval: interval, timeout: timeout, onDead: onDead, answered: answered}
	p.mu.Lock()
	p.timer = time.AfterFunc(interval, p.ping)
	p.mu.Unlock()
	return p
}

func (p *pinger) ping() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	p.cancel = cancel
	p.inflight.Add(1)
	p.mu.Unlock()

	err := p.c.Ping(ctx)
	timedOut := errors.Is(err, context.DeadlineExceeded)
	cancel()

	p.mu.Lock()
	p.cancel = nil
	stopped := p.stopped
	if err == nil && !stopped {
		p.timer.Reset(p.interval)
	}
	p.mu.Unlock()
	p.inflight.Done()
	if err == nil && p.answered != nil {
		p.answered()
	}
	// Any other error means the socket closed, which the read loop sees.
	if timedOut && !stopped {
		p.onDead()
	}
}

// stop ends the pings, cancelling one in flight and waiting for it, so no
// goroutine outlives the socket. Idempotent.
func (p *pinger) stop() {
	p.mu.Lock()
	p.stopped = true
	p.timer.Stop()
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.inflight.Wait()
}
