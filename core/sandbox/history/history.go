// Package history records what happened in a sandbox run — sends, acks,
// deliveries, delivery acks, states, connects, bans and faults, each with
// instance and time — and checks the record against the protocol's
// guarantees, the way Jepsen and Maelstrom check a history.
package history

import (
	"sync"
	"time"
)

// Kind names what an Event records.
type Kind string

// Event kinds. Client-side events are recorded by simulated users as they
// send and receive frames; cluster events by the sandbox.
const (
	// Client side. Conn identifies one WebSocket connection of a user.
	Connect       Kind = "connect"      // User connected on Instance as Conn
	Disconnect    Kind = "disconnect"   // Conn ended; CloseCode set when the server closed it
	Send          Kind = "send"         // MESSAGE_SEND: ClientMessageID, Peer (recipient id); Attempt 1, 2, ... for retries
	Ack           Kind = "ack"          // MESSAGE_ACK received: ClientMessageID, MessageID (LostOnPurpose when the sim user dropped it)
	Receive       Kind = "receive"      // MESSAGE received on Conn: MessageID, Peer (sender id); Replay true before REPLAY_DONE
	ReplayDone    Kind = "replay_done"  // REPLAY_DONE on Conn: Count
	DeliveryAck   Kind = "delivery_ack" // DELIVERY_ACK sent on Conn: MessageID
	AckDropped    Kind = "ack_dropped"  // the sim user chose not to send a DELIVERY_ACK for MessageID
	StateChange   Kind = "state"        // MESSAGE_STATE DELIVERED received on Conn: MessageID
	ErrorFrame    Kind = "error"        // ERROR received: Code, ClientMessageID/MessageID
	DuplicateDrop Kind = "duplicate"    // a MESSAGE the client had already seen (dropped by messageId)

	// Cluster side.
	Ban    Kind = "ban"    // admin banned User (target) via Instance; recorded when the API answered
	Unban  Kind = "unban"  // admin unbanned User
	Fault  Kind = "fault"  // Detail: "redis_stop", "redis_start", "instance_stop A", ...
	Stored Kind = "stored" // (final snapshot) a row in the store: MessageID, User (sender), Peer (recipient), ClientMessageID, Delivered
)

// Event is one entry of a history. Fields a Kind does not use are empty.
type Event struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     Kind      `json:"kind"`
	Instance string    `json:"instance,omitempty"`
	User     string    `json:"user,omitempty"` // user id (the actor, or the target of a ban)
	Conn     string    `json:"conn,omitempty"`

	ClientMessageID string `json:"clientMessageId,omitempty"`
	MessageID       string `json:"messageId,omitempty"`
	Peer            string `json:"peer,omitempty"`
	Attempt         int    `json:"attempt,omitempty"`
	Replay          bool   `json:"replay,omitempty"`
	Count           int    `json:"count,omitempty"`
	Code            string `json:"code,omitempty"`
	CloseCode       int    `json:"closeCode,omitempty"`
	LostOnPurpose   bool   `json:"lostOnPurpose,omitempty"`
	Delivered       bool   `json:"delivered,omitempty"`
	Detail          string `json:"detail,omitempty"`
}

// Recorder collects events in order. Safe for concurrent use; a nil
// *Recorder records nothing.
type Recorder struct {
	mu     sync.Mutex // guards events and seq
	seq    int64
	events []Event
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Record appends ev, stamping Seq and, if zero, Time.
func (r *Recorder) Record(ev Event) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.seq++
	ev.Seq = r.seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// Events returns a copy of everything recorded so far.
func (r *Recorder) Events() []Event {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}
