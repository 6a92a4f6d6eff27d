package logging

import (
	"io"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// BenchmarkProductionLine is one production line of the kind logged per
// message (chat_message_delivered_local), to a discarding output.
func BenchmarkProductionLine(b *testing.B) {
	log := New(Options{Production: true, InstanceID: "A", Output: zapcore.AddSync(io.Discard)}).Named("Node")
	b.ReportAllocs()
	for b.Loop() {
		if ce := log.Check(zap.InfoLevel, "chat_message_delivered_local"); ce != nil {
			ce.Write(zap.String("messageId", "123456"), zap.String("recipientId", "u2"), zap.Int("sockets", 1))
		}
	}
}
