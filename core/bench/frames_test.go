package bench

import (
	"testing"

	"github.com/dmchat/dmchat/core/chat"
)

func TestKindOf(t *testing.T) {
	count := 3
	tests := []struct {
		frame chat.OutFrame
		want  frameKind
	}{
		{chat.OutFrame{Type: chat.TypeMessageAck, ClientMessageID: "b1-7", MessageID: "12"}, kindAck},
		{chat.OutFrame{Type: chat.TypeMessage, MessageID: "12", Content: "k=7;x"}, kindMessage},
		{chat.OutFrame{Type: chat.TypeMessageState, MessageID: "12"}, kindState},
		{chat.OutFrame{Type: chat.TypeReplayDone, Count: &count}, kindReplayDone},
		{chat.OutFrame{Type: chat.TypeError, Code: chat.CodeForbidden}, kindError},
		{chat.OutFrame{Type: "SOMETHING"}, kindOther},
	}
	for _, tt := range tests {
		if got := kindOf(tt.frame.Encode()); got != tt.want {
			t.Errorf("kindOf(%s) = %d, want %d", tt.frame.Encode(), got, tt.want)
		}
	}
}

func TestFieldsOfServerFrames(t *testing.T) {
	// Content that mimics keys must not be mistaken for them: the encoder
	// escapes its quotes.
	tricky := `x","messageId":"999","clientMessageId":"evil-5`
	f := chat.OutFrame{Type: chat.TypeMessage, MessageID: "42", SenderID: "u1", RecipientID: "u2",
		Content: "k=17;" + tricky, CreatedAt: "2026-01-01T00:00:00.000Z"}.Encode()
	if got := string(stringField(f, keyMessageID)); got != "42" {
		t.Fatalf("messageId = %q, want 42", got)
	}
	seq, ok := seqOfContent(stringField(f, keyContent))
	if !ok || seq != 17 {
		t.Fatalf("seqOfContent = %d, %v; want 17", seq, ok)
	}
	if v := stringField(f, keyCMID); v != nil {
		t.Fatalf("clientMessageId found in a MESSAGE frame: %q", v)
	}
	ack := chat.OutFrame{Type: chat.TypeMessageAck, ClientMessageID: "bdeadbeef-123456", MessageID: "9"}.Encode()
	if seq, ok := seqOfCMID(stringField(ack, keyCMID)); !ok || seq != 123456 {
		t.Fatalf("seqOfCMID = %d, %v; want 123456", seq, ok)
	}
	count := 10000
	rd := chat.ReplayDoneFrame(count).Encode()
	if n, ok := intField(rd, keyCount); !ok || n != 10000 {
		t.Fatalf("count = %d, %v", n, ok)
	}
	if k, ok := messageKey([]byte("000123")); !ok || k != 123 {
		t.Fatalf("messageKey = %d, %v", k, ok)
	}
	if _, ok := messageKey([]byte("m-12")); ok {
		t.Fatal("messageKey accepted a non-number")
	}
}

func TestAppendedFramesDecode(t *testing.T) {
	b := appendSend(nil, "brun-", 77, "u2", "pad")
	f, err := chat.DecodeFrame(b)
	if err != nil {
		t.Fatalf("DecodeFrame(%s): %v", b, err)
	}
	if f.Type != chat.TypeMessageSend || f.ClientMessageID != "brun-77" || f.RecipientID != "u2" || f.Content != "k=77;pad" {
		t.Fatalf("decoded %+v", f)
	}
	a := appendDeliveryAck(nil, []byte("55"))
	f, err = chat.DecodeFrame(a)
	if err != nil || f.Type != chat.TypeDeliveryAck || f.MessageID != "55" {
		t.Fatalf("DecodeFrame(%s) = %+v, %v", a, f, err)
	}
}

func TestParsingDoesNotAllocate(t *testing.T) {
	f := chat.OutFrame{Type: chat.TypeMessageAck, ClientMessageID: "b1-7", MessageID: "12"}.Encode()
	allocs := testing.AllocsPerRun(100, func() {
		if kindOf(f) != kindAck {
			t.Fatal("wrong kind")
		}
		_, _ = seqOfCMID(stringField(f, keyCMID))
		_, _ = messageKey(stringField(f, keyMessageID))
	})
	if allocs != 0 {
		t.Fatalf("parsing an ack allocates %.0f times", allocs)
	}
}
