package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Memory is a volatile Store held in maps, for development and tests. It
// has the same semantics as the SQL stores (ids, ordering, errors, timestamps
// truncated to the microsecond) but loses everything when the process ends.
// All methods are safe for concurrent use.
type Memory struct {
	// mu guards every field below. Exported methods lock; helpers whose
	// names end in Locked expect it held. Nothing calls out while holding it.
	mu     sync.Mutex
	closed bool
	users  map[string]*chat.User // by id
	byName map[string]string     // usernameKey(username) -> id
	msgs   []chat.Message        // msgs[i] has id i+1
	byKey  map[msgKey]int64      // (sender, clientMessageId) -> id
	// toUser lists the ids addressed to each recipient, ascending; conv the
	// ids of each conversation, ascending.
	toUser map[string][]int64
	conv   map[convPair][]int64
	// revoked holds the revoked token ids.
	revoked map[string]revocation
}

// revocation is one revoked token: when it was revoked and when it expires.
type revocation struct{ at, expires time.Time }

// msgKey is the idempotency key of a message.
type msgKey struct{ sender, clientMessageID string }

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		users:  make(map[string]*chat.User),
		byName: make(map[string]string),
		byKey:  make(map[msgKey]int64),
		toUser: make(map[string][]int64),
		conv:   make(map[convPair][]int64),

		revoked: make(map[string]revocation),
	}
}

// copyUser returns u with its own copy of the password hash, so callers
// cannot alter the stored one.
func copyUser(u *chat.User) chat.User {
	c := *u
	c.PasswordHash = slices.Clone(u.PasswordHash)
	return c
}

// CreateUser implements Store.
func (m *Memory) CreateUser(ctx context.Context, username string, passwordHash []byte, role chat.Role) (chat.User, error) {
	if !role.Valid() {
		return chat.User{}, fmt.Errorf("store: invalid role %q", role)
	}
	id, err := newUserID()
	if err != nil {
		return chat.User{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return chat.User{}, ErrClosed
	}
	if _, ok := m.byName[usernameKey(username)]; ok {
		return chat.User{}, ErrUsernameTaken
	}
	for m.users[id] != nil { // a 64-bit collision; draw again
		if id, err = newUserID(); err != nil {
			return chat.User{}, err
		}
	}
	u := &chat.User{ID: id, Username: username, Role: role, PasswordHash: slices.Clone(passwordHash), CreatedAt: now()}
	m.users[id] = u
	m.byName[usernameKey(username)] = id
	return copyUser(u), nil
}

// UserByID implements Store.
func (m *Memory) UserByID(ctx context.Context, id string) (chat.User, error) {
	return m.withUser(id, func(*chat.User) {})
}

// withUser runs change on the user with id under the lock, and returns a
// copy of the user after it.
func (m *Memory) withUser(id string, change func(*chat.User)) (chat.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return chat.User{}, ErrClosed
	}
	u, ok := m.users[id]
	if !ok {
		return chat.User{}, ErrNotFound
	}
	change(u)
	return copyUser(u), nil
}

// UserByName implements Store.
func (m *Memory) UserByName(ctx context.Context, username string) (chat.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return chat.User{}, ErrClosed
	}
	id, ok := m.byName[usernameKey(username)]
	if !ok {
		return chat.User{}, ErrNotFound
	}
	return copyUser(m.users[id]), nil
}

