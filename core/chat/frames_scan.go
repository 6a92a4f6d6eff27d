package chat

import "sync"

// A client sends two frames per DM (MESSAGE_SEND, DELIVERY_ACK), each a
// flat object of a few plain strings. json.Unmarshal spent ~7,000
// instructions on each (callgrind, node DMCycle/mem; docs/PERFORMANCE.md
// section 7); scanFlatFrame reads that common shape directly and leaves
// every other input to the library, so the decoded frame is always what
// json.Unmarshal with decodeOpts gives (TestScanFlatFrameAgreesWithUnmarshal).

// scanFlatFrame decodes data into f if data is an object whose members all
// have one of InFrame's names, spelt exactly, and a string value with no
// escape and no control character, with nothing after it but white space.
// The caller has checked that data is valid UTF-8, so the strings are
// taken as they are. It reports false, leaving f partly set, for anything
// else: names in another case, escapes, other values, unknown members,
// malformed JSON.
func scanFlatFrame(data []byte, f *InFrame) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		name, j, ok := scanPlainString(data, i)
		if !ok {
			return false
		}
		i = skipSpace(data, j)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		val, j, ok := scanPlainString(data, skipSpace(data, i+1))
		if !ok {
			return false
		}
		switch string(name) {
		case "type":
			f.Type = frameType(val)
		case "clientMessageId":
			f.ClientMessageID = string(val)
		case "recipientId":
			f.RecipientID = internID(val)
		case "content":
			f.Content = string(val)
		case "messageId":
			f.MessageID = string(val)
		default:
			return false
		}
		i = skipSpace(data, j)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// frameType returns the constant for a known type, so a frame's type costs
// no allocation.
func frameType(b []byte) string {
	switch string(b) {
	case TypeMessageSend:
		return TypeMessageSend
	case TypeDeliveryAck:
		return TypeDeliveryAck
	}
	return string(b)
}

// idCaches hold recently decoded recipient ids, as the library's decoder
// state does for every string it decodes: a sender names the same
// recipient frame after frame, so its id costs no allocation each time.
// The pool keeps about one cache per P.
var idCaches = sync.Pool{New: func() any { return new([64]string) }}

// internID returns b as a string, from idCaches when it was seen lately.
func internID(b []byte) string {
	if len(b) < 2 || len(b) > MaxClientMessageIDLen {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, x := range b {
		h = (h ^ uint32(x)) * 16777619
	}
	c := idCaches.Get().(*[64]string)
	i := h % uint32(len(c))
	s := c[i]
	if s != string(b) {
		s = string(b)
		c[i] = s
	}
	idCaches.Put(c)
	return s
}

// scanPlainString returns the bytes between the quotes of the string at
// data[i] and the index after it, or false if there is none there or it
// holds a backslash or a control character.
func scanPlainString(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
