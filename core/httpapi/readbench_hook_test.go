package httpapi

import (
	"bytes"
	"context"
	"testing"
)

// readBenchMessage reads one message as readFrame does.
func readBenchMessage(ctx context.Context, b *testing.B, server wsConn, buf *bytes.Buffer) {
	server.cork.between.Store(true)
	_, r, err := server.c.Reader(ctx)
	server.cork.between.Store(false)
	if err != nil {
		b.Fatal(err)
	}
	server.cork.messages.Add(1)
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		b.Fatal(err)
	}
}
