package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// nonReadingFeeders is how many users feed the non-reading user, each at
// 15 messages/s (within the contract's per-socket and per-user limits):
// 240 messages/s of 4 KiB to every one of its sockets, about the rate at
// which the attacker grew the server by 230 MB/s.
const nonReadingFeeders = 16

// nonReading is one user opening h.Sockets sockets that never read (and
// replacing one of them five times a second) while other users send it
// 4 KiB messages within the rate limit: what the server queues for them is
// bounded only by its defences.
func (h *hostileRun) nonReading(ctx context.Context, c *counters, engaged func()) {
	var mu sync.Mutex
	var conns []*wsConn
	go closeOnDone(ctx, &mu, &conns)
	dialPool(ctx, h.Sockets, 32, func(i int) {
		if conn := h.dialAttacker(ctx, c, h.Victim.Token, addrNonReading, dialOptions{ReadBuffer: 512, RecvBuffer: 4096}); conn != nil {
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
	for k, f := range h.Feeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 15/s each stays under the contract's 20 frames/s per socket:
			// the feeders are not the attack, the victim's sockets are.
			h.feedLoop(ctx, c.with("feeders' "), f.Token, addrFeeders+k, h.Victim.ID, content, 15, "n"+strconv.Itoa(k))
		}()
	}
	// Five times a second one socket is dropped and another opened: each
	// new one is owed a replay of everything pending for the victim, which
	// grows all phase long.
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for i := 0; i < 5*int((attackEngageMax+2*h.PhaseLen).Seconds()); i++ {
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
		if conn := h.dialAttacker(ctx, c, h.Victim.Token, addrNonReading, dialOptions{ReadBuffer: 512, RecvBuffer: 4096}); conn != nil {
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
	limit := int64(rate) * int64((attackEngageMax+2*h.PhaseLen).Seconds()+1)
	prefix := h.RunID + tag + "-"
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

// floodSockets is how many sockets the send flood uses at most: the
// issue's attacker used 40.
const floodSockets = 40

// sendFlood is one user sending MESSAGE_SEND at 100 frames/s on each of
// min(40, h.Sockets) sockets (five times the contract's per-socket rate),
// reconnecting (at most three times a socket) when the server closes one.
func (h *hostileRun) sendFlood(ctx context.Context, c *counters, engaged func()) {
	n := min(floodSockets, h.Sockets)
	sinkCounts := newCounters() // the sink's own frames are not the attack
	sink := h.dialAttacker(ctx, sinkCounts, h.Sink.Token, addrSink, dialOptions{})
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
				conn := h.dialAttacker(ctx, c, h.Flooder.Token, addrFlood, dialOptions{})
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
	limit := int64(100 * (attackEngageMax + 2*h.PhaseLen).Seconds())
	prefix := h.RunID + tag + "-"
	var a, b []byte
	for seq := int64(0); seq < limit; seq += 2 {
		select {
		case <-ctx.Done():
			return
		case <-ended:
			return
		case <-t.C:
		}
		a = appendSend(a[:0], prefix, seq, h.Sink.ID, "flood")
		b = appendSend(b[:0], prefix, seq+1, h.Sink.ID, "flood")
		if err := conn.WriteFrames(a, b); err != nil {
			return
		}
		c.add("frames sent", 2)
	}
}

// repeatAcks is one user acking the same few delivered messages again and
// again over eight sockets, in bursts of 50 every 5 ms (at most 300,000
// acks in all), reconnecting (at most three times a socket) when closed.
func (h *hostileRun) repeatAcks(ctx context.Context, c *counters, engaged func()) {
	defer engaged()
	var idsMu sync.Mutex
	var ids [][]byte
	first := h.dialAttacker(ctx, c, h.Acker.Token, addrAcks, dialOptions{})
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
	go h.feedLoop(fctx, newCounters(), h.AckFeeder.Token, addrFeeders+nonReadingFeeders, h.Acker.ID, "ack me", 10, "a")
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
	for i := range min(8, h.Sockets) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 4 && ctx.Err() == nil; attempt++ {
				conn := first
				if i != 0 || attempt > 0 {
					if conn = h.dialAttacker(ctx, c, h.Acker.Token, addrAcks, dialOptions{}); conn == nil {
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
