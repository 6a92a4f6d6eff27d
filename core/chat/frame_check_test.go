package chat

import (
	"testing"
	"time"
)

func TestIsMessageFrameOf(t *testing.T) {
	m := Message{ID: "01JF3Q7Z5B7W3XK4N4Q8C2V6RD", SenderID: "u1", RecipientID: "u2",
		Content: "hi", CreatedAt: time.Unix(0, 0)}
	frame := MessageFrame(m).Encode()
	odd := m
	odd.ID = `a"<b>`
	oddFrame := MessageFrame(odd).Encode()
	tests := []struct {
		name  string
		frame []byte
		id    string
		want  bool
	}{
		{"its frame", frame, m.ID, true},
		{"an id needing escapes", oddFrame, odd.ID, true},
		{"another id", frame, "01JF3Q7Z5B7W3XK4N4Q8C2V6RE", false},
		{"a prefix of the id", frame, m.ID[:10], false},
		{"the id extended", frame, m.ID + "X", false},
		{"not a MESSAGE", StateFrame(m.ID).Encode(), m.ID, false},
		{"an ack", AckFrame(m).Encode(), m.ID, false},
		{"cut short", frame[:len(frame)-1], m.ID, false},
		{"empty", nil, m.ID, false},
		{"just the prefix", []byte(messageFramePrefix), m.ID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsMessageFrameOf(tt.frame, tt.id); got != tt.want {
				t.Fatalf("IsMessageFrameOf(%q, %q) = %v, want %v", tt.frame, tt.id, got, tt.want)
			}
		})
	}
}

func TestIsMessageFrameOfAllocatesNothing(t *testing.T) {
	m := Message{ID: "01JF3Q7Z5B7W3XK4N4Q8C2V6RD", SenderID: "u1", RecipientID: "u2", Content: "hi"}
	frame := MessageFrame(m).Encode()
	if n := testing.AllocsPerRun(100, func() { IsMessageFrameOf(frame, m.ID) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
