package node

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/bus"
)

// Presence timing: each instance announces its online users at most every
// presenceInterval when they changed, and at least every presenceRefresh;
// an instance not heard from for presenceExpiry is forgotten.
const (
	presenceInterval = time.Second
	presenceRefresh  = 10 * time.Second
	presenceExpiry   = 30 * time.Second
)

// presenceTable is what the other instances last said about who is
// connected to them. mu guards remote.
type presenceTable struct {
	mu     sync.Mutex
	remote map[string]remotePresence // instance id -> users
}

type remotePresence struct {
	users map[string]struct{}
	seen  time.Time
}

func (p *presenceTable) set(instance string, users []string, now time.Time) {
	set := make(map[string]struct{}, len(users))
	for _, u := range users {
		set[u] = struct{}{}
	}
	p.mu.Lock()
	if p.remote == nil {
		p.remote = make(map[string]remotePresence)
	}
	p.remote[instance] = remotePresence{users: set, seen: now}
	p.mu.Unlock()
}

func (p *presenceTable) instancesOf(userID string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	now := time.Now()
	for inst, rp := range p.remote {
		if now.Sub(rp.seen) > presenceExpiry {
			delete(p.remote, inst)
			continue
		}
		if _, ok := rp.users[userID]; ok {
			out = append(out, inst)
		}
	}
	return out
}

// announcePresence publishes this instance's online users until ctx ends.
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
		users := n.hub.UserIDs()
		sort.Strings(users)
		if equalStrings(users, last) && time.Since(lastSent) < presenceRefresh {
			continue
		}
		if n.bus.State() != bus.StateConnected {
			continue
		}
		if err := n.bus.Publish(ctx, bus.Event{Kind: bus.KindPresence, UserIDs: users}); err == nil {
			last, lastSent = users, time.Now()
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
