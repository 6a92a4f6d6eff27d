package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmchat/dmchat/core/client"
)

// The attacks. Each runs until ctx ends (the phase's bound in time) or its
// own count bound is reached, calls engaged once it is going, targets only
// the instance under test (loopback, checked by runHostile) and closes
// everything it opened before it returns. None of them fails: what the
// server refuses or closes is counted, as that is what the defences do.

// attackDialTimeout bounds one connect and handshake of an attacker.
const attackDialTimeout = 10 * time.Second

// dialAttacker opens a WebSocket for an attacker and counts the outcome.
func (h *hostileRun) dialAttacker(ctx context.Context, c *counters, token string, i int, o dialOptions) *wsConn {
	o.Token, o.LocalIP = token, attackerIP(i)
	dctx, cancel := context.WithTimeout(ctx, attackDialTimeout)
	defer cancel()
	conn, err := dialWS(dctx, h.ws, o)
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

// nonReadingFeeders is how many users feed the non-reading user, each at
// 15 messages/s (within the contract's per-socket and per-user limits):
// 240 messages/s of 4 KiB to every one of its sockets, about the rate at
// which the attacker grew the server by 230 MB/s.
const nonReadingFeeders = 16

// nonReading is one user opening h.sockets sockets that never read (and
// replacing one of them five times a second) while other users send it
// 4 KiB messages within the rate limit: what the server queues for them is
// bounded only by its defences.
func (h *hostileRun) nonReading(ctx context.Context, c *counters, engaged func()) {
	var mu sync.Mutex
	var conns []*wsConn
	go closeOnDone(ctx, &mu, &conns)
	dialPool(ctx, h.sockets, 32, func(i int) {
		if conn := h.dialAttacker(ctx, c, h.victim.Token, i, dialOptions{ReadBuffer: 512, RecvBuffer: 4096}); conn != nil {
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			if ctx.Err() != nil {
				_ = conn.CloseNow()
			}
		}
	})
	engaged()
	content := strings.Repeat("v", 4000)
	var wg sync.WaitGroup
	for k, f := range h.feeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 15/s each stays under the contract's 20 frames/s per socket:
			// the feeders are not the attack, the victim's sockets are.
			h.feedLoop(ctx, c.with("feeders' "), f.Token, 100+k, h.victim.ID, content, 15, "n"+strconv.Itoa(k))
		}()
	}
	// Five times a second one socket is dropped and another opened: each
	// new one is owed a replay of everything pending for the victim, which
	// grows all phase long.
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for i := 0; i < 5*int((attackEngageMax+2*h.phase).Seconds()); i++ {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		if len(conns) > 0 {
			_ = conns[0].CloseNow()
			conns = conns[1:]
		}
		mu.Unlock()
		if conn := h.dialAttacker(ctx, c, h.victim.Token, h.sockets+i, dialOptions{ReadBuffer: 512, RecvBuffer: 4096}); conn != nil {
			c.add("sockets reopened", 1)
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			if ctx.Err() != nil {
				_ = conn.CloseNow()
			}
		}
	}
	wg.Wait()
	<-ctx.Done()
}

// feedLoop sends rate messages/s from one socket of token to recipient
// until ctx ends (at most rate × the phase bound), reading its answers.
func (h *hostileRun) feedLoop(ctx context.Context, c *counters, token string, addr int, recipient, content string, rate int, tag string) {
	conn := h.dialAttacker(ctx, c, token, addr, dialOptions{})
	if conn == nil {
		return
	}
	defer conn.CloseNow()
	go drain(ctx, c, conn, nil)
	stop := context.AfterFunc(ctx, func() { _ = conn.CloseNow() })
	defer stop()
	t := time.NewTicker(time.Second / time.Duration(rate))
	defer t.Stop()
	limit := int64(rate) * int64((attackEngageMax+2*h.phase).Seconds()+1)
	prefix := h.e.runID + tag + "-"
	var buf []byte
	for n := int64(0); n < limit; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		buf = appendSend(buf[:0], prefix, n, recipient, content)
		if err := conn.WriteFrames(buf); err != nil {
			return
		}
		c.add("messages fed", 1)
	}
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

