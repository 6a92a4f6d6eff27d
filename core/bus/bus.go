// Package bus carries events between server instances: new chat messages,
// delivery states and admin kicks. Bus is the interface; Redis is the
// implementation on Redis pub/sub, Disabled the one used when no Redis is
// configured. Each instance publishes with its own OriginInstanceID.
//
// Events are routed by interest: each user has a channel of their own, and
// an instance is subscribed to it only while it holds a socket of that user
// (Subscribe and Unsubscribe, counted per socket). A message travels on its
// recipient's channel, a delivery state on its sender's, a kick on its
// target's; resync and presence on the low-rate control channel every
// instance subscribes to. So an event reaches only the instances that can
// use it, and a message for a user with no socket anywhere is one publish
// that nobody receives. The Handler receives what arrives, this instance's
// own events included unless RedisOptions.SkipOwn drops them undecoded (a
// node applies its own events locally already).
//
// A KindMessage event carries the MESSAGE frame itself (Event.Frame): the
// sender encodes it once, for its own sockets and the bus, and the
// receiving instances write those bytes to their sockets as they are, with
// no message rebuilt, no time parsed and no frame encoded again. Events are
// JSON, encoded and decoded with github.com/go-json-experiment/json, which
// embeds and copies the frame as one value: receiving a message event up to
// a frame ready for the sockets took 15 allocations (encoding/json, time
// parse, frame encode) and takes 3 (docs/PERFORMANCE.md).
//
// Rolling upgrade: a KindMessage event still carries senderId, content and
// createdAt, which is all an instance of the previous version reads to
// build its frame (it ignores the fields it does not know), so old and new
// instances deliver each other's messages. The cost is the content twice
// in each payload (about 120 bytes more for an ordinary message); once no
// instance of the previous version runs, the sender can drop those fields.
// A receiver takes Frame when present and otherwise builds the frame from
// the fields, as before.
//
// The bus is an accelerator, never needed for correctness: every event it
// carries can be rebuilt from the store. That is why Handler.BusRestored
// exists: after an outage each instance re-reads the store for its local
// users instead of trying to replay what the bus lost.
package bus

import (
	"context"
	"errors"
	"time"

	"github.com/go-json-experiment/json/jsontext"
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
	// KindResyncUsers: the channels of UserIDs were subscribed again on
	// the origin instance after their shard's outage; every instance
	// publishes again the delivery states it holds or sent lately for
	// those users (states leave no trace in the store to catch up from).
	KindResyncUsers Kind = "bus.resync.users"
	// KindPresence: the full list of users with a socket on the origin
	// instance. Kept so events of older instances still decode; presence
	// now lives in Redis keys (see Presence).
	KindPresence Kind = "presence"
)

// Event is one bus message. Fields not used by Kind are empty. Content is
// carried so the receiving instance need not read the store, but it is never
// logged.
type Event struct {
	Kind             Kind   `json:"kind"`
	OriginInstanceID string `json:"originInstanceId"`

	MessageID   string `json:"messageId,omitempty"`
	SenderID    string `json:"senderId,omitempty"`
	RecipientID string `json:"recipientId,omitempty"`
	// ClientMessageID is decoded from older instances' events; no receiver
	// ever used it, and KindMessage events no longer carry it.
	ClientMessageID string `json:"clientMessageId,omitempty"`
	// Content and CreatedAt (wire time format) are what an instance of an
	// older version builds its MESSAGE frame from: see "Rolling upgrade"
	// in the package doc.
	Content   string `json:"content,omitempty"`
	CreatedAt string `json:"createdAt,omitempty"`

	Action       string `json:"action,omitempty"`
	TargetUserID string `json:"targetUserId,omitempty"`

	UserIDs []string `json:"userIds,omitempty"`

	// CreatedAtMs is the message's creation time in Unix milliseconds, so
	// the receiver can observe the delivery latency without parsing a
	// time. Zero in older instances' events.
	CreatedAtMs int64 `json:"createdAtMs,omitzero"`
	// Frame is a KindMessage's MESSAGE frame as the sender encoded it for
	// its own sockets: the receiver writes these bytes to its sockets as
	// they are. The bus drops an event whose Frame is not the MESSAGE frame
	// of its MessageID (see chat.IsMessageFrameOf). Empty in older
	// instances' events: the receiver then builds the frame from the
	// fields. The bytes belong to the event: never modify them.
	Frame jsontext.Value `json:"frame,omitempty"`
}

// State is the bus's connection state. Its numbers are the values of the
// dmchat_bus_state and dmchat_bus_shard_state gauges, which operators
// alert on (docs/deploy.md): renumbering them changes the metrics'
// meaning, and a test beside the server's bus hooks fails until
// metrics.BusStateHelp says the new numbering.
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
	// UsersResubscribed is called when the channels of userIDs are
	// subscribed again after a time in which events meant for them may have
	// been lost (their shard was down, or their Subscribe could not wait for
	// the confirmation), so the instance catches up those users only.
	UsersResubscribed(userIDs []string)
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
	// Subscribe adds one interest (one local socket) in userID's events; the
	// first makes the bus subscribe to the user's channel, batched with
	// other changes. It never blocks: WaitSubscribed waits.
	Subscribe(userID string)
	// Unsubscribe drops one interest added by Subscribe; after the last the
	// channel is unsubscribed, batched.
	Unsubscribe(userID string)
	// WaitSubscribed returns once userID's channel is confirmed subscribed,
	// so every event published from then on reaches this instance. It
	// returns an error at once when the bus is not connected, or when the
	// confirmation does not come within the bus's own short bound or ctx;
	// the user's channel is then subscribed later and
	// Handler.UsersResubscribed (or BusRestored) tells when, so the caller
	// can carry on with what the store holds.
	WaitSubscribed(ctx context.Context, userID string) error
	// SetPresence records userIDs as the users with a socket on this
	// instance, replacing what it recorded before, for PresenceTTL: an
	// instance that stops refreshing (it died without a goodbye) drops out
	// by itself. Close removes the record.
	SetPresence(ctx context.Context, userIDs []string) error
	// Presence returns the users of every instance whose record is live,
	// this instance's included, by instance id.
	Presence(ctx context.Context) (map[string][]string, error)
}

// PresenceTTL is how long an instance's presence record lives unless
// refreshed; instances refresh it well within (node.presenceRefresh).
const PresenceTTL = 10 * time.Second
