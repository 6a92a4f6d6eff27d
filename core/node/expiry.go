package node

import (
	"time"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/internal/wheel"
)

// expiryTick is how late past its token's expiry a socket may be closed,
// never early: the sessions' expiries share one timer (a wheel), which
// serves them a tick at a time, so an idle socket carries a wheel entry
// (~32 B) instead of a runtime timer and its callback (~120 B). A token's expiry
// is a whole second anyway (the JWT exp claim).
const expiryTick = 250 * time.Millisecond

// newExpiries is the node's wheel of token expiries.
func newExpiries() *wheel.Wheel[*Session] { return wheel.New(expiryTick, expireSessions) }

// expireSessions closes the sockets whose token expired; the read loop
// then sees the close and ends the session. A session closed meanwhile
// (Close missed it in the wheel) has its socket closed already, and a
// second close does nothing.
func expireSessions(due []*Session) {
	for _, s := range due {
		s.c.Close(chat.CloseTokenExpired, "token expired")
	}
}

// armExpiry puts s in the node's expiry wheel for at.
func (s *Session) armExpiry(at time.Time) {
	s.expiry = s.n.expiries.Add(s, at)
}

// disarmExpiry takes s out of the expiry wheel, so a closed session is not
// held there until its token's expiry.
func (s *Session) disarmExpiry() {
	if s.expiry != nil {
		s.n.expiries.Remove(s.expiry)
	}
}
