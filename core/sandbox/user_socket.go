package sandbox

import "time"

// socketEventsKept is how many socket events a SimUser keeps.
const socketEventsKept = 32

// SocketEvent is something a simulated user's socket received that is not
// a message: an ERROR frame or the close that ended a connection. A UI
// shows these to say what the socket got (ERROR BANNED, then close 4003),
// which the store's state (banned or not) does not tell.
type SocketEvent struct {
	At       time.Time
	Instance string
	// Code is the ERROR frame's code ("" for a close); Message its text,
	// and ClientMessageID the send it is about, if any.
	Code            string
	Message         string
	ClientMessageID string
	// CloseCode is the close's code (0 for an ERROR frame); ByClient is
	// true when this side closed.
	CloseCode int
	ByClient  bool
}

// SocketEvents returns the last ERROR frames and closes of the user's
// sockets, oldest first.
func (u *SimUser) SocketEvents() []SocketEvent {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]SocketEvent(nil), u.sockEvents...)
}

// addSocketEventLocked keeps e, dropping the oldest past the bound. The
// caller holds u.mu.
func (u *SimUser) addSocketEventLocked(e SocketEvent) {
	u.sockEvents = append(u.sockEvents, e)
	if n := len(u.sockEvents) - socketEventsKept; n > 0 {
		u.sockEvents = append(u.sockEvents[:0:0], u.sockEvents[n:]...)
	}
}
