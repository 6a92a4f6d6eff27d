package node

import (
	"context"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/bus"
)

// Presence timing: each instance writes its online users to its presence
// record at most every presenceInterval when they changed, and at least
// every presenceRefresh, well within bus.PresenceTTL, after which a
// record not refreshed (its instance died without a goodbye) is gone.
const (
	presenceInterval = time.Second
	presenceRefresh  = 3 * time.Second
)

// announcePresence keeps this instance's presence record until ctx ends.
func (n *Node) announcePresence(ctx context.Context) {
	t := time.NewTicker(presenceInterval)
	defer t.Stop()
	var last []string
	var lastSent time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Only a connected bus can take the record (SetPresence refuses
		// otherwise, and the disabled bus has no one to tell): skip listing
		// and sorting every user each second for nothing.
		if n.bus.State() != bus.StateConnected {
			continue
		}
		users := n.hub.UserIDs()
		sort.Strings(users)
		if lastSent != (time.Time{}) && slices.Equal(users, last) && time.Since(lastSent) < presenceRefresh {
			continue
		}
		if err := n.bus.SetPresence(ctx, users); err == nil {
			last, lastSent = users, time.Now()
		}
	}
}

// remotePresence asks the bus which users the other instances hold, by
// user: instance ids. Without an answer (Redis is away) it is empty, and
// the admin list shows this instance's users only.
func (n *Node) remotePresence(ctx context.Context) map[string][]string {
	byInstance, err := n.bus.Presence(ctx)
	if err != nil {
		if n.presence.Failed() { // once per outage: see logging.Outage
			n.adminLog.Warn("presence_unavailable", zap.Error(err))
		}
		return nil
	}
	if unanswered := n.presence.Succeeded(); unanswered > 0 {
		n.adminLog.Info("presence_restored", zap.Int("unanswered", unanswered))
	}
	byUser := make(map[string][]string)
	for inst, users := range byInstance {
		if inst == n.id {
			continue // this instance answers from its hub: fresher
		}
		for _, u := range users {
			byUser[u] = append(byUser[u], inst)
		}
	}
	return byUser
}
