// Package store owns durable state: users and messages. Store is the one
// interface the rest of the server uses; Open picks an implementation from a
// DB_URI: "mem" (volatile), "sqlite:PATH" (embedded, WAL, synchronous=FULL) or
// "postgres://..." (shared by instances on many hosts).
//
// The guarantees of the protocol are enforced by the database itself, not by
// locks in this process, so they hold when several processes share a store:
// a unique key on (sender_id, client_message_id) makes SaveMessage idempotent,
// and MarkDelivered is one conditional UPDATE, so a message is marked
// DELIVERED at most once.
//
// Writes are group-committed: concurrent SaveMessage and MarkDelivered calls
// are collected by one writer and committed in one transaction, and each call
// returns only after that commit is durable. Under load a commit starts no
// sooner than 1 ms after the previous one (groupcommit.go), so each fsync
// carries more writes; SQLite's checkpoints run on a connection of their own.
//
// Semantics shared by every implementation (checked by the conformance suite
// in package storetest):
//   - user ids are "u" and 16 random hex digits; message ids are decimal
//     integers that grow with insertion order (compare them as numbers);
//   - a string that is not a message id in that exact form (e.g. "abc",
//     "007") names no message: MessageByID and MarkDelivered return
//     ErrNotFound, and as Undelivered's afterID or Page.BeforeID it matches
//     nothing (an empty result, not an error);
//   - SaveMessage returns ErrNotFound if the sender or recipient is not a
//     user (SQL stores: foreign keys);
//   - a non-positive limit is an error;
//   - timestamps are UTC with microsecond precision, and a value read back
//     equals the value returned when it was written;
//   - usernames are unique without regard to ASCII case ("Alice" and
//     "alice" are one name) and UserByName finds a user in any case; the
//     name is stored and returned as it was given to CreateUser;
//   - ListUsers orders usernames bytewise; SearchUsers orders them without
//     regard to case (then bytewise, for a stable order);
//   - a revoked token id stays revoked at least until a minute after its
//     expiry; RevokeToken purges the revocations older than that.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/dmchat/dmchat/core/chat"
)

// Errors returned by every implementation; check with errors.Is.
var (
	// ErrNotFound: no such user or message.
	ErrNotFound = errors.New("store: not found")
	// ErrUsernameTaken: CreateUser with a name already in use, in any case.
	ErrUsernameTaken = errors.New("store: username taken")
	// ErrNotRecipient: MarkDelivered by someone who is not the recipient.
	ErrNotRecipient = errors.New("store: not the recipient")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// NewMessage is what a sender asks to store. The store assigns ID and
// CreatedAt.
type NewMessage struct {
	SenderID        string
	RecipientID     string
	ClientMessageID string
	Content         string
}

// Page asks for part of a conversation, newest first. BeforeID, when set,
// returns only messages older than that id. Limit must be positive.
type Page struct {
	UserA, UserB string
	BeforeID     string
	Limit        int
}

// Store is durable state. All methods are safe for concurrent use.
type Store interface {
	// CreateUser stores a new user with a fresh ID; ErrUsernameTaken if the
	// name is in use, whatever its case.
	CreateUser(ctx context.Context, username string, passwordHash []byte, role chat.Role) (chat.User, error)
	// UserByID and UserByName return ErrNotFound for an unknown user.
	// UserByName compares without regard to ASCII case.
	UserByID(ctx context.Context, id string) (chat.User, error)
	UserByName(ctx context.Context, username string) (chat.User, error)
	// ListUsers returns every user ordered by username.
	ListUsers(ctx context.Context) ([]chat.User, error)
	// SearchUsers returns up to limit users whose username starts with
	// prefix, compared without regard to ASCII case and taken literally (%
	// and _ are not wildcards), ordered by the lower-cased username. An
	// empty prefix matches everyone. A non-positive limit is an error.
	SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error)
	// SetBanned sets the banned flag and returns the updated user.
	SetBanned(ctx context.Context, id string, banned bool) (chat.User, error)
	// SetRoleAndPassword updates an existing user's role and password hash
	// (used by the operator's admin bootstrap).
	SetRoleAndPassword(ctx context.Context, id string, role chat.Role, passwordHash []byte) (chat.User, error)
	// BannedUserIDs returns the ids of all banned users.
	BannedUserIDs(ctx context.Context) ([]string, error)

	// SaveMessage stores m once per (SenderID, ClientMessageID) and returns
	// the stored row; created is false when the row already existed (a retry),
	// in which case the existing row is returned unchanged. It returns only
	// after the row is durable.
	SaveMessage(ctx context.Context, m NewMessage) (msg chat.Message, created bool, err error)
	// MarkDelivered marks messageID DELIVERED if recipientID is its recipient
	// and it is not yet delivered; changed reports whether this call did it.
	// An unknown id gives ErrNotFound; another user's message ErrNotRecipient.
	MarkDelivered(ctx context.Context, messageID, recipientID string) (msg chat.Message, changed bool, err error)
	// Undelivered returns up to limit messages addressed to recipientID that
	// are not DELIVERED and have an id greater than afterID ("" for all),
	// oldest first.
	Undelivered(ctx context.Context, recipientID, afterID string, limit int) ([]chat.Message, error)
	// Conversation returns one page of the messages between p.UserA and
	// p.UserB, newest first.
	Conversation(ctx context.Context, p Page) ([]chat.Message, error)
	// MessageByID returns one message or ErrNotFound.
	MessageByID(ctx context.Context, id string) (chat.Message, error)

	// RevokeToken records that the token with id tokenID (its jti) is
	// refused from now on; expiresAt is the token's own expiry: a minute
	// after it, the record is purged by a later RevokeToken. Revoking an
	// id again changes nothing.
	RevokeToken(ctx context.Context, tokenID string, expiresAt time.Time) error
	// TokenRevoked reports whether tokenID was revoked.
	TokenRevoked(ctx context.Context, tokenID string) (bool, error)
	// RevokedSince returns the ids of the tokens revoked at or after since
	// (by the clock of the process that revoked them), oldest first. Nodes
	// poll it to close sockets opened with a token revoked elsewhere.
	RevokedSince(ctx context.Context, since time.Time) ([]string, error)

	// Ping reports whether the store is reachable (readiness).
	Ping(ctx context.Context) error
	// Close flushes pending writes and releases resources; later calls fail
	// with ErrClosed. Close is idempotent.
	Close() error
}
