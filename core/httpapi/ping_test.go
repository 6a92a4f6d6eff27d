package httpapi

import (
	"context"
	"testing"
	"time"
)

// readServerSide runs the server end's read loop, which is what hands
// pongs to Ping, until the socket closes.
func readServerSide(t *testing.T, server wsConn) {
	t.Helper()
	go func() {
		for {
			if _, _, err := server.c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
}

// TestPingerReportsASilentPeer: a peer that does not read sends no pong;
// the pinger reports it dead one interval plus one deadline later.
func TestPingerReportsASilentPeer(t *testing.T) {
	_, _, server, _ := dialCorked(t) // the client never reads
	readServerSide(t, server)
	dead := make(chan struct{}, 1)
	start := time.Now()
	p := startPinger(newPingWheel(50*time.Millisecond), server.c, nil, 100*time.Millisecond, func() { dead <- struct{}{} })
	defer p.stop()
	select {
	case <-dead:
	case <-time.After(5 * time.Second):
		t.Fatal("a silent peer was never reported")
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("reported after %v, before interval + deadline", took)
	}
}

// TestPingerKeepsAnAnsweringPeerAndStops: a peer that reads answers each
// ping and is never reported; stop is idempotent, does not wait for a
// deadline, and nothing is reported after it.
func TestPingerKeepsAnAnsweringPeerAndStops(t *testing.T) {
	ctx, client, server, _ := dialCorked(t)
	readServerSide(t, server)
	go func() { // the client's reader answers the pings
		for {
			if _, _, err := client.Read(ctx); err != nil {
				return
			}
		}
	}()
	pongs := make(chan struct{}, 16)
	dead := make(chan struct{}, 1)
	p := startPingerHooked(newPingWheel(20*time.Millisecond), server.c, nil, 5*time.Second,
		func() { dead <- struct{}{} }, func() { pongs <- struct{}{} })
	for i := range 5 {
		select {
		case <-pongs:
		case <-dead:
			t.Fatalf("an answering peer was reported dead after %d pongs", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("pong %d did not come", i+1)
		}
	}
	start := time.Now()
	p.stop()
	p.stop() // idempotent
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("stop took %v", took)
	}
	select {
	case <-dead:
		t.Fatal("reported dead after stop")
	default:
	}
}

// TestPingWheelServesManySocketsAndForgetsStopped: sockets sharing one
// wheel are each pinged every interval; a stopped one is pinged no more
// while the others go on, and the wheel keeps no reference to its socket.
func TestPingWheelServesManySocketsAndForgetsStopped(t *testing.T) {
	w := newPingWheel(20 * time.Millisecond)
	const n = 3
	pongs := make([]chan struct{}, n)
	ps := make([]*pinger, n)
	for i := range n {
		ctx, client, server, _ := dialCorked(t)
		readServerSide(t, server)
		go func() {
			for {
				if _, _, err := client.Read(ctx); err != nil {
					return
				}
			}
		}()
		pongs[i] = make(chan struct{}, 64)
		ps[i] = startPingerHooked(w, server.c, nil, 5*time.Second,
			func() { t.Errorf("socket %d reported dead", i) }, func() { pongs[i] <- struct{}{} })
		t.Cleanup(ps[i].stop)
	}
	waitPongs := func(i, k int) {
		t.Helper()
		for range k {
			select {
			case <-pongs[i]:
			case <-time.After(5 * time.Second):
				t.Fatalf("socket %d: a pong did not come", i)
			}
		}
	}
	for i := range n {
		waitPongs(i, 3)
	}
	ps[0].stop()
	ps[0].mu.Lock()
	held := ps[0].c != nil || ps[0].onDead != nil
	ps[0].mu.Unlock()
	if held {
		t.Fatal("a stopped pinger still holds its socket or callback")
	}
	// Drain what was in flight when it stopped, then the others go on for
	// several intervals while the stopped one stays silent.
	for len(pongs[0]) > 0 {
		<-pongs[0]
	}
	waitPongs(1, 5)
	waitPongs(2, 5)
	if got := len(pongs[0]); got != 0 {
		t.Fatalf("the stopped socket was pinged %d more times", got)
	}
}
