package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// What the attacks share. The attacks themselves are in hostile_sockets.go
// (WebSocket) and hostile_conns.go (HTTP). Each runs until ctx ends (the phase's bound in time) or its
// own count bound is reached, calls engaged once it is going, targets only
// the instance under test (loopback, checked by runHostile) and closes
// everything it opened before it returns. None of them fails: what the
// server refuses or closes is counted, as that is what the defences do.

// attackDialTimeout bounds one connect and handshake of an attacker.
const attackDialTimeout = 10 * time.Second

// Attackers' source addresses, as attackerIP indices.
const (
	addrNonReading = iota
	addrSlowloris
	addrIdle
	addrFlood
	addrSink
	addrAcks
	addrHistory
	addrFeeders // + k for the k-th feeder; the acker's feeder comes last
)

// dialAttacker opens a WebSocket for an attacker from attackerIP(addr) and
// counts the outcome.
func (h *hostileRun) dialAttacker(ctx context.Context, c *counters, token string, addr int, o dialOptions) *wsConn {
	o.Token, o.LocalIP = token, attackerIP(addr)
	dctx, cancel := context.WithTimeout(ctx, attackDialTimeout)
	defer cancel()
	conn, err := dialWS(dctx, h.WS, o)
	var he *handshakeError
	switch {
	case err == nil:
		c.add("sockets opened", 1)
		return conn
	case ctx.Err() != nil:
	case errors.As(err, &he):
		c.add("upgrade refused "+strconv.Itoa(he.Status), 1)
	default:
		c.add("connect failed", 1)
	}
	return nil
}

// countClose counts how the server ended an attacker's socket.
func countClose(ctx context.Context, c *counters, err error) {
	if ctx.Err() != nil {
		return // we closed it
	}
	var ce *wsCloseError
	if errors.As(err, &ce) {
		c.add("closed "+strconv.Itoa(ce.Code), 1)
		return
	}
	c.add("read failed", 1)
}

// drain reads conn until it ends, counting ERROR codes and the close.
func drain(ctx context.Context, c *counters, conn *wsConn, onFrame func([]byte)) {
	for {
		f, err := conn.ReadFrame()
		if err != nil {
			countClose(ctx, c, err)
			return
		}
		switch kindOf(f) {
		case kindError:
			c.add("ERROR "+string(stringField(f, keyCode)), 1)
		case kindAck:
			c.add("stored (acked)", 1)
		}
		if onFrame != nil {
			onFrame(f)
		}
	}
}

// closeOnDone closes conns when ctx ends, so blocked readers return.
func closeOnDone(ctx context.Context, mu *sync.Mutex, conns *[]*wsConn) {
	<-ctx.Done()
	mu.Lock()
	defer mu.Unlock()
	closeAll(*conns)
}

// dialPool runs dial(i) for i in [0, n) on conc goroutines, stopping early
// when ctx ends.
func dialPool(ctx context.Context, n, conc int, dial func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				dial(i)
			}
		}()
	}
	wg.Wait()
}

// rawConn opens a plain TCP connection from attackerIP(addr).
func (h *hostileRun) rawConn(ctx context.Context, c *counters, addr int) net.Conn {
	u, err := url.Parse(h.Base)
	if err != nil {
		return nil
	}
	d := net.Dialer{Timeout: attackDialTimeout, LocalAddr: &net.TCPAddr{IP: attackerIP(addr)}}
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		if ctx.Err() == nil {
			c.add("connect failed", 1)
		}
		return nil
	}
	c.add("connections opened", 1)
	return nc
}

// watchClose waits until the server closes nc (or ctx ends and we do), and
// counts a server-side close. It reads and throws away what arrives.
func watchClose(ctx context.Context, c *counters, nc net.Conn, what string) {
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()
	_, _ = io.Copy(io.Discard, nc)
	_ = nc.Close()
	if ctx.Err() == nil {
		c.add(what+" closed by server", 1)
	}
}
