package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/hub"
)

// TestShutdownWaitsForTheCloseHandshake: the close handshake of a real
// socket runs in a goroutine the hub tracks, so Shutdown waits for it
// (within its deadline) while the peer has not answered the close frame,
// and nothing is left running once the peer has.
func TestShutdownWaitsForTheCloseHandshake(t *testing.T) {
	ctx, client, server, _ := dialCorked(t)
	// The dial's own goroutines are the test's; what the hub starts from
	// here on must be gone at the end.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := hub.New(hub.Options{})
	c := h.NewSocket("bob", chat.RoleUser, server)
	if err := h.Register(c); err != nil {
		t.Fatal(err)
	}

	// The client reads nothing yet, so the server's close frame gets no
	// answer and the handshake is still running at the deadline.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with the handshake unanswered = %v, want DeadlineExceeded", err)
	}

	// Reading answers the close frame (coder/websocket does), which ends
	// the server's handshake.
	_, _, err := client.Read(ctx)
	if code := websocket.CloseStatus(err); code != chat.CloseGoingAway {
		t.Fatalf("client saw %v (code %d), want close %d", err, code, chat.CloseGoingAway)
	}
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after the peer answered = %v, want nil", err)
	}
}
