package chat

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dmchat/dmchat/core/internal/isotime"
)

// Every DM costs three encoded frames (MESSAGE_ACK, MESSAGE,
// MESSAGE_STATE) and two timestamps. Through json.Marshal each frame cost
// ~8,000 instructions and each timestamp ~4,000 (callgrind, node
// DMCycle/mem; docs/PERFORMANCE.md section 7); appending the fields
// directly costs a small fraction of that. The escaping stays the
// library's: a string holding anything but plain characters (a quote, a
// backslash, a control character, <, >, &, U+2028, U+2029 or invalid
// UTF-8) sends the whole frame through json.Marshal, so the bytes on the
// wire are those encodeOpts give (TestAppendFrameAgreesWithMarshal).

// appendFrame appends f's JSON encoding to dst, field by field in OutFrame's
// order with omitempty, and reports false (dst unchanged) if a string needs
// escaping.
func appendFrame(dst []byte, f *OutFrame) ([]byte, bool) {
	b := append(dst, `{"type":`...)
	ok := true
	b, ok = appendPlainString(b, f.Type, ok)
	b, ok = appendField(b, `,"clientMessageId":`, f.ClientMessageID, ok)
	b, ok = appendField(b, `,"messageId":`, f.MessageID, ok)
	b, ok = appendField(b, `,"senderId":`, f.SenderID, ok)
	b, ok = appendField(b, `,"recipientId":`, f.RecipientID, ok)
	b, ok = appendField(b, `,"content":`, f.Content, ok)
	b, ok = appendField(b, `,"state":`, f.State, ok)
	b, ok = appendField(b, `,"createdAt":`, f.CreatedAt, ok)
	if f.Count != nil {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(*f.Count), 10)
	}
	b, ok = appendField(b, `,"code":`, f.Code, ok)
	b, ok = appendField(b, `,"message":`, f.Message, ok)
	if !ok {
		return dst, false
	}
	return append(b, '}'), true
}

// encodedSizeBound is at least the length of f's fast encoding, so that
// the frame is built in one allocation of its size.
func encodedSizeBound(f *OutFrame) int {
	n := len(`{"type":""}`) + len(f.Type) +
		fieldSize(`,"clientMessageId":`, f.ClientMessageID) + fieldSize(`,"messageId":`, f.MessageID) +
		fieldSize(`,"senderId":`, f.SenderID) + fieldSize(`,"recipientId":`, f.RecipientID) +
		fieldSize(`,"content":`, f.Content) + fieldSize(`,"state":`, f.State) +
		fieldSize(`,"createdAt":`, f.CreatedAt) + fieldSize(`,"code":`, f.Code) + fieldSize(`,"message":`, f.Message)
	if f.Count != nil {
		n += len(`,"count":-9223372036854775808`)
	}
	return n
}

// fieldSize is the length of name and s quoted, 0 for an empty s.
func fieldSize(name, s string) int {
	if s == "" {
		return 0
	}
	return len(name) + len(s) + 2
}

// appendField appends name and s unless s is empty (omitempty).
func appendField(b []byte, name, s string, ok bool) ([]byte, bool) {
	if s == "" || !ok {
		return b, ok
	}
	return appendPlainString(append(b, name...), s, ok)
}

// appendPlainString appends s quoted, if it needs no escape at all.
func appendPlainString(b []byte, s string, ok bool) ([]byte, bool) {
	if !ok || !isPlain(s) {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// isPlain reports whether s is valid UTF-8 holding nothing encodeOpts
// escapes. Eight bytes are looked at a time while they are plain ASCII:
// content is most of a frame's bytes.
func isPlain(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if !plainWord(w) {
			break
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// plainWord reports whether none of the eight bytes of w is a control
// character, non-ASCII, or one of " \\ < > &, with the bit tricks of
// "Bit Twiddling Hacks" (a zero byte of x shows in (x-0x01…)&^x&0x80…).
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	bad := w&highs | // non-ASCII
		(w-ones*0x20)&^w&highs | // below 0x20 (w has no high bit here)
		hasZero(w^(ones*'"')) | hasZero(w^(ones*'\\')) |
		hasZero(w^(ones*'<')) | hasZero(w^(ones*'>')) | hasZero(w^(ones*'&'))
	return bad == 0
}

// appendTime appends t in TimeFormat, reporting false for a year outside
// 0–9999, which the layout writes differently.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	b, ok := isotime.AppendMillis(b, t.UTC())
	if !ok {
		return b, false
	}
	return append(b, 'Z'), true
}
