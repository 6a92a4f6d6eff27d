package sandbox

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/internal/guard"
	"github.com/dmchat/dmchat/core/sandbox/history"
)

// RedisUp reports whether miniredis is running.
func (c *Cluster) RedisUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.redisUp
}

// RedisAddr is miniredis's host:port, the same across stops and starts.
func (c *Cluster) RedisAddr() string { return c.redisAddr }

// StopRedis stops miniredis, dropping every connection to it; the
// instances' buses notice, log bus_lost and reconnect in the background.
// It records a Fault "redis_stop". A no-op when Redis is already down.
func (c *Cluster) StopRedis() {
	c.mu.Lock()
	up := c.redisUp
	c.redisUp = false
	c.mu.Unlock()
	if !up {
		return
	}
	c.redis.Close()
	c.hist.Record(history.Event{Kind: history.Fault, Detail: "redis_stop"})
	c.notify()
}

// StartRedis starts miniredis again on the same address, so the instances'
// bus clients recover (bus_restored) without being told. It records a
// Fault "redis_start". A no-op when Redis is up.
func (c *Cluster) StartRedis() error {
	if c.bg.Closed() {
		return ErrClosed
	}
	c.mu.Lock()
	up := c.redisUp
	c.mu.Unlock()
	if up {
		return nil
	}
	if err := c.redis.StartAddr(c.redisAddr); err != nil {
		return fmt.Errorf("sandbox: failed to start redis on %s: %w", c.redisAddr, err)
	}
	c.mu.Lock()
	c.redisUp = true
	c.mu.Unlock()
	c.hist.Record(history.Event{Kind: history.Fault, Detail: "redis_start"})
	c.notify()
	return nil
}

// StopInstance shuts the named instance down: it stops listening and closes
// its sockets with 1001 (simulated users see the close). It records a
// Fault "instance_stop NAME".
func (c *Cluster) StopInstance(ctx context.Context, name string) error {
	inst := c.instances[name]
	if inst == nil {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, name)
	}
	c.hist.Record(history.Event{Kind: history.Fault, Instance: name, Detail: "instance_stop " + name})
	return inst.stop(ctx)
}

// StartInstance starts a stopped instance again on its old address, so
// clients reconnect to the same URL. It records a Fault
// "instance_start NAME".
func (c *Cluster) StartInstance(ctx context.Context, name string) error {
	if c.bg.Closed() {
		return ErrClosed
	}
	inst := c.instances[name]
	if inst == nil {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, name)
	}
	if err := inst.start(ctx); err != nil {
		return err
	}
	c.hist.Record(history.Event{Kind: history.Fault, Instance: name, Detail: "instance_start " + name})
	return nil
}

// BusFault degrades the bus between instances. The zero value is a healthy
// bus.
type BusFault struct {
	// Latency delays every published event by this long before it reaches
	// Redis (Publish itself returns at once, so senders are not slowed).
	Latency time.Duration
	// DropRate is the probability, 0 to 1, that a published event is
	// silently lost (Publish reports success, as a lost packet would).
	DropRate float64
}

// String describes the fault, e.g. "bus latency 50ms, drop 10%"; "" for
// a healthy bus.
func (f BusFault) String() string {
	s := ""
	if f.Latency > 0 {
		s = "bus latency " + f.Latency.String()
	}
	if f.DropRate > 0 {
		if s != "" {
			s += ", drop "
		} else {
			s = "bus drop "
		}
		s += fmt.Sprintf("%g%%", f.DropRate*100)
	}
	return s
}

// SetBusFault applies f to every instance's bus from now on (events already
// delayed keep their delay). It records a Fault "bus ..." (or "bus_ok").
func (c *Cluster) SetBusFault(f BusFault) {
	f.DropRate = min(max(f.DropRate, 0), 1)
	f.Latency = max(f.Latency, 0)
	c.mu.Lock()
	c.busFault = f
	c.mu.Unlock()
	d := f.String()
	if d == "" {
		d = "bus_ok"
	}
	c.hist.Record(history.Event{Kind: history.Fault, Detail: d})
	c.notify()
}

// BusFault returns the bus fault in force.
func (c *Cluster) BusFault() BusFault {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busFault
}

// Faults lists, in words, every fault on now: "redis down", "B stopped",
// "bus latency 50ms", "user2 drops next 2 acks", ... Empty when all is well.
func (c *Cluster) Faults() []string {
	var out []string
	if !c.RedisUp() {
		out = append(out, "redis down")
	}
	for _, n := range c.names {
		if !c.instances[n].Running() {
			out = append(out, n+" stopped")
		}
	}
	if s := c.BusFault().String(); s != "" {
		out = append(out, s)
	}
	for _, u := range c.Users() {
		out = append(out, u.faults()...)
	}
	return out
}

// faultBus wraps an instance's bus and applies the cluster's BusFault to
// Publish. It sits outside the server: the server only sees a bus.Bus.
type faultBus struct {
	bus.Bus
	c        *Cluster
	instance string // whose publishes these are, for the drop's log line

	// delayed runs the delayed publishes, which end early when stop is
	// closed; Close closes both.
	delayed guard.Group
	stop    chan struct{}
}

var _ bus.Bus = (*faultBus)(nil)

func newFaultBus(b bus.Bus, c *Cluster, instance string) *faultBus {
	return &faultBus{Bus: b, c: c, instance: instance, stop: make(chan struct{})}
}

// Publish drops ev with the fault's probability, delays it by the fault's
// latency in the background, or passes it straight through.
func (f *faultBus) Publish(ctx context.Context, ev bus.Event) error {
	fault := f.c.BusFault()
	if fault.DropRate > 0 && f.c.float() < fault.DropRate {
		f.c.log.Info("bus_fault_dropped", zap.String("instance", f.instance), zap.String("kind", string(ev.Kind)), zap.String("messageId", ev.MessageID))
		return nil
	}
	if fault.Latency <= 0 {
		return f.Bus.Publish(ctx, ev)
	}
	started := f.delayed.Go(func() {
		t := time.NewTimer(fault.Latency)
		defer t.Stop()
		select {
		case <-t.C:
			pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = f.Bus.Publish(pctx, ev)
			cancel()
		case <-f.stop:
		}
	})
	if !started {
		return bus.ErrUnavailable
	}
	return nil
}

// Close drops delayed publishes, waits for their goroutines, then closes
// the wrapped bus.
func (f *faultBus) Close() error {
	if f.delayed.Close() {
		close(f.stop)
	}
	_ = f.delayed.Wait(context.Background()) // each ends at once on stop
	return f.Bus.Close()
}
