package server

import (
	"fmt"
	"log"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestHTTPErrorLinesAreBounded: net/http writes a line per failed TLS
// handshake and per panicking request (with its stack), which a client
// can cause at its request rate; the lines are bounded to a burst and then
// one a second, each with net/http's text as detail.
func TestHTTPErrorLinesAreBounded(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := log.New(newHTTPErrorWriter(zap.New(core)), "", 0)
	start := time.Now()
	const written = 4 * httpErrorBurst
	for i := range written {
		l.Printf("http: panic serving 192.0.2.1:%d: boom", 40000+i)
	}
	got := logs.All()
	if limit := httpErrorBurst + int(time.Since(start).Seconds()*httpErrorEvery) + 1; len(got) < httpErrorBurst || len(got) > limit {
		t.Fatalf("%d lines for %d of net/http's; want %d to %d", len(got), written, httpErrorBurst, limit)
	}
	first := got[0]
	if first.Message != "http_server_error" || first.Level != zapcore.WarnLevel ||
		first.ContextMap()["detail"] != fmt.Sprintf("http: panic serving 192.0.2.1:%d: boom", 40000) {
		t.Fatalf("first line %s %s %v; want http_server_error at warn with net/http's text", first.Level, first.Message, first.ContextMap())
	}
}
