package bench

import (
	"bytes"
	"strconv"

	"github.com/dmchat/dmchat/core/chat"
)

// The load tool reads server frames without a JSON decoder: it needs a few
// ids and numbers, and finding them by their keys costs no allocation.
// This is sound for the server's frames because every string in them is
// JSON-escaped: inside a string value a quote is always written \", so the
// byte sequence "key":" (with bare quotes) can only be a key of the object
// itself, never text inside content.

// frameKind is the type of a server frame.
type frameKind uint8

const (
	kindOther frameKind = iota
	kindAck
	kindMessage
	kindState
	kindReplayDone
	kindError
)

var (
	keyType      = []byte(`"type":"`)
	keyCMID      = []byte(`"clientMessageId":"`)
	keyMessageID = []byte(`"messageId":"`)
	keyContent   = []byte(`"content":"`)
	keyCode      = []byte(`"code":"`)
	keyCount     = []byte(`"count":`)
)

// kindOf returns the frame's type.
func kindOf(f []byte) frameKind {
	switch string(stringField(f, keyType)) { // no allocation: compared in place
	case chat.TypeMessageAck:
		return kindAck
	case chat.TypeMessage:
		return kindMessage
	case chat.TypeMessageState:
		return kindState
	case chat.TypeReplayDone:
		return kindReplayDone
	case chat.TypeError:
		return kindError
	}
	return kindOther
}

// stringField returns the raw (still escaped) value of the string field
// whose key pattern is key (`"name":"`), or nil. The result aliases f.
func stringField(f, key []byte) []byte {
	i := bytes.Index(f, key)
	if i < 0 {
		return nil
	}
	v := f[i+len(key):]
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[:j]
		}
	}
	return nil
}

// intField returns the integer value of the number field with key pattern
// key (`"name":`).
func intField(f, key []byte) (int64, bool) {
	i := bytes.Index(f, key)
	if i < 0 {
		return 0, false
	}
	return leadingInt(f[i+len(key):])
}

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) (int64, bool) {
	var n int64
	j := 0
	for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		n = n*10 + int64(b[j]-'0')
	}
	return n, j > 0
}

// The tool's clientMessageIds are "<prefix><seq>" and its contents
// "k=<seq>;<padding>", so acks and deliveries lead back to the send's due
// time without a lookup table.

// seqOfCMID extracts the sequence number from a clientMessageId value.
func seqOfCMID(v []byte) (int64, bool) {
	i := bytes.LastIndexByte(v, '-')
	if i < 0 {
		return 0, false
	}
	return leadingInt(v[i+1:])
}

// seqOfContent extracts the sequence number from a content value.
func seqOfContent(v []byte) (int64, bool) {
	if !bytes.HasPrefix(v, []byte("k=")) {
		return 0, false
	}
	return leadingInt(v[2:])
}

// messageKey turns a messageId into a map key without allocating when it
// is a decimal number (as the SQL stores make them); ok is false otherwise.
func messageKey(id []byte) (uint64, bool) {
	if len(id) == 0 || len(id) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range id {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// appendSend appends a MESSAGE_SEND frame for sequence seq.
func appendSend(b []byte, cmidPrefix string, seq int64, recipientID string, pad string) []byte {
	b = append(b, `{"type":"MESSAGE_SEND","clientMessageId":"`...)
	b = append(b, cmidPrefix...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `","recipientId":"`...)
	b = append(b, recipientID...)
	b = append(b, `","content":"k=`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ';')
	b = append(b, pad...)
	b = append(b, `"}`...)
	return b
}

// appendDeliveryAck appends a DELIVERY_ACK frame for messageID (raw, as
// read from a MESSAGE frame).
func appendDeliveryAck(b, messageID []byte) []byte {
	b = append(b, `{"type":"DELIVERY_ACK","messageId":"`...)
	b = append(b, messageID...)
	b = append(b, `"}`...)
	return b
}
