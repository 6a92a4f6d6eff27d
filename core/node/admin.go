package node

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
)

// Admin actions carried in kick events.
const (
	ActionBan   = "ban"
	ActionUnban = "unban"
)

// Ban stores the ban, kicks the user's sockets here and tells the other
// instances to kick theirs. Unknown users give store.ErrNotFound.
func (n *Node) Ban(ctx context.Context, userID string) (chat.User, error) {
	u, err := n.store.SetBanned(ctx, userID, true)
	if err != nil {
		return u, fmt.Errorf("node: failed to ban: %w", err)
	}
	n.setBanned(userID, true)
	k := n.kickLocal(userID)
	n.adminLog.Info("user_banned", zap.String("targetUserId", userID), zap.Int("sockets", k))
	n.publish(ctx, bus.Event{Kind: bus.KindKick, Action: ActionBan, TargetUserID: userID})
	return u, nil
}

// Unban clears the ban everywhere.
func (n *Node) Unban(ctx context.Context, userID string) (chat.User, error) {
	u, err := n.store.SetBanned(ctx, userID, false)
	if err != nil {
		return u, fmt.Errorf("node: failed to unban: %w", err)
	}
	n.setBanned(userID, false)
	n.adminLog.Info("user_unbanned", zap.String("targetUserId", userID))
	n.publish(ctx, bus.Event{Kind: bus.KindKick, Action: ActionUnban, TargetUserID: userID})
	return u, nil
}

// UserStatus is one row of the admin user list.
type UserStatus struct {
	chat.User
	Online    bool
	Instances []string
}

// Users lists every user with where they are connected: this instance
// from its hub, the others from their presence records in Redis (see
// bus.Bus.Presence), read now.
func (n *Node) Users(ctx context.Context) ([]UserStatus, error) {
	users, err := n.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: failed to list users: %w", err)
	}
	remote := n.remotePresence(ctx)
	out := make([]UserStatus, len(users))
	for i, u := range users {
		inst := slices.Clone(remote[u.ID])
		if n.hub.Online(u.ID) {
			inst = append(inst, n.id)
		}
		sort.Strings(inst)
		out[i] = UserStatus{User: u, Online: len(inst) > 0, Instances: inst}
	}
	return out, nil
}