// rawConn opens a plain TCP connection from an attacker address.
func (h *hostileRun) rawConn(ctx context.Context, c *counters, i int) net.Conn {
	u, err := url.Parse(h.base)
	if err != nil {
		return nil
	}
	d := net.Dialer{Timeout: attackDialTimeout, LocalAddr: &net.TCPAddr{IP: attackerIP(i)}}
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

// slowloris holds h.conns connections that never finish a request: half
// send their headers one byte a second, half send full headers of a POST
// and then its body one byte a second. At most 1,000 bytes each.
func (h *hostileRun) slowloris(ctx context.Context, c *counters, engaged func()) {
	host := strings.TrimPrefix(h.base, "http://")
	var wg sync.WaitGroup
	var opened sync.WaitGroup
	opened.Add(h.conns)
	for i := range h.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := h.rawConn(ctx, c, i)
			opened.Done()
			if nc == nil {
				return
			}
			kind := "header"
			start := "POST /api/auth/login HTTP/1.1\r\nHost: " + host + "\r\nX-Slow: "
			if i%2 == 1 {
				kind = "body"
				start = "POST /api/auth/login HTTP/1.1\r\nHost: " + host +
					"\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"username\":\""
			}
			go watchClose(ctx, c, nc, kind)
			if _, err := io.WriteString(nc, start); err != nil {
				return
			}
			// Each trickle ticks from its own connect, so the writes of
			// all connections spread over the second.
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for n := 0; n < 1000; n++ {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if _, err := nc.Write([]byte{'a'}); err != nil {
					return
				}
			}
		}()
	}
	opened.Wait()
	engaged()
	wg.Wait()
}

// idleKeepAlives holds h.conns connections that each made one request
// (GET /healthz) and then stay idle, kept alive, until the phase ends.
func (h *hostileRun) idleKeepAlives(ctx context.Context, c *counters, engaged func()) {
	host := strings.TrimPrefix(h.base, "http://")
	var wg, opened sync.WaitGroup
	opened.Add(h.conns)
	for i := range h.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := h.rawConn(ctx, c, i)
			defer opened.Done()
			if nc == nil {
				return
			}
			stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
			defer stop()
			_ = nc.SetDeadline(time.Now().Add(attackDialTimeout))
			if _, err := io.WriteString(nc, "GET /healthz HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
				_ = nc.Close()
				return
			}
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
			if err != nil {
				if ctx.Err() == nil {
					c.add("request failed", 1)
				}
				_ = nc.Close()
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			c.add("answered "+strconv.Itoa(resp.StatusCode), 1)
			_ = nc.SetDeadline(time.Time{})
			wg.Add(1)
			go func() { defer wg.Done(); watchClose(ctx, c, &bufferedConn{nc, br}, "idle") }()
		}()
	}
	opened.Wait()
	engaged()
	wg.Wait()
}

// bufferedConn reads through the bufio.Reader that read the response.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.br.Read(p) }

// floodSockets is how many sockets the send flood uses at most: the
// issue's attacker used 40.
const floodSockets = 40

// sendFlood is one user sending MESSAGE_SEND at 100 frames/s on each of
// min(40, h.sockets) sockets (five times the contract's per-socket rate),
// reconnecting (at most three times a socket) when the server closes one.
func (h *hostileRun) sendFlood(ctx context.Context, c *counters, engaged func()) {
	n := min(floodSockets, h.sockets)
	sinkCounts := newCounters() // the sink's own frames are not the attack
	sink := h.dialAttacker(ctx, sinkCounts, h.sink.Token, 200, dialOptions{})
	if sink != nil {
		stop := context.AfterFunc(ctx, func() { _ = sink.CloseNow() })
		defer stop()
		go drain(ctx, sinkCounts, sink, nil)
	}
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	ready.Add(n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			done := func() {
				if first {
					first = false
					ready.Done()
				}
			}
			defer done()
			for attempt := 0; attempt < 4 && ctx.Err() == nil; attempt++ {
				conn := h.dialAttacker(ctx, c, h.flooder.Token, i, dialOptions{})
				done()
				if conn == nil {
					return
				}
				h.floodOne(ctx, c, conn, fmt.Sprintf("f%d.%d", i, attempt))
			}
		}()
	}
	ready.Wait()
	engaged()
	wg.Wait()
}

// floodOne floods one socket until the server closes it, ctx ends or it
// has sent 100 frames/s for the phase's whole time bound.
func (h *hostileRun) floodOne(ctx context.Context, c *counters, conn *wsConn, tag string) {
	defer conn.CloseNow()
	ended := make(chan struct{})
	go func() { defer close(ended); drain(ctx, c, conn, nil) }()
	stop := context.AfterFunc(ctx, func() { _ = conn.CloseNow() })
	defer stop()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	limit := int64(100 * (attackEngageMax + 2*h.phase).Seconds())
	prefix := h.e.runID + tag + "-"
	var a, b []byte
	for seq := int64(0); seq < limit; seq += 2 {
		select {
		case <-ctx.Done():
			return
		case <-ended:
			return
		case <-t.C:
		}
		a = appendSend(a[:0], prefix, seq, h.sink.ID, "flood")
		b = appendSend(b[:0], prefix, seq+1, h.sink.ID, "flood")
		if err := conn.WriteFrames(a, b); err != nil {
			return
		}
		c.add("frames sent", 2)
	}
}

