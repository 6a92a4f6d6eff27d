package node

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/store"
)

// TestWireError pins every error a session answers to its ERROR frame's
// code and message, wrapped or not: clients and the contract's tests read
// these bytes.
func TestWireError(t *testing.T) {
	dbDown := errors.New("database is locked")
	for _, tc := range []struct {
		err       error
		code, msg string
	}{
		{&chat.FrameError{Code: chat.CodeTooLarge, Message: "content longer than 4096 bytes", ClientMessageID: "c"},
			chat.CodeTooLarge, "content longer than 4096 bytes"},
		{&chat.FrameError{Code: chat.CodeBadFrame, Message: "unknown type"}, chat.CodeBadFrame, "unknown type"},
		{ErrBanned, chat.CodeBanned, "you are banned"},
		{ErrTooManyConnections, chat.CodeTooManyConnections, "too many connections for this user"},
		{errRateLimited, chat.CodeRateLimited, "rate limit exceeded; frame dropped"},
		{errUnknownRecipient, chat.CodeUnknownRecipient, "no such recipient"},
		{store.ErrNotRecipient, chat.CodeForbidden, "not a message addressed to you"},
		{fmt.Errorf("store: failed to mark delivered: %w", store.ErrNotFound), chat.CodeForbidden, "not a message addressed to you"},
		// The cause of an internal error is logged, never sent.
		{&internalError{what: "message could not be stored", err: dbDown}, chat.CodeInternal, "message could not be stored"},
		{dbDown, chat.CodeInternal, "internal error"},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			code, msg := wireError(tc.err)
			if code != tc.code || msg != tc.msg {
				t.Fatalf("wireError(%v) = %q, %q; want %q, %q", tc.err, code, msg, tc.code, tc.msg)
			}
		})
	}
	frame, code := errorFrame(ErrBanned)
	if want := `{"type":"ERROR","code":"BANNED","message":"you are banned"}`; string(frame) != want {
		t.Fatalf("errorFrame(ErrBanned) = %s, want %s", frame, want)
	}
	if code != chat.CodeBanned {
		t.Fatalf("errorFrame(ErrBanned) code %q", code)
	}
}
