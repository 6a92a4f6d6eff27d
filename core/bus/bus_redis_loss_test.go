package bus

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// proxy forwards TCP to an upstream until frozen: from then on every
// connection, current or new, silently swallows what it gets, as with a
// network partition, until thawed (new connections work again).
type proxy struct {
	l        net.Listener
	upstream string
	frozen   atomic.Bool
	wg       sync.WaitGroup

	mu    sync.Mutex // guards conns
	conns []*proxyConn
}

type proxyConn struct {
	a, b net.Conn
	dead atomic.Bool
}

func newProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, upstream: upstream}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		pc := &proxyConn{a: c, b: up}
		pc.dead.Store(p.frozen.Load())
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Go(func() { pc.pipe(pc.a, pc.b) })
		p.wg.Go(func() { pc.pipe(pc.b, pc.a) })
	}
}

// pipe copies src to dst, dropping everything once the connection is dead.
func (pc *proxyConn) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pc.dead.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = src.Close()
	_ = dst.Close()
}

func (p *proxy) freeze() {
	p.frozen.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.dead.Store(true)
	}
}

func (p *proxy) thaw() { p.frozen.Store(false) }

func (p *proxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.a.Close()
		_ = c.b.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestRedisHungConnection: Redis stops answering without closing the
// connection. Only the ping notices; the bus must still mark itself lost
// once and recover when traffic flows again.
func TestRedisHungConnection(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	p := newProxy(t, m.Addr())
	fast := func(o *RedisOptions) {
		o.PingInterval = 100 * time.Millisecond
		o.PingTimeout = 100 * time.Millisecond
		o.PublishTimeout = 300 * time.Millisecond
	}
	a := newTestBus(t, p.addr(), "A", fast)
	a.start(t)

	p.freeze()
	frozeAt := time.Now()
	eventually(t, "lost after freeze", func() bool { return a.State() == StateLost })
	if d := time.Since(frozeAt); d > 2*time.Second {
		t.Errorf("loss noticed after %v", d)
	}
	began := time.Now()
	if err := a.Publish(context.Background(), Event{Kind: KindMessage}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish while lost = %v", err)
	}
	if d := time.Since(began); d > 50*time.Millisecond {
		t.Errorf("Publish while lost took %v", d)
	}

	p.thaw()
	a.rec.wait(t, "BusRestored", func(r *recorder) bool { return r.restored == 1 })
	if n := len(a.entries("bus_lost")); n != 1 {
		t.Errorf("%d bus_lost entries, want 1", n)
	}
	if err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "after"}); err != nil {
		t.Fatalf("Publish after thaw: %v", err)
	}
	a.rec.waitEvent(t, "message after thaw", isMessage("after"))
}

// startedBehindProxy starts a bus that reaches miniredis through a proxy
// the test can freeze, with pings far apart, so that only a publish
// notices that the connection died.
func startedBehindProxy(t *testing.T) (*testBus, *proxy) {
	t.Helper()
	m := miniredis.RunT(t)
	p := newProxy(t, m.Addr())
	a := newTestBus(t, p.addr(), "A", func(o *RedisOptions) {
		o.PingInterval = time.Minute
		o.PublishTimeout = 300 * time.Millisecond
	})
	a.start(t)
	return a, p
}

// TestRedisLossFromPublish: with pings far apart, a publish that gets no
// answer is what notices the loss.
func TestRedisLossFromPublish(t *testing.T) {
	t.Parallel()
	a, p := startedBehindProxy(t)
	p.freeze()
	began := time.Now()
	err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "lost", Content: secret})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish into a dead connection = %v, want ErrUnavailable", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Publish took %v", d)
	}
	eventually(t, "lost after failed publish", func() bool { return a.State() == StateLost })
	a.rec.wait(t, "bus_lost hook", func(r *recorder) bool { return r.failed == 1 && r.states[len(r.states)-1] == StateLost })
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("loss noticed after %v", d)
	}

	p.thaw()
	a.rec.wait(t, "BusRestored", func(r *recorder) bool { return r.restored == 1 })
	if n := len(a.entries("bus_lost")); n != 1 {
		t.Errorf("%d bus_lost entries, want 1", n)
	}
	if err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "after"}); err != nil {
		t.Fatalf("Publish after thaw: %v", err)
	}
	a.rec.waitEvent(t, "message after thaw", isMessage("after"))
	assertNoSecret(t, a.logs, secret)
}
