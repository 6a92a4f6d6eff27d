package chat

import "bytes"

// messageFramePrefix is how every MESSAGE frame Encode writes begins:
// OutFrame's fields are written in order, and a MESSAGE frame has no
// clientMessageId, so its messageId comes right after the type.
const messageFramePrefix = `{"type":"MESSAGE","messageId":`

// IsMessageFrameOf reports whether frame looks like the MESSAGE frame
// Encode wrote for messageID: a frame that arrived over the bus is written
// to sockets as it is, so a receiver checks that it is the frame its
// header names, without decoding it. It looks at the start and the end
// only: the bus has checked that the whole is valid JSON.
func IsMessageFrameOf(frame []byte, messageID string) bool {
	if !bytes.HasPrefix(frame, []byte(messageFramePrefix)) || frame[len(frame)-1] != '}' {
		return false
	}
	rest := frame[len(messageFramePrefix):]
	if plainID(messageID) {
		// The common case (store ids are ULIDs): no escaping, no allocation.
		return len(rest) > len(messageID)+1 && rest[0] == '"' &&
			string(rest[1:1+len(messageID)]) == messageID && rest[1+len(messageID)] == '"'
	}
	want := OutFrame{Type: TypeMessage, MessageID: messageID}.Encode()
	return bytes.HasPrefix(frame, want[:len(want)-1])
}

// plainID reports whether id encodes in JSON as itself between quotes.
func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