// loginStorm is eight addresses, four workers each, guessing passwords of
// three accounts as fast as the server answers (at most 20,000 attempts;
// a worker answered 429 pauses 20 ms, to spare the tool, not the server).
func (h *hostileRun) loginStorm(ctx context.Context, c *counters, engaged func()) {
	engaged()
	var attempts atomic.Int64
	var wg sync.WaitGroup
	for a := range 8 {
		hc := httpClientFrom(stormIP(a), 4)
		defer hc.CloseIdleConnections()
		api := &client.API{BaseURL: h.base, HTTP: hc}
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					n := attempts.Add(1)
					if n > 20000 {
						return
					}
					target := h.stormTargets[int(n)%len(h.stormTargets)]
					_, err := api.Login(ctx, target.Name, fmt.Sprintf("guess-%d-%d", a, n))
					if ctx.Err() != nil {
						return
					}
					status := client.HTTPStatus(err)
					switch {
					case err == nil:
						c.add("guess accepted (!)", 1)
					case status != 0:
						c.add("answered "+strconv.Itoa(status), 1)
					default:
						c.add("request failed", 1)
					}
					if status == http.StatusTooManyRequests || status == 0 {
						select {
						case <-ctx.Done():
						case <-time.After(20*time.Millisecond + time.Duration(w)*time.Millisecond):
						}
					}
				}
			}()
		}
	}
	wg.Wait()
}

// repeatAcks is one user acking the same few delivered messages again and
// again over eight sockets, in bursts of 50 every 5 ms (at most 300,000
// acks in all), reconnecting (at most three times a socket) when closed.
func (h *hostileRun) repeatAcks(ctx context.Context, c *counters, engaged func()) {
	defer engaged()
	var idsMu sync.Mutex
	var ids [][]byte
	first := h.dialAttacker(ctx, c, h.acker.Token, 300, dialOptions{})
	if first == nil {
		return
	}
	got := make(chan struct{}, 64)
	firstEnded := make(chan struct{})
	go func() {
		defer close(firstEnded)
		drain(ctx, c, first, func(f []byte) {
			if kindOf(f) == kindMessage {
				idsMu.Lock()
				ids = append(ids, append([]byte(nil), stringField(f, keyMessageID)...))
				idsMu.Unlock()
				select {
				case got <- struct{}{}:
				default:
				}
			}
		})
	}()
	stopFirst := context.AfterFunc(ctx, func() { _ = first.CloseNow() })
	defer stopFirst()
	// The acker's messages: five from a feeder, each acked once for real
	// by the first burst below.
	fctx, fcancel := context.WithCancel(ctx)
	go h.feedLoop(fctx, newCounters(), h.ackFeeder.Token, 301, h.acker.ID, "ack me", 10, "a")
	deadline := time.After(attackEngageMax - attackDialTimeout) // deliveries may be slow under load
	for have := 0; have < 5; {
		select {
		case <-got:
		case <-deadline:
			have = 5
			continue
		case <-ctx.Done():
			fcancel()
			return
		}
		idsMu.Lock()
		have = len(ids)
		idsMu.Unlock()
	}
	fcancel()
	idsMu.Lock()
	acks := append([][]byte(nil), ids...)
	idsMu.Unlock()
	if len(acks) == 0 {
		c.add("no message to ack", 1)
		return
	}
	engaged()
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := range min(8, h.sockets) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 4 && ctx.Err() == nil; attempt++ {
				conn := first
				if i != 0 || attempt > 0 {
					if conn = h.dialAttacker(ctx, c, h.acker.Token, 302+i, dialOptions{}); conn == nil {
						return
					}
				}
				if !h.ackOne(ctx, c, conn, acks, &total, i == 0 && attempt == 0, firstEnded) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// ackOne sends repeat acks on conn until it is closed (true: reconnect) or
// the bounds are reached (false).
func (h *hostileRun) ackOne(ctx context.Context, c *counters, conn *wsConn, acks [][]byte, total *atomic.Int64, isFirst bool, firstEnded <-chan struct{}) bool {
	ended := firstEnded
	if !isFirst {
		defer conn.CloseNow()
		e := make(chan struct{})
		go func() { defer close(e); drain(ctx, c, conn, nil) }()
		stop := context.AfterFunc(ctx, func() { _ = conn.CloseNow() })
		defer stop()
		ended = e
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	frames := make([][]byte, 50)
	for k := range frames {
		frames[k] = appendDeliveryAck(nil, acks[k%len(acks)])
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-ended:
			return true
		case <-t.C:
		}
		if total.Add(int64(len(frames))) > 300000 {
			return false
		}
		if err := conn.WriteFrames(frames...); err != nil {
			_ = conn.CloseNow()
			<-ended
			return ctx.Err() == nil
		}
		c.add("acks sent", int64(len(frames)))
	}
}
