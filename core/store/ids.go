package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// newUserID returns a fresh random user id: "u" and 16 hex digits (64 bits
// from crypto/rand).
func newUserID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: failed to generate user id: %w", err)
	}
	return "u" + hex.EncodeToString(b[:]), nil
}

// formatMessageID renders a message's integer id as its public string form.
func formatMessageID(id int64) string { return strconv.FormatInt(id, 10) }

// parseMessageID parses the public form of a message id: a positive decimal
// integer without sign or leading zeros, so that each message has exactly
// one spelling. ok is false for anything else; such an id names no message.
func parseMessageID(s string) (id int64, ok bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}

// afterBound turns Undelivered's afterID into an exclusive lower id bound.
// "" means from the oldest; a malformed id matches nothing (ok=false).
func afterBound(afterID string) (id int64, ok bool) {
	if afterID == "" {
		return 0, true
	}
	return parseMessageID(afterID)
}

// beforeBound turns Page.BeforeID into an exclusive upper id bound. "" means
// from the newest; a malformed id matches nothing (ok=false).
func beforeBound(beforeID string) (id int64, ok bool) {
	if beforeID == "" {
		return maxMessageID, true
	}
	return parseMessageID(beforeID)
}

// maxMessageID is larger than any id a store assigns.
const maxMessageID = int64(^uint64(0) >> 1)

// convKey names the conversation between two users independently of
// direction: the two ids sorted and joined by a space (user ids never hold
// spaces).
func convKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + " " + b
}

// now is the store's clock: UTC, truncated to the microsecond every backend
// can hold, without a monotonic reading, so a stored time reads back equal.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// revocationGrace is how long past its expiry a token revocation is kept
// before RevokeToken may purge it: instances' clocks may be a little
// apart, and one a little behind still accepts the token until its exp.
const revocationGrace = time.Minute

// checkLimit rejects the non-positive limits Page and Undelivered forbid.
func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("store: limit must be positive, got %d", limit)
	}
	return nil
}
