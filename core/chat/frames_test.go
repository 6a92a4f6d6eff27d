package chat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeFrame(t *testing.T) {
	long := strings.Repeat("x", MaxContentBytes+1)
	tests := []struct {
		name     string
		in       string
		wantCode string // "" = accepted
		wantCMID string
		wantMID  string
	}{
		{"send", `{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"hi"}`, "", "", ""},
		{"ack", `{"type":"DELIVERY_ACK","messageId":"42"}`, "", "", ""},
		{"not json", `hello`, CodeBadFrame, "", ""},
		{"json array", `[1,2]`, CodeBadFrame, "", ""},
		{"no type", `{"messageId":"1"}`, CodeBadFrame, "", "1"},
		{"unknown type", `{"type":"PING"}`, CodeBadFrame, "", ""},
		{"send without cmid", `{"type":"MESSAGE_SEND","recipientId":"u2","content":"hi"}`, CodeBadFrame, "", ""},
		{"send cmid too long", `{"type":"MESSAGE_SEND","clientMessageId":"` + strings.Repeat("c", 65) + `","recipientId":"u2","content":"hi"}`, CodeBadFrame, strings.Repeat("c", 65), ""},
		{"send without recipient", `{"type":"MESSAGE_SEND","clientMessageId":"c1","content":"hi"}`, CodeBadFrame, "c1", ""},
		{"send without content", `{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2"}`, CodeBadFrame, "c1", ""},
		{"content too large", `{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"` + long + `"}`, CodeTooLarge, "c1", ""},
		{"content at limit", `{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"` + long[1:] + `"}`, "", "", ""},
		{"ack without id", `{"type":"DELIVERY_ACK"}`, CodeBadFrame, "", ""},
		{"wrong field type", `{"type":"DELIVERY_ACK","messageId":42}`, CodeBadFrame, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFrame([]byte(tt.in))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("DecodeFrame: %v", err)
				}
				return
			}
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeFrame error %v, want *FrameError", err)
			}
			if fe.Code != tt.wantCode || fe.ClientMessageID != tt.wantCMID || fe.MessageID != tt.wantMID {
				t.Fatalf("got %+v, want code %s cmid %q mid %q", fe, tt.wantCode, tt.wantCMID, tt.wantMID)
			}
		})
	}
}

func TestOutFramesWireShape(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("X", 3600))
	m := Message{ID: "7", SenderID: "a", RecipientID: "b", ClientMessageID: "c", Content: "hi", CreatedAt: at}
	tests := []struct {
		f    OutFrame
		want string
	}{
		{AckFrame(m), `{"type":"MESSAGE_ACK","clientMessageId":"c","messageId":"7","state":"SENT","createdAt":"2026-01-02T02:04:05.006Z"}`},
		{MessageFrame(m), `{"type":"MESSAGE","messageId":"7","senderId":"a","recipientId":"b","content":"hi","createdAt":"2026-01-02T02:04:05.006Z"}`},
		{StateFrame("7"), `{"type":"MESSAGE_STATE","messageId":"7","state":"DELIVERED"}`},
		{ReplayDoneFrame(0), `{"type":"REPLAY_DONE","count":0}`},
		{ErrorFrame(CodeTooLarge, "big", "c", ""), `{"type":"ERROR","clientMessageId":"c","code":"TOO_LARGE","message":"big"}`},
	}
	for _, tt := range tests {
		if got := string(tt.f.Encode()); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
	if _, err := time.Parse(time.RFC3339, FormatTime(at)); err != nil {
		t.Fatalf("wire time is not RFC 3339: %v", err)
	}
}

// FuzzDecodeFrame: any input either decodes to a valid frame or yields a
// FrameError with a wire code; never a panic.
func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(`{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"hi"}`))
	f.Add([]byte(`{"type":"DELIVERY_ACK","messageId":"1"}`))
	f.Add([]byte(`{"type":`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"` + "\xff\xfe" + `"}`))
	f.Add([]byte(`{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"\ud800x"}`))
	f.Add([]byte(`{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"\ud83d\ude00 \ufffd"}`))
	f.Add([]byte(`{"type":"DELIVERY_ACK","messageId":"\udc00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || (fe.Code != CodeBadFrame && fe.Code != CodeTooLarge) {
				t.Fatalf("error %v is not a FrameError with a wire code", err)
			}
			return
		}
		switch fr.Type {
		case TypeMessageSend:
			if fr.ClientMessageID == "" || len(fr.ClientMessageID) > MaxClientMessageIDLen || fr.RecipientID == "" ||
				fr.Content == "" || len(fr.Content) > MaxContentBytes {
				t.Fatalf("accepted invalid send %+v", fr)
			}
		case TypeDeliveryAck:
			if fr.MessageID == "" {
				t.Fatalf("accepted ack without id")
			}
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
		if _, err := json.Marshal(fr); err != nil {
			t.Fatal(err)
		}
		// An accepted U+FFFD must have been sent as one, never made by the
		// decoder from invalid bytes or a lone surrogate.
		if hasReplacement(fr.Type, fr.ClientMessageID, fr.RecipientID, fr.Content, fr.MessageID) &&
			!strings.Contains(string(data), "\uFFFD") && !strings.Contains(strings.ToLower(string(data)), `\ufffd`) {
			t.Fatalf("accepted a U+FFFD the client never sent: %q", data)
		}
	})
}
