package bus

import (
	"context"
	"testing"

	"github.com/dmchat/dmchat/core/testsvc"
)

// TestRedisOutageRealServer: the outage scenario against a real
// redis-server killed with SIGKILL and restarted on the same port.
func TestRedisOutageRealServer(t *testing.T) {
	t.Parallel()
	srv := testsvc.StartRedis(t)
	a, b := twoBusesAt(t, srv.Addr())
	checkOutage(t, a, b, srv.Kill, srv.Start)
}

// TestRedisDownAtStartRealServer: a real redis-server appearing after
// Start gave up is picked up in the background.
func TestRedisDownAtStartRealServer(t *testing.T) {
	t.Parallel()
	srv := testsvc.StartRedis(t)
	srv.Kill()
	a := newTestBus(t, srv.Addr(), "A")
	a.Start(context.Background(), a.rec)
	if a.State() != StateDisabled || len(a.entries("bus_disabled")) != 1 {
		t.Fatalf("State = %v; bus_disabled entries: %d", a.State(), len(a.entries("bus_disabled")))
	}
	srv.Start()
	a.rec.wait(t, "BusRestored", func(r *recorder) bool { return r.restored == 1 })
	if err := a.Publish(context.Background(), Event{Kind: KindMessage, MessageID: "m"}); err != nil {
		t.Fatal(err)
	}
	a.rec.waitEvent(t, "own message", isMessage("m"))
}
