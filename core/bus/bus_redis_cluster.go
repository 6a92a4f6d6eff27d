package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/zap"
)

// ClusterScheme starts a Redis Cluster REDIS_URL:
// redis+cluster://[user:password@]host1:port1,host2:port2[?go-redis options].
// The hosts are seeds: the client learns the rest of the cluster from them.
const ClusterScheme = "redis+cluster://"

// IsClusterURL reports whether u is a Redis Cluster URL.
func IsClusterURL(u string) bool { return strings.HasPrefix(u, ClusterScheme) }

// ParseClusterURL checks a redis+cluster:// URL and returns its options.
// Errors never quote the URL (it may hold a password).
func ParseClusterURL(u string) (*redis.ClusterOptions, error) {
	rest := strings.TrimPrefix(u, ClusterScheme)
	var query string
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if path := rest[i:]; path != "/" && path != "/0" {
			return nil, errors.New("a cluster has only database 0")
		}
		rest = rest[:i]
	}
	var userinfo string
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		userinfo, rest = rest[:i+1], rest[i+1:]
	}
	var hosts []string
	for _, h := range strings.Split(rest, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			return nil, fmt.Errorf("cluster host %q has no port", h)
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, errors.New("a cluster url names no host")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("invalid query: %w", urlCause(err))
	}
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	co, err := redis.ParseClusterURL("redis://" + userinfo + hosts[0] + "?" + q.Encode())
	if err != nil {
		return nil, urlCause(err)
	}
	return co, nil
}

func newRedisCluster(opts RedisOptions) (*Redis, error) {
	co, err := ParseClusterURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid redis cluster url: %w", err)
	}
	opts = withDefaults(opts)
	if co.Protocol == 0 {
		co.Protocol = 2
	}
	co.DisableIdentity = true
	co.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if co.DialTimeout == 0 {
		co.DialTimeout = defaultDialTimeout
	}
	if co.ReadTimeout == 0 {
		co.ReadTimeout = time.Second
	}
	if co.WriteTimeout == 0 {
		co.WriteTimeout = time.Second
	}
	if co.MaxRetries == 0 {
		co.MaxRetries = -1
	}
	co.ContextTimeoutEnabled = true
	cc := redis.NewClusterClient(co)
	b := newRedisBus(opts, cc)
	b.cluster = cc
	b.dialTO = co.DialTimeout
	return b, nil
}

// applyClusterChanges is the subscriber's round on a cluster: each dirty
// user's channel is (un)subscribed on the lane of the shard that owns its
// slot, a lane being made for a shard when first needed.
func (b *Redis) applyClusterChanges() {
	b.mu.Lock()
	if b.sess == nil || b.closed {
		b.mu.Unlock()
		return // kept dirty for when the bus is back
	}
	ids := make([]string, 0, len(b.dirty))
	for id := range b.dirty {
		ids = append(ids, id)
	}
	clear(b.dirty)
	var resolve []string
	for _, id := range ids {
		if b.interest[id] > 0 && b.assign[id] == nil {
			resolve = append(resolve, id)
		}
	}
	b.mu.Unlock()

	// Which shard owns each new user's slot: from the client's cached
	// slot map, asked outside the lock (it may load the map).
	owners := make(map[string]*redis.Client, len(resolve))
	var failed bool
	for _, id := range resolve {
		ctx, cancel := context.WithTimeout(b.ctx, b.opts.PublishTimeout)
		node, err := b.cluster.MasterForKey(ctx, b.userChannel(id))
		cancel()
		if err != nil {
			failed = true
			continue
		}
		owners[id] = node
	}

	type batch struct{ subs, unsubs []string }
	batches := make(map[*lane]*batch)
	var newLanes []*lane
	b.mu.Lock()
	for _, id := range ids {
		l := b.assign[id]
		if l == nil {
			if b.interest[id] == 0 {
				continue
			}
			node, ok := owners[id]
			if !ok {
				b.dirty[id] = struct{}{} // retried below
				continue
			}
			addr := node.Options().Addr
			if l = b.lanes[addr]; l == nil {
				l = b.newLaneLocked(node)
				newLanes = append(newLanes, l)
			}
			b.assign[id] = l
		}
		bt := batches[l]
		if bt == nil {
			bt = &batch{}
			batches[l] = bt
		}
		switch b.markChangeLocked(l, id) {
		case changeSubscribe:
			bt.subs = append(bt.subs, b.userChannel(id))
		case changeUnsubscribe:
			bt.unsubs = append(bt.unsubs, b.userChannel(id))
		}
	}
	if b.closed {
		b.mu.Unlock()
		return // Close is waiting for wg: start nothing more
	}
	for _, l := range newLanes {
		b.wg.Add(2)
		go b.serveLane(l)
		go b.pingLane(l)
	}
	b.mu.Unlock()

	for l, bt := range batches {
		if err := b.sendChanges(l, l.ctx, bt.subs, bt.unsubs); err != nil {
			b.laneLost(l, err)
		}
	}
	if failed {
		b.retrySubscriberLater(minBackoff)
	}
}

