package node

import (
	"errors"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// Refusals of a client frame that are not the frame's fault alone.
var (
	errRateLimited      = errors.New("node: rate limit exceeded")
	errUnknownRecipient = errors.New("node: no such recipient")
)

// internalError is a failure of ours a client is told about: what names,
// in client-safe words, what could not be done; err, which is logged but
// never sent, says why.
type internalError struct {
	what string
	err  error
}

func (e *internalError) Error() string { return "node: " + e.what + ": " + e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

// wireError is the one place an error becomes the code and message of a
// WebSocket ERROR frame. The message is client-safe: the contract's
// wording, the frame check's own words, or what failed, never an error
// from below.
func wireError(err error) (code, msg string) {
	var fe *chat.FrameError
	var ie *internalError
	switch {
	case errors.As(err, &fe):
		return fe.Code, fe.Message
	case errors.Is(err, ErrBanned):
		return chat.CodeBanned, "you are banned"
	case errors.Is(err, ErrTooManyConnections):
		return chat.CodeTooManyConnections, "too many connections for this user"
	case errors.Is(err, errRateLimited):
		return chat.CodeRateLimited, "rate limit exceeded; frame dropped"
	case errors.Is(err, errUnknownRecipient):
		return chat.CodeUnknownRecipient, "no such recipient"
	case errors.Is(err, store.ErrNotRecipient), errors.Is(err, store.ErrNotFound):
		// Only an ack meets these: an unknown id is refused like someone
		// else's, so ids cannot be probed.
		return chat.CodeForbidden, "not a message addressed to you"
	case errors.As(err, &ie):
		return chat.CodeInternal, ie.what
	default:
		return chat.CodeInternal, "internal error"
	}
}

// errorFrame is err's ERROR frame, encoded, and its code, for a socket
// closed right after it (a ban, too many connections).
func errorFrame(err error) (frame []byte, code string) {
	code, msg := wireError(err)
	return chat.ErrorFrame(code, msg, "", "").Encode(), code
}
