package client

import (
	"encoding/json"
	"fmt"

	"github.com/dmchat/dmchat/core/chat"
)

// Frame is one server frame: the decoded fields of the server-to-client
// table (Type, ClientMessageID, MessageID, SenderID, RecipientID, Content,
// State, CreatedAt, Count, Code, Message, promoted from chat.OutFrame) plus
// the bytes as received.
type Frame struct {
	chat.OutFrame
	// Raw is the frame exactly as received.
	Raw []byte
	// Binary reports a binary WebSocket message (the protocol uses text).
	Binary bool
	// Err is set when Raw is not a JSON object; the decoded fields are then
	// empty.
	Err error
}

// DecodeFrame decodes one server frame. It never fails: a frame that is not a
// JSON object comes back with Err set and Raw kept.
func DecodeFrame(data []byte) Frame {
	f := Frame{Raw: data}
	if err := json.Unmarshal(data, &f.OutFrame); err != nil {
		f.OutFrame = chat.OutFrame{}
		f.Err = fmt.Errorf("client: failed to decode frame: %w", err)
	}
	return f
}

// OfType is a WaitFor predicate matching frames of any of the given types.
func OfType(types ...string) func(Frame) bool {
	return func(f Frame) bool {
		for _, t := range types {
			if f.Type == t {
				return true
			}
		}
		return false
	}
}

// ErrorFor is a WaitFor predicate matching an ERROR frame with the given
// code; an empty code matches any ERROR.
func ErrorFor(code string) func(Frame) bool {
	return func(f Frame) bool {
		return f.Type == chat.TypeError && (code == "" || f.Code == code)
	}
}
