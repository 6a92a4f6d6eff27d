package httpapi

import (
	"bytes"
	"testing"
)

// BenchmarkReadMessage is the read path of one small message from a
// client, as the read loop takes it (coder/websocket's Reader over the
// corkConn, into a pooled buffer): the client's frames arrive 64 to a
// write, so the system calls weigh little. Compare instructions per op
// under callgrind, not time.
func BenchmarkReadMessage(b *testing.B) {
	nc, server := rawClient(b)
	frame := maskedText(`{"type":"DELIVERY_ACK","messageId":"01JDQ5X8Z6T4W3V2R1P0N9M8K7"}`)
	batch := bytes.Repeat(frame, 64)
	go func() {
		for n := 0; n < b.N; n += 64 {
			if _, err := nc.Write(batch); err != nil {
				return
			}
		}
	}()
	var buf bytes.Buffer
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		readBenchMessage(ctx, b, server, &buf)
	}
}
