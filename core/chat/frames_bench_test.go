package chat

import (
	"testing"
	"time"
)

// Benchmarks of the per-frame work on the hot path: every MESSAGE_SEND and
// DELIVERY_ACK is decoded once, every MESSAGE_ACK, MESSAGE and
// MESSAGE_STATE encoded once. Run with -benchmem.

var benchSend = []byte(`{"type":"MESSAGE_SEND","clientMessageId":"b1a2b3c4-123456","recipientId":"8f14e45fceea167a","content":"k=123456;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)

var benchAck = []byte(`{"type":"DELIVERY_ACK","messageId":"123456"}`)

var benchMessage = Message{ID: "123456", SenderID: "45c48cce2e2d7fbd", RecipientID: "8f14e45fceea167a",
	ClientMessageID: "b1a2b3c4-123456", Content: "k=123456;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, bc := range []struct {
		name  string
		frame []byte
	}{{"send", benchSend}, {"deliveryAck", benchAck}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.frame)))
			for b.Loop() {
				if _, err := DecodeFrame(bc.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	for _, bc := range []struct {
		name  string
		frame func() OutFrame
	}{
		{"message", func() OutFrame { return MessageFrame(benchMessage) }},
		{"ack", func() OutFrame { return AckFrame(benchMessage) }},
		{"state", func() OutFrame { return StateFrame(benchMessage.ID) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(bc.frame().Encode()) == 0 {
					b.Fatal("empty frame")
				}
			}
		})
	}
}
