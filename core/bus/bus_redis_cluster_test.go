package bus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmchat/dmchat/core/testsvc"
)

func TestParseClusterURL(t *testing.T) {
	t.Parallel()
	co, err := ParseClusterURL("redis+cluster://u:secret-pw@h1:7000,h2:7001, h3:7002?dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(co.Addrs) != "[h1:7000 h2:7001 h3:7002]" || co.Username != "u" || co.Password != "secret-pw" || co.DialTimeout != 2*time.Second {
		t.Errorf("got addrs %v user %q dial %v", co.Addrs, co.Username, co.DialTimeout)
	}
	for _, bad := range []string{"redis+cluster://", "redis+cluster://h1", "redis+cluster://h1:1/3", "redis+cluster://h1:1?dial_timeout=%zz"} {
		if _, err := NewRedis(RedisOptions{URL: bad}); err == nil {
			t.Errorf("NewRedis(%q) accepted", bad)
		}
	}
	_, err = NewRedis(RedisOptions{URL: "redis+cluster://u:secret-pw@h1"})
	if err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error %v quotes the password or is missing", err)
	}
}

// TestRedisClusterShardOutage: on a real 3-master cluster, B holds users
// spread over every shard and gets their events by sharded pub/sub. One
// shard is SIGKILLed: only its users' events stop (the others keep
// flowing, and the bus stays connected); when it is back, B subscribes
// them again by itself and tells UsersResubscribed exactly those users, so
// the node catches them up from the store.
func TestRedisClusterShardOutage(t *testing.T) {
	t.Parallel()
	rc := testsvc.StartCluster(t, 3)
	url := rc.URL()
	a := newTestBus(t, "", "A", func(o *RedisOptions) { o.URL = url; o.InitTimeout = 5 * time.Second })
	b := newTestBus(t, "", "B", func(o *RedisOptions) { o.URL = url; o.InitTimeout = 5 * time.Second })
	a.start(t)
	b.start(t)
	ctx := context.Background()

	users := make([]string, 12)
	shardOf := make(map[string]int)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
		shardOf[users[i]] = rc.NodeOf(b.userChannel(users[i]))
		b.Subscribe(users[i])
	}
	for _, u := range users {
		if err := b.WaitSubscribed(ctx, u); err != nil {
			t.Fatalf("WaitSubscribed(%s): %v", u, err)
		}
	}
	publishAll := func(round string, skipShard int) {
		t.Helper()
		for _, u := range users {
			if shardOf[u] == skipShard {
				continue
			}
			id := round + "-" + u
			// The control connection may have been on the killed node:
			// then the bus is lost until it reconnects to another.
			eventually(t, "publish "+id, func() bool {
				return a.Publish(ctx, Event{Kind: KindMessage, MessageID: id, RecipientID: u}) == nil
			})
			b.rec.waitEvent(t, id, isMessage(id))
		}
	}
	publishAll("before", -1)

	victim := shardOf[users[0]]
	var onVictim []string
	for _, u := range users {
		if shardOf[u] == victim {
			onVictim = append(onVictim, u)
		}
	}
	rc.Kill(victim)
	// The other shards' users are not affected.
	publishAll("during", victim)

	rc.Restart(victim)
	b.rec.wait(t, "UsersResubscribed for the victim shard's users", func(r *recorder) bool {
		for _, u := range onVictim {
			if !slices.Contains(r.resubbed, u) {
				return false
			}
		}
		return true
	})
	b.rec.mu.Lock()
	for _, u := range b.rec.resubbed {
		if shardOf[u] != victim {
			t.Errorf("UsersResubscribed named %s, whose shard never failed", u)
		}
	}
	b.rec.mu.Unlock()
	eventually(t, "A connected", func() bool { return a.State() == StateConnected })
	publishAll("after", -1)
}
