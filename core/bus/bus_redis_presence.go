package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Presence lives in Redis, not on the bus: each instance keeps one key,
// <Channel>:presence:<instance id>, holding the JSON list of its users,
// with PresenceTTL; and the sorted set <Channel>:instances indexes the
// instances by when they last wrote. Reading it is one ZRANGEBYSCORE and
// one GET per live instance, asked only when the admin list is; no
// instance hears another's presence otherwise.

func (b *Redis) presenceKey(instanceID string) string {
	return b.opts.Channel + ":presence:" + instanceID
}

func (b *Redis) instancesKey() string { return b.opts.Channel + ":instances" }

// SetPresence writes this instance's record; see Bus. It returns
// ErrUnavailable while the bus is not connected.
func (b *Redis) SetPresence(ctx context.Context, userIDs []string) error {
	if b.State() != StateConnected {
		return ErrUnavailable
	}
	if userIDs == nil {
		userIDs = []string{}
	}
	val, err := json.Marshal(userIDs)
	if err != nil {
		return fmt.Errorf("bus: failed to encode presence: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.PublishTimeout)
	defer cancel()
	now := time.Now()
	// Two keys in two slots (on a cluster): a plain pipeline, not MULTI.
	// The record is written before the index, so the index never names a
	// record that is not there yet for longer than a write.
	pipe := b.client.Pipeline()
	pipe.Set(ctx, b.presenceKey(b.opts.InstanceID), val, PresenceTTL)
	pipe.ZAdd(ctx, b.instancesKey(), redis.Z{Score: float64(now.UnixMilli()), Member: b.opts.InstanceID})
	// Instances gone for long are dropped from the index.
	pipe.ZRemRangeByScore(ctx, b.instancesKey(), "-inf", strconv.FormatInt(now.Add(-10*PresenceTTL).UnixMilli(), 10))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("bus: failed to write presence: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Presence reads every live record; see Bus.
func (b *Redis) Presence(ctx context.Context) (map[string][]string, error) {
	if b.State() != StateConnected {
		return nil, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.PublishTimeout)
	defer cancel()
	since := time.Now().Add(-PresenceTTL).UnixMilli()
	ids, err := b.client.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: b.instancesKey(), ByScore: true, Start: strconv.FormatInt(since, 10), Stop: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("bus: failed to read presence: %w: %w", ErrUnavailable, err)
	}
	pipe := b.client.Pipeline()
	gets := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		gets[i] = pipe.Get(ctx, b.presenceKey(id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("bus: failed to read presence: %w: %w", ErrUnavailable, err)
		}
	}
	out := make(map[string][]string, len(ids))
	for i, id := range ids {
		val, err := gets[i].Bytes()
		if err != nil {
			continue // expired: the instance stopped refreshing
		}
		var users []string
		if json.Unmarshal(val, &users) != nil {
			continue
		}
		out[id] = users
	}
	return out, nil
}

// removePresence is the goodbye: the record goes at once instead of
// lingering for PresenceTTL.
func (b *Redis) removePresence() {
	if b.State() != StateConnected {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.PublishTimeout)
	defer cancel()
	pipe := b.client.Pipeline()
	pipe.Del(ctx, b.presenceKey(b.opts.InstanceID))
	pipe.ZRem(ctx, b.instancesKey(), b.opts.InstanceID)
	_, _ = pipe.Exec(ctx) // best effort: the TTL ends it otherwise
}
