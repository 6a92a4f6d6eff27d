package chat

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Frames are decoded and encoded with github.com/go-json-experiment/json
// (the proposal behind encoding/json/v2) rather than encoding/json, because
// a full DM cycle decoded two frames with 16 allocations and now with 2, and
// encodes each frame with one (measured in docs/PERFORMANCE.md). The
// options keep encoding/json's behaviour on the wire: names matched without
// regard to case, the last of duplicate names wins, invalid UTF-8 turned
// into U+FFFD (and then refused by checkFrameText, as before), and <, >, &,
// U+2028 and U+2029 escaped on output.
var (
	decodeOpts = json.JoinOptions(json.MatchCaseInsensitiveNames(true),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	encodeOpts = json.JoinOptions(jsontext.AllowInvalidUTF8(true),
		jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true))
)

// Frame types, client to server.
const (
	TypeMessageSend = "MESSAGE_SEND"
	TypeDeliveryAck = "DELIVERY_ACK"
)

// Frame types, server to client.
const (
	TypeMessageAck   = "MESSAGE_ACK"
	TypeMessage      = "MESSAGE"
	TypeMessageState = "MESSAGE_STATE"
	TypeReplayDone   = "REPLAY_DONE"
	TypeError        = "ERROR"
)

// Limits of the protocol.
const (
	// MaxFrameBytes is the WebSocket read limit; a larger frame closes the
	// connection with 1009.
	MaxFrameBytes = 64 << 10
	// MaxContentBytes is the largest accepted message content, in bytes.
	MaxContentBytes = 4096
	// MaxClientMessageIDLen is the longest accepted clientMessageId.
	MaxClientMessageIDLen = 64
)

// InFrame is any frame a client sends. Fields that a type does not use are
// left empty.
type InFrame struct {
	Type            string `json:"type"`
	ClientMessageID string `json:"clientMessageId,omitempty"`
	RecipientID     string `json:"recipientId,omitempty"`
	Content         string `json:"content,omitempty"`
	MessageID       string `json:"messageId,omitempty"`
}

// FrameError is a client frame that cannot be accepted. Code is the wire
// error code to answer with; ClientMessageID or MessageID name the frame when
// known.
type FrameError struct {
	Code            string
	Message         string
	ClientMessageID string
	MessageID       string
}

func (e *FrameError) Error() string { return e.Code + ": " + e.Message }

// ErrNotObject is wrapped by DecodeFrame errors for input that is not a JSON
// object.
var ErrNotObject = errors.New("frame is not a JSON object")

// DecodeFrame parses and validates one client frame. Every failure is a
// *FrameError carrying the wire code (BAD_FRAME or TOO_LARGE).
func DecodeFrame(data []byte) (InFrame, error) {
	var f InFrame
	// Valid UTF-8 with no escape (scanFlatFrame takes none) is text the
	// decoder would not have rewritten: checkFrameText has nothing to find.
	if !utf8.Valid(data) || !scanFlatFrame(data, &f) {
		var err error
		if f, err = unmarshalFrame(data); err != nil {
			return InFrame{}, &FrameError{Code: CodeBadFrame, Message: fmt.Sprintf("%v: %v", ErrNotObject, err)}
		}
		if err := checkFrameText(data, f); err != nil {
			return namedOnly(f), err
		}
	}
	bad := func(msg string) error {
		return &FrameError{Code: CodeBadFrame, Message: msg, ClientMessageID: f.ClientMessageID, MessageID: f.MessageID}
	}
	switch f.Type {
	case TypeMessageSend:
		switch {
		case f.ClientMessageID == "":
			return f, bad("missing field clientMessageId")
		case len(f.ClientMessageID) > MaxClientMessageIDLen:
			return f, bad("clientMessageId longer than 64 characters")
		case f.RecipientID == "":
			return f, bad("missing field recipientId")
		case f.Content == "":
			return f, bad("missing field content")
		case len(f.Content) > MaxContentBytes:
			// checkFrameText has refused invalid UTF-8, so only the size is
			// left to check.
			return f, &FrameError{Code: CodeTooLarge, Message: "content longer than 4096 bytes", ClientMessageID: f.ClientMessageID}
		}
	case TypeDeliveryAck:
		if f.MessageID == "" {
			return f, bad("missing field messageId")
		}
	case "":
		return f, bad("missing field type")
	default:
		return f, bad(fmt.Sprintf("unknown frame type %q", f.Type))
	}
	return f, nil
}

