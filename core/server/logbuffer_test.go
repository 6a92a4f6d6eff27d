package server_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
)

// A production server buffers its log output; what an operator or a
// supervisor waits for is still written at once, and nothing is left in the
// buffer once Shutdown returns.
func TestProductionLogBufferFlushesWhatMatters(t *testing.T) {
	sink := newLineSink()
	e := setupWith(t, func(c *config.Config) { c.Production = true; c.Env = config.EnvProduction }, nil,
		func(o *server.Options) {
			o.LogOutput = zapcore.AddSync(sink)
			o.LogFlushInterval = time.Hour // only the flushes under test write
		})
	// "listening" was logged inside Start, which has returned: no waiting.
	if !sink.has(`"msg":"listening"`) {
		t.Fatalf("the listening line is not written when Start returns:\n%s", sink.dump())
	}

	_, aliceTok := e.user("alice")
	bobID, bobTok := e.user("bob")
	alice, _ := e.dial(aliceTok)
	bob, _ := e.dial(bobTok)
	const dms = 5
	for i := range dms {
		send(t, alice, fmt.Sprintf("c%d", i), bobID, "hi")
		expectType(t, alice, chat.TypeMessageAck)
		m := expectType(t, bob, chat.TypeMessage)
		if err := bob.Ack(ctxT(t), m.MessageID); err != nil {
			t.Fatal(err)
		}
		expectType(t, alice, chat.TypeMessageState)
	}

	// A warning is written as soon as it is logged, with what was held
	// before it.
	e.srv.Logger().Named("Test").Warn("test_warning")
	if !sink.has(`"msg":"test_warning"`) {
		t.Fatalf("a warning is held in the buffer:\n%s", sink.dump())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// With an hour's interval these lines were in the buffer until now.
	if n := sink.count(`"msg":"chat_message_delivered_local"`); n != dms {
		t.Fatalf("%d chat_message_delivered_local lines after Shutdown; want %d:\n%s", n, dms, sink.dump())
	}
	if !sink.has(`"logger":"Server","msg":"stopped"`) {
		t.Fatalf("the stopped line is not written when Shutdown returns:\n%s", sink.dump())
	}
	// A goroutine that outlives the server still gets its line out.
	e.srv.Logger().Info("after_shutdown")
	if !sink.has(`"msg":"after_shutdown"`) {
		t.Fatalf("a line logged after Shutdown is held:\n%s", sink.dump())
	}
}

func (s *lineSink) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if bytes.Contains(l, []byte(sub)) {
			n++
		}
	}
	return n
}

func (s *lineSink) has(sub string) bool { return s.count(sub) > 0 }

func (s *lineSink) dump() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.lines, []byte("\n"))
}
