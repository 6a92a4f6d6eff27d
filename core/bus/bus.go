// Package bus carries events between server instances: new chat messages,
// delivery states and admin kicks. Bus is the interface; Redis is the
// implementation on Redis pub/sub, Disabled the one used when no Redis is
// configured. Each instance publishes with its own OriginInstanceID and its
// Handler receives every event, its own included unless
// RedisOptions.SkipOwn drops them undecoded (a node applies its own events
// locally already).
//
// The bus is an accelerator, never needed for correctness: every event it
// carries can be rebuilt from the store. That is why Handler.BusRestored
// exists: after an outage each instance re-reads the store for its local
// users instead of trying to replay what the bus lost.
package bus

import (
	"context"
	"errors"
)

// Kind names an event type.
type Kind string

// Event kinds.
const (
	// KindMessage: a stored chat message to deliver to its recipient's sockets.
	KindMessage Kind = "chat.message"
	// KindState: a message was DELIVERED; tell its sender's sockets.
	KindState Kind = "chat.state"
	// KindKick: an admin action (ban) to apply to a user's sockets.
	KindKick Kind = "admin.kick"
	// KindResync: an instance's bus came back after an outage; every
	// instance should catch up its local users from the store.
	KindResync Kind = "bus.resync"
	// KindPresence: the full list of users with a socket on the origin
	// instance, sent periodically and on change (admin user list).
	KindPresence Kind = "presence"
)

// Event is one bus message. Fields not used by Kind are empty. Content is
// carried so the receiving instance need not read the store, but it is never
// logged.
type Event struct {
	Kind             Kind   `json:"kind"`
	OriginInstanceID string `json:"originInstanceId"`

	MessageID       string `json:"messageId,omitempty"`
	SenderID        string `json:"senderId,omitempty"`
	RecipientID     string `json:"recipientId,omitempty"`
	ClientMessageID string `json:"clientMessageId,omitempty"`
	Content         string `json:"content,omitempty"`
	CreatedAt       string `json:"createdAt,omitempty"`

	Action       string `json:"action,omitempty"`
	TargetUserID string `json:"targetUserId,omitempty"`

	UserIDs []string `json:"userIds,omitempty"`
}

// State is the bus's connection state.
type State int

// Bus states.
const (
	// StateDisabled: no Redis configured, or it never came up in time and
	// the bus is retrying in the background.
	StateDisabled State = iota
	// StateConnected: publishing and subscribed.
	StateConnected
	// StateLost: was connected, lost Redis, reconnecting.
	StateLost
)

func (s State) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateLost:
		return "lost"
	default:
		return "disabled"
	}
}

// ErrUnavailable is returned by Publish while the bus is not connected.
// Callers treat it as "other instances will catch up from the store".
var ErrUnavailable = errors.New("bus: unavailable")

// Handler receives what the bus delivers. Methods are called from the bus's
// own goroutine, one at a time, and must not block for long.
type Handler interface {
	// HandleEvent is called for every event received, including this
	// instance's own (unless the bus skips them: RedisOptions.SkipOwn).
	HandleEvent(Event)
	// BusRestored is called after the subscription is (re)established
	// following an outage or a late first connect, so the instance can catch
	// up from the store.
	BusRestored()
}

// Bus publishes events to every instance.
type Bus interface {
	// Publish sends ev to all instances. It never blocks longer than its
	// short internal timeout or ctx; it returns ErrUnavailable when the bus
	// is down. OriginInstanceID is filled in by the bus.
	Publish(ctx context.Context, ev Event) error
	// State reports the connection state.
	State() State
	// Start connects and subscribes, waiting at most the init timeout (or
	// ctx) for the first connection, then returns; from then on a background
	// goroutine keeps the connection alive, reconnects with backoff and calls
	// h for what arrives, until Close. Start never fails because Redis is
	// down: it logs init_timeout and bus_disabled and keeps retrying.
	Start(ctx context.Context, h Handler)
	// Close stops the background goroutine and releases connections, logging
	// "stopped"; idempotent.
	Close() error
}
