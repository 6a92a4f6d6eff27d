package testsvc

import (
	"testing"
)

// TestRedisKillStart: the server answers, is gone after Kill, and answers
// again on the same port after Start.
func TestRedisKillStart(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	addr := r.Addr()
	if err := Ping(addr); err != nil {
		t.Fatalf("Ping after StartRedis: %v", err)
	}
	r.Kill()
	r.Kill() // idempotent
	if err := Ping(addr); err == nil {
		t.Fatal("Ping succeeded after Kill")
	}
	r.Start()
	if r.Addr() != addr {
		t.Fatalf("Addr after Start = %s, want %s", r.Addr(), addr)
	}
	if err := Ping(addr); err != nil {
		t.Fatalf("Ping after Start: %v", err)
	}
	if want := "redis://" + addr + "/0"; r.URL() != want {
		t.Fatalf("URL = %q, want %q", r.URL(), want)
	}
}