// newLaneLocked makes the lane of node's shard. b.mu must be held (and
// the bus not closed, so its goroutines may be added to wg).
func (b *Redis) newLaneLocked(node *redis.Client) *lane {
	ctx, cancel := context.WithCancel(b.ctx)
	l := &lane{
		ps: node.SSubscribe(ctx), subs: make(map[string]*subState),
		sharded: true, addr: node.Options().Addr, ctx: ctx, cancel: cancel,
	}
	context.AfterFunc(ctx, func() { _ = l.ps.Close() })
	b.lanes[l.addr] = l
	return l
}

// serveLane reads lane l until it fails or the bus closes: its users'
// events, and the confirmations of their subscriptions.
func (b *Redis) serveLane(l *lane) {
	defer b.wg.Done()
	recvTimeout := b.opts.PingInterval + b.opts.PingTimeout
	for {
		msg, err := l.ps.ReceiveTimeout(l.ctx, recvTimeout)
		if err != nil {
			if l.ctx.Err() == nil {
				b.laneLost(l, fmt.Errorf("subscription: %w", err))
			}
			return
		}
		switch m := msg.(type) {
		case *redis.Message:
			b.dispatch(m.Payload, b.h)
		case *redis.Subscription:
			b.laneUp(l)
			if id, again := b.confirmed(l, m); again {
				b.handle(func() { b.h.UsersResubscribed([]string{id}) })
			}
		}
	}
}

// pingLane keeps a lane's idle connection checked.
func (b *Redis) pingLane(l *lane) {
	defer b.wg.Done()
	t := time.NewTicker(b.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(l.ctx, b.opts.PingTimeout)
		err := l.ps.Ping(ctx)
		cancel()
		if err != nil && l.ctx.Err() == nil {
			b.laneLost(l, fmt.Errorf("ping: %w", err))
			return
		}
	}
}

// laneUp notes a lane's first confirmation: its shard is serving.
func (b *Redis) laneUp(l *lane) {
	b.mu.Lock()
	first := !l.up && b.laneLiveLocked(l)
	l.up = true
	_, wasDown := b.shardRetry[l.addr]
	delete(b.shardRetry, l.addr)
	b.mu.Unlock()
	if !first {
		return
	}
	if wasDown {
		b.log.Info("bus_shard_restored", zap.String("shard", l.addr))
	}
	if f := b.opts.Hooks.ShardState; f != nil {
		f(l.addr, StateConnected)
	}
}

// laneLost ends lane l: its users may miss events until their channels
// are held again, on a new lane of the same (or, after a failover, of
// another) shard, when UsersResubscribed tells the node to catch them up
// from the store. Only that shard's users are affected.
func (b *Redis) laneLost(l *lane, cause error) {
	b.mu.Lock()
	if b.lanes[l.addr] != l {
		b.mu.Unlock()
		return
	}
	delete(b.lanes, l.addr)
	users := 0
	for id, st := range l.subs {
		if b.assign[id] == l {
			delete(b.assign, id)
		}
		if st.counted {
			b.held--
		}
		if b.interest[id] > 0 {
			b.gap[id] = struct{}{}
			b.dirty[id] = struct{}{}
			users++
		}
		b.releaseWaitersLocked(id, false)
	}
	b.hookSubscriptions(b.held)
	delay, again := b.shardRetry[l.addr]
	if !again {
		delay = minBackoff
	}
	b.shardRetry[l.addr] = min(2*delay, maxBackoff)
	b.mu.Unlock()
	l.cancel()

	if !again {
		b.log.Warn("bus_shard_lost", zap.String("shard", l.addr), zap.Int("users", users), zap.NamedError("cause", cause))
		if f := b.opts.Hooks.ShardState; f != nil {
			f(l.addr, StateLost)
		}
	}
	b.retrySubscriberLater(delay)
}

// retrySubscriberLater kicks the subscriber after about d (jittered).
func (b *Redis) retrySubscriberLater(d time.Duration) {
	d = d - d/5 + rand.N(2*d/5+1)
	time.AfterFunc(d, b.kickSubscriber) // harmless after Close

}