// ListUsers implements Store.
func (m *Memory) ListUsers(ctx context.Context) ([]chat.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]chat.User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, copyUser(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

// SearchUsers implements Store.
func (m *Memory) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	key := usernameKey(prefix)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var out []chat.User
	for k, id := range m.byName {
		if strings.HasPrefix(k, key) {
			out = append(out, copyUser(m.users[id]))
		}
	}
	sortByKey(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// SetBanned implements Store.
func (m *Memory) SetBanned(ctx context.Context, id string, banned bool) (chat.User, error) {
	return m.withUser(id, func(u *chat.User) { u.Banned = banned })
}

// SetRoleAndPassword implements Store.
func (m *Memory) SetRoleAndPassword(ctx context.Context, id string, role chat.Role, passwordHash []byte) (chat.User, error) {
	if !role.Valid() {
		return chat.User{}, fmt.Errorf("store: invalid role %q", role)
	}
	return m.withUser(id, func(u *chat.User) {
		u.Role = role
		u.PasswordHash = slices.Clone(passwordHash)
	})
}

// BannedUserIDs implements Store.
func (m *Memory) BannedUserIDs(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var ids []string
	for id, u := range m.users {
		if u.Banned {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// SaveMessage implements Store. Like the SQL stores it refuses a message
// whose sender or recipient is not a user, with ErrNotFound.
func (m *Memory) SaveMessage(ctx context.Context, nm NewMessage) (chat.Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return chat.Message{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return chat.Message{}, false, ErrClosed
	}
	key := msgKey{nm.SenderID, nm.ClientMessageID}
	if id, ok := m.byKey[key]; ok {
		return m.msgs[id-1], false, nil
	}
	if m.users[nm.SenderID] == nil || m.users[nm.RecipientID] == nil {
		return chat.Message{}, false, errUnknownUser
	}
	id := int64(len(m.msgs)) + 1
	msg := nm.saved(id, now())
	m.msgs = append(m.msgs, msg)
	m.byKey[key] = id
	m.toUser[nm.RecipientID] = append(m.toUser[nm.RecipientID], id)
	ck := newConvPair(nm.SenderID, nm.RecipientID)
	m.conv[ck] = append(m.conv[ck], id)
	return msg, true, nil
}

// MarkDelivered implements Store.
func (m *Memory) MarkDelivered(ctx context.Context, messageID, recipientID string) (chat.Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return chat.Message{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return chat.Message{}, false, ErrClosed
	}
	msg, ok := m.messageLocked(messageID)
	var cur chat.Message
	if ok {
		cur = *msg
	}
	if out, _, err := deliverOutcome(cur, ok, false, recipientID); err != nil || out.Delivered() {
		return out, false, err
	}
	msg.DeliveredAt = now()
	return *msg, true, nil
}

// messageLocked finds a message by its public id. m.mu must be held.
func (m *Memory) messageLocked(messageID string) (*chat.Message, bool) {
	id, ok := parseMessageID(messageID)
	if !ok || id > int64(len(m.msgs)) {
		return nil, false
	}
	return &m.msgs[id-1], true
}

// Undelivered implements Store.
func (m *Memory) Undelivered(ctx context.Context, recipientID, afterID string, limit int) ([]chat.Message, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	after, ok := afterBound(afterID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if !ok {
		return nil, nil
	}
	ids := m.toUser[recipientID]
	i, _ := slices.BinarySearch(ids, after+1)
	var out []chat.Message
	for ; i < len(ids) && len(out) < limit; i++ {
		if msg := m.msgs[ids[i]-1]; !msg.Delivered() {
			out = append(out, msg)
		}
	}
	return out, nil
}

// Conversation implements Store.
func (m *Memory) Conversation(ctx context.Context, p Page) ([]chat.Message, error) {
	if err := checkLimit(p.Limit); err != nil {
		return nil, err
	}
	before, ok := beforeBound(p.BeforeID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if !ok {
		return nil, nil
	}
	ids := m.conv[newConvPair(p.UserA, p.UserB)]
	i, _ := slices.BinarySearch(ids, before) // ids[i-1] < before
	var out []chat.Message
	for i--; i >= 0 && len(out) < p.Limit; i-- {
		out = append(out, m.msgs[ids[i]-1])
	}
	return out, nil
}

// MessageByID implements Store.
func (m *Memory) MessageByID(ctx context.Context, id string) (chat.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return chat.Message{}, ErrClosed
	}
	msg, ok := m.messageLocked(id)
	if !ok {
		return chat.Message{}, ErrNotFound
	}
	return *msg, nil
}

// Ping implements Store; it fails only after Close.
func (m *Memory) Ping(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

// Close implements Store. It drops the data; it is idempotent.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.users, m.byName, m.msgs, m.byKey, m.toUser, m.conv = nil, nil, nil, nil, nil, nil
	m.revoked = nil
	return nil
}

// RevokeToken implements Store; it purges the revocations that have
// expired.
func (m *Memory) RevokeToken(ctx context.Context, tokenID string, expiresAt time.Time) error {
	t := now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for id, r := range m.revoked {
		if r.expires.Before(t.Add(-revocationGrace)) {
			delete(m.revoked, id)
		}
	}
	if _, ok := m.revoked[tokenID]; !ok {
		m.revoked[tokenID] = revocation{at: t, expires: expiresAt.UTC().Truncate(time.Microsecond)}
	}
	return nil
}

// TokenRevoked implements Store.
func (m *Memory) TokenRevoked(ctx context.Context, tokenID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	_, ok := m.revoked[tokenID]
	return ok, nil
}

// RevokedSince implements Store.
func (m *Memory) RevokedSince(ctx context.Context, since time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	type hit struct {
		id string
		at time.Time
	}
	var hits []hit
	for id, r := range m.revoked {
		if !r.at.Before(since) {
			hits = append(hits, hit{id, r.at})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if !hits[i].at.Equal(hits[j].at) {
			return hits[i].at.Before(hits[j].at)
		}
		return hits[i].id < hits[j].id
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids, nil
}

// convPair is a conversation as a map key: convKey's two ids, sorted,
// without joining them into a new string for every message.
type convPair struct{ a, b string }

// newConvPair names the conversation between a and b in either direction.
func newConvPair(a, b string) convPair {
	if b < a {
		a, b = b, a
	}
	return convPair{a, b}
}
