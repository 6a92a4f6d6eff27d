package chat

import (
	stdjson "encoding/json"
	"testing"

	"github.com/go-json-experiment/json"
)

// The frame codec moved from encoding/json to go-json-experiment/json for
// its allocations; these tests hold it to encoding/json's behaviour on the
// inputs where the two differ by default.

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u1","content":"hi"}`,
		`{"TYPE":"DELIVERY_ACK","MessageId":"7"}`,                            // case-insensitive names
		`{"type":"DELIVERY_ACK","messageId":"1","messageId":"2"}`,            // last duplicate wins
		`{"type":"MESSAGE_SEND","content":"a\ud800b","clientMessageId":"c"}`, // lone surrogate
		"{\"type\":\"MESSAGE_SEND\",\"content\":\"a\xffb\"}",                 // invalid UTF-8
		`{"type":"MESSAGE_SEND","content":null,"extra":{"x":[1,2]}}`,         // null, unknown field
		`{"type":"DELIVERY_ACK","messageId":"\u0037\n"}`,                     // escapes
		`{"type":"MESSAGE_SEND","content":5}`,                                // wrong type
		`null`, `[]`, `"x"`, `{}`, `{"type":"A"} x`, `{"type":`, ``,
	} {
		var a, b InFrame
		errA := stdjson.Unmarshal([]byte(in), &a)
		errB := json.Unmarshal([]byte(in), &b, decodeOpts)
		if (errA == nil) != (errB == nil) {
			t.Errorf("%q: encoding/json error %v, codec error %v", in, errA, errB)
			continue
		}
		if errA == nil && a != b {
			t.Errorf("%q: encoding/json %+v, codec %+v", in, a, b)
		}
	}
}

func TestEncodeAgreesWithEncodingJSON(t *testing.T) {
	n := 3
	for _, f := range []OutFrame{
		{Type: TypeMessage, MessageID: "1", SenderID: "u1", RecipientID: "u2", Content: "<a href='x'>&</a>", CreatedAt: "2026-01-01T00:00:00Z"},
		{Type: TypeMessage, Content: "line\u2028sep\u2029\x00\x1f\"\\/é😀"},
		{Type: TypeMessageState, MessageID: "9", State: StateDelivered},
		{Type: TypeReplayDone, Count: &n},
		{Type: TypeError, Code: CodeBadFrame, Message: "x"},
	} {
		want, err := stdjson.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Encode(); string(got) != string(want) {
			t.Errorf("Encode = %s, encoding/json = %s", got, want)
		}
	}
	// Invalid UTF-8 (which no stored field can hold: frames carrying it are
	// refused) becomes U+FFFD in both, written raw rather than as \ufffd.
	f := OutFrame{Type: TypeMessage, Content: "bad\xffutf8"}
	var got OutFrame
	if err := stdjson.Unmarshal(f.Encode(), &got); err != nil || got.Content != "bad\ufffdutf8" {
		t.Errorf("invalid UTF-8 encoded as %s (%v)", f.Encode(), err)
	}
}

// TestDecodedFrameOutlivesItsBuffer: the read loop reuses its buffer for
// the next frame, so nothing decoded may point into it.
func TestDecodedFrameOutlivesItsBuffer(t *testing.T) {
	buf := []byte(`{"type":"MESSAGE_SEND","clientMessageId":"c-1","recipientId":"u1","content":"hello there"}`)
	f, err := DecodeFrame(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if f.Type != TypeMessageSend || f.ClientMessageID != "c-1" || f.RecipientID != "u1" || f.Content != "hello there" {
		t.Fatalf("frame changed with its buffer: %+v", f)
	}
}
