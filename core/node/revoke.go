package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
	"github.com/dmchat/dmchat/core/logging"
)

// Logout revocation: a revoked token is refused at every connect and HTTP
// call (the store decides), and the sockets already opened with it are
// closed with 4001. The instance that revokes closes its own at once;
// every instance also polls the store for revocations, so sockets on the
// others close within about one poll interval, with or without Redis.
const (
	// defaultRevocationPoll is Options.RevocationPoll's default.
	defaultRevocationPoll = time.Second
	// revocationOverlap is how far before the previous poll each poll
	// reaches back: a revocation stamped by a clock a little behind this
	// one, or committed just after a poll read, is still seen by the next.
	// Seeing one twice is harmless: its sockets are gone from the table.
	revocationOverlap = 30 * time.Second
)

// tokenSessions maps token ids to the local sessions opened with them. mu
// guards byToken and each added session's tokenID; nothing calls out while
// holding it.
//
// A token nearly always has one socket here, so its sessions are a slice
// (one word) rather than a set (a map per token): an idle socket pays for
// its table entry and an 8-byte array, not a map header and a map group.
// The slice is bounded by the user's sockets (WS_MAX_SOCKETS_PER_USER).
type tokenSessions struct {
	mu      sync.Mutex
	byToken map[string][]*Session
}

func (t *tokenSessions) add(tokenID string, s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.tokenID = tokenID
	if t.byToken == nil {
		t.byToken = make(map[string][]*Session)
	}
	t.byToken[tokenID] = append(t.byToken[tokenID], s)
}

// take removes and returns the sessions of tokenID.
func (t *tokenSessions) take(tokenID string) []*Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := t.byToken[tokenID]
	delete(t.byToken, tokenID)
	return set
}

// remove forgets s (its session closed), so the table holds only open
// sockets without being scanned: a scan every poll would cost time in
// proportion to the sockets, idle ones included.
func (t *tokenSessions) remove(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tokenID := s.tokenID
	if tokenID == "" {
		return // never added
	}
	set := t.byToken[tokenID]
	i := slices.Index(set, s)
	if i < 0 {
		return
	}
	if len(set) == 1 {
		delete(t.byToken, tokenID)
		return
	}
	t.byToken[tokenID] = slices.Delete(set, i, i+1)
}

// AttachToken is Attach for a socket opened with the token whose id (jti)
// is tokenID: when that token is revoked, on this instance or another,
// the socket is closed with 4001. An empty tokenID is plain Attach.
func (n *Node) AttachToken(ctx context.Context, user chat.User, tokenID string, expires time.Time, conn hub.Transport) (*Session, error) {
	s, err := n.Attach(ctx, user, expires, conn)
	if err != nil || tokenID == "" {
		return s, err
	}
	n.tokens.add(tokenID, s)
	// A close that ran before the add found nothing to remove.
	if s.closed() {
		n.tokens.remove(s)
		return s, nil
	}
	// The caller checked the token before the upgrade; a revocation made
	// since (during the replay, say) may have found no session to close.
	revoked, err := n.store.TokenRevoked(ctx, tokenID)
	if err != nil {
		if ctx.Err() == nil && n.tokenReads.Failed() { // once per outage: see logging.Outage
			n.log.Warn("revocation_check_failed", zap.String("userId", user.ID), zap.Error(err))
		}
		return s, nil // the poller looks again
	}
	if failed := n.tokenReads.Succeeded(); failed > 0 {
		n.log.Info("revocation_check_recovered", zap.Int("failedChecks", failed))
	}
	if revoked {
		n.closeRevoked(tokenID, "connect")
	}
	return s, nil
}

// RevokeToken stores the revocation of tokenID (which expires at expires)
// and closes this instance's sockets opened with it with 4001; the other
// instances close theirs at their next poll.
func (n *Node) RevokeToken(ctx context.Context, tokenID string, expires time.Time) error {
	if err := n.store.RevokeToken(ctx, tokenID, expires); err != nil {
		return fmt.Errorf("node: failed to revoke token: %w", err)
	}
	n.closeRevoked(tokenID, "local")
	return nil
}

// closeRevoked closes the local sessions of tokenID with 4001; via says
// how the revocation was learnt, for the log.
func (n *Node) closeRevoked(tokenID, via string) int {
	sessions := n.tokens.take(tokenID)
	for _, s := range sessions {
		s.Close(chat.CloseTokenExpired, "token revoked")
	}
	if len(sessions) > 0 {
		n.log.Info("revoked_token_sockets_closed", zap.String("userId", sessions[0].c.UserID()),
			zap.Int("sockets", len(sessions)), zap.String("via", via))
	}
	return len(sessions)
}

// pollRevocations reads the revocations made since its last poll (less
// revocationOverlap) every interval and closes the local sockets of those
// tokens, until ctx ends. A failing store is logged once per outage.
func (n *Node) pollRevocations(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	since := time.Now().Add(-revocationOverlap)
	var polls logging.Outage
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		ids, err := n.store.RevokedSince(ctx, since)
		if err != nil {
			if ctx.Err() == nil && polls.Failed() { // a poll cut by shutdown is no outage
				n.log.Warn("revocation_poll_failed", zap.Error(err))
			}
			continue
		}
		if failed := polls.Succeeded(); failed > 0 {
			n.log.Info("revocation_poll_recovered", zap.Int("failedPolls", failed))
		}
		since = start.Add(-revocationOverlap)
		for _, id := range ids {
			n.closeRevoked(id, "poll")
		}
	}
}
