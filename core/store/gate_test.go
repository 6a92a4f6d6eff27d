package store

import (
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	var g gate
	if !g.enter() {
		t.Fatal("a new gate refused a call")
	}
	shut := make(chan bool)
	go func() { shut <- g.shut() }()
	// shut must wait for the call inside; new calls are refused meanwhile.
	deadline := time.Now().Add(5 * time.Second)
	for g.enter() {
		g.leave()
		if time.Now().After(deadline) {
			t.Fatal("gate still admits calls after shut began")
		}
		time.Sleep(time.Millisecond) // polling for shut to take the lock
	}
	select {
	case <-shut:
		t.Fatal("shut returned with a call still inside")
	case <-time.After(20 * time.Millisecond):
	}
	g.leave()
	select {
	case first := <-shut:
		if !first {
			t.Fatal("first shut reported false")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shut did not return after the last call left")
	}
	if g.shut() {
		t.Fatal("second shut reported true")
	}
}
