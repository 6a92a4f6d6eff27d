package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/logging/logtest"
	"github.com/dmchat/dmchat/core/server"
)

// A shutdown that runs out of time says what it was waiting for: here a
// connection that never sent its request, which net/http waits for.
func TestShutdownOutOfTimeNamesWhatItWaitedFor(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := logtest.New(t)
	srv, err := server.New(context.Background(), server.Options{Config: testConfig(), Listener: l,
		LogCores: []zapcore.Core{rec.Core()}, LogOutput: zapcore.AddSync(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The kernel hands connections to Accept in order: once a later one is
	// served, c has been accepted and net/http counts it.
	hc := &http.Client{Transport: &http.Transport{}}
	resp, err := hc.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a silent connection open: %v, want the deadline", err)
	}
	got := rec.Events("Server", "shutdown_incomplete")
	if len(got) != 1 {
		t.Fatalf("%d shutdown_incomplete lines, want 1", len(got))
	}
	if waiting, _ := got[0].Fields["waiting"].([]any); !slices.Contains(waiting, any("http requests")) {
		t.Fatalf("shutdown_incomplete waiting %v, want http requests", got[0].Fields["waiting"])
	}
}
