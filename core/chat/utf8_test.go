package chat

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeFrameRefusesRewrittenUTF8(t *testing.T) {
	send := func(cmid, content string) string {
		return `{"type":"MESSAGE_SEND","clientMessageId":"` + cmid + `","recipientId":"u2","content":"` + content + `"}`
	}
	tests := []struct {
		name     string
		in       string
		wantCMID string
		wantMID  string
	}{
		{"invalid bytes in content", send("c1", "\xff\xfe"), "c1", ""},
		{"truncated sequence in content", send("c1", "ok \xe2\x82"), "c1", ""},
		{"lone high surrogate in content", send("c1", `\ud800x`), "c1", ""},
		{"lone low surrogate in content", send("c1", `\uDC00`), "c1", ""},
		{"high surrogate before a non-surrogate escape", send("c1", `\ud83d\u0041`), "c1", ""},
		{"lone surrogate beside a literal U+FFFD", send("c1", "\uFFFD"+`\ud800`), "c1", ""},
		{"invalid bytes in the id are not echoed", send("c\xff", "hi"), "", ""},
		{"lone surrogate in the id is not echoed", send(`c\ud800`, "hi"), "", ""},
		{"invalid bytes in an ack", `{"type":"DELIVERY_ACK","messageId":"1` + "\xff" + `"}`, "", ""},
		{"invalid bytes in an ignored field", `{"type":"DELIVERY_ACK","messageId":"1","x":"` + "\xff" + `"}`, "", "1"},
		{"invalid bytes in the type", `{"type":"MESSAGE_SEND` + "\xff" + `","clientMessageId":"c1"}`, "c1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeFrame([]byte(tt.in))
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Code != CodeBadFrame || !strings.Contains(fe.Message, "UTF-8") {
				t.Fatalf("DecodeFrame(%q) = %+v, %v; want BAD_FRAME about UTF-8", tt.in, f, err)
			}
			if fe.ClientMessageID != tt.wantCMID || fe.MessageID != tt.wantMID {
				t.Fatalf("error names cmid %q mid %q, want %q %q", fe.ClientMessageID, fe.MessageID, tt.wantCMID, tt.wantMID)
			}
			if f.Content != "" || strings.ContainsRune(f.ClientMessageID+f.MessageID+f.Type, '\uFFFD') {
				t.Fatalf("refused frame leaks rewritten fields: %+v", f)
			}
		})
	}
}

func TestDecodeFrameKeepsValidUnicode(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"literal U+FFFD", "a\uFFFDb", "a\uFFFDb"},
		{"escaped U+FFFD", `a\ufffdb`, "a\uFFFDb"},
		{"escaped U+FFFD upper case", `\uFFFD`, "\uFFFD"},
		{"surrogate pair", `\ud83d\ude00`, "😀"},
		{"raw emoji and accents", "😀 é ñ", "😀 é ñ"},
		{"escaped backslash before u", `\\ud800`, `\ud800`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"` + tt.content + `"}`
			f, err := DecodeFrame([]byte(in))
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			if f.Content != tt.want {
				t.Fatalf("content %q, want %q", f.Content, tt.want)
			}
		})
	}
}

func TestCheckJSONText(t *testing.T) {
	tests := []struct {
		in     string
		wantOK bool
	}{
		{`{"password":"` + strings.Repeat("\xff", 8) + `"}`, false},
		{`{"password":"` + strings.Repeat("\xfe", 8) + `"}`, false},
		{`{"password":"\ud800\ud800"}`, false},
		{`{"password":"\udfff"}`, false},
		{`{"password":"x\ud800"}`, false},
		{`{"password":"\ud83d\ude00"}`, true},
		{`{"password":"\\ud800"}`, true},
		{`{"password":"\\\ud83d\ude00"}`, true},
		{`{"password":"\ufffd` + "\uFFFD" + `"}`, true},
		{`{"password":"\"\u00e9"}`, true},
	}
	for _, tt := range tests {
		err := CheckJSONText([]byte(tt.in))
		if (err == nil) != tt.wantOK {
			t.Errorf("CheckJSONText(%q) = %v, want ok %v", tt.in, err, tt.wantOK)
		}
		if err != nil && !errors.Is(err, ErrNotUTF8) {
			t.Errorf("CheckJSONText(%q) = %v, want ErrNotUTF8", tt.in, err)
		}
	}
}
