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
	p := startPinger(server.c, 50*time.Millisecond, 100*time.Millisecond, func() { dead <- struct{}{} })
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
	p := startPingerHooked(server.c, 20*time.Millisecond, 5*time.Second,
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