// unmarshalFrame decodes data with the library.
func unmarshalFrame(data []byte) (InFrame, error) {
	// As in Encode: a pooled frame to decode into, so that handing it to
	// the decoder as an interface moves nothing to the heap.
	p := inFramePool.Get().(*InFrame)
	err := json.Unmarshal(data, p, decodeOpts)
	f := *p
	*p = InFrame{}
	inFramePool.Put(p)
	return f, err
}

// checkFrameText refuses a frame whose strings encoding/json rewrote to
// U+FFFD. Raw bytes are checked on every frame (one fast pass); escapes only
// when a decoded field holds U+FFFD, the only way a rewritten escape shows.
// A lone surrogate in a field the frame type ignores is not looked for: it
// is never stored or echoed.
func checkFrameText(data []byte, f InFrame) error {
	rewritten := !utf8.Valid(data) ||
		hasReplacement(f.Type, f.ClientMessageID, f.RecipientID, f.Content, f.MessageID) && hasLoneSurrogate(data)
	if !rewritten {
		return nil
	}
	n := namedOnly(f)
	return &FrameError{Code: CodeBadFrame, Message: ErrNotUTF8.Error(), ClientMessageID: n.ClientMessageID, MessageID: n.MessageID}
}

// namedOnly keeps the type and ids of a refused frame that can be echoed
// unchanged: an id holding U+FFFD may be a rewrite of what the client sent,
// so it is not named (a literal U+FFFD in an id is lost from the ERROR, which
// is acceptable for a frame refused anyway).
func namedOnly(f InFrame) InFrame {
	var n InFrame
	if !hasReplacement(f.Type) {
		n.Type = f.Type
	}
	if !hasReplacement(f.ClientMessageID) {
		n.ClientMessageID = f.ClientMessageID
	}
	if !hasReplacement(f.MessageID) {
		n.MessageID = f.MessageID
	}
	return n
}

// OutFrame is any frame the server sends. Only the fields of its Type are set.
type OutFrame struct {
	Type            string `json:"type"`
	ClientMessageID string `json:"clientMessageId,omitempty"`
	MessageID       string `json:"messageId,omitempty"`
	SenderID        string `json:"senderId,omitempty"`
	RecipientID     string `json:"recipientId,omitempty"`
	Content         string `json:"content,omitempty"`
	State           string `json:"state,omitempty"`
	CreatedAt       string `json:"createdAt,omitempty"`
	Count           *int   `json:"count,omitempty"`
	Code            string `json:"code,omitempty"`
	Message         string `json:"message,omitempty"`
}

// MessageFrame is the MESSAGE frame for m.
func MessageFrame(m Message) OutFrame {
	return OutFrame{Type: TypeMessage, MessageID: m.ID, SenderID: m.SenderID, RecipientID: m.RecipientID,
		Content: m.Content, CreatedAt: FormatTime(m.CreatedAt)}
}

// AckFrame is the MESSAGE_ACK frame for a stored m.
func AckFrame(m Message) OutFrame {
	return OutFrame{Type: TypeMessageAck, ClientMessageID: m.ClientMessageID, MessageID: m.ID,
		State: StateSent, CreatedAt: FormatTime(m.CreatedAt)}
}

// StateFrame is the MESSAGE_STATE frame telling a sender that messageID was
// delivered.
func StateFrame(messageID string) OutFrame {
	return OutFrame{Type: TypeMessageState, MessageID: messageID, State: StateDelivered}
}

// ReplayDoneFrame ends the replay that follows a connect.
func ReplayDoneFrame(count int) OutFrame {
	return OutFrame{Type: TypeReplayDone, Count: &count}
}

// ErrorFrame is an ERROR frame; cmid and mid may be empty.
func ErrorFrame(code, msg, cmid, mid string) OutFrame {
	return OutFrame{Type: TypeError, Code: code, Message: msg, ClientMessageID: cmid, MessageID: mid}
}

// Encode renders f as one JSON text frame.
func (f OutFrame) Encode() []byte {
	if b, ok := appendFrame(make([]byte, 0, encodedSizeBound(&f)), &f); ok {
		return b
	}
	// The encoder takes an interface, which would move f to the heap on
	// every call; a pooled copy costs no allocation.
	p := outFramePool.Get().(*OutFrame)
	*p = f
	b, err := json.Marshal(p, encodeOpts)
	*p = OutFrame{}
	outFramePool.Put(p)
	if err != nil {
		// Only strings and an int: marshalling cannot fail.
		panic("chat: failed to encode frame: " + err.Error())
	}
	return b
}

// inFramePool holds the frames DecodeFrame unmarshals into.
var inFramePool = sync.Pool{New: func() any { return new(InFrame) }}

// outFramePool holds the frames Encode marshals.
var outFramePool = sync.Pool{New: func() any { return new(OutFrame) }}
