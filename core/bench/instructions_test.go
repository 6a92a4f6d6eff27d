package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestMain lets this test binary be the cycle child that
// TestCycleInstructionsCountsTheCyclesDifference runs under callgrind, and
// the attacker child of TestRunHostileAttackersInAChild.
func TestMain(m *testing.M) {
	if IsCycleChild(os.Args[1:]) {
		if err := RunCycleChild(context.Background(), os.Args[2:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if IsAttackChild(os.Args[1:]) {
		if err := RunAttackChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCycleInstructionsCountsTheCyclesDifference runs the real count on a
// few cycles: each run is the child under callgrind, and a cycle must
// cost instructions (two frames decoded, three encoded).
func TestCycleInstructionsCountsTheCyclesDifference(t *testing.T) {
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Skip("valgrind not installed")
	}
	ci, err := countCycleInstructions(context.Background(), []string{os.Args[0]}, "mem", 1, 20, 60)
	if err != nil {
		t.Fatal(err)
	}
	if ci.CyclesLow != 22 || ci.CyclesHigh != 66 {
		t.Fatalf("cycles counted %d and %d, want 22 and 66 (each with its warm-up)", ci.CyclesLow, ci.CyclesHigh)
	}
	// Far more than a few thousand instructions per cycle; far less than
	// what starting the process costs.
	if ci.PerDM < 5_000 || ci.PerDM > 50_000_000 {
		t.Fatalf("implausible %.0f instructions per cycle (%+v)", ci.PerDM, ci)
	}
}

// TestCycleChildNeedsValidArguments: the child refuses what it cannot run.
func TestCycleChildNeedsValidArguments(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := RunCycleChild(context.Background(), []string{"--store", "nosuch"}, &out, &errOut); err == nil {
		t.Fatal("unknown store accepted")
	}
	if err := RunCycleChild(context.Background(), []string{"--bogus"}, &out, &errOut); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if err := RunCycleChild(context.Background(), []string{"--pairs", "0"}, &out, &errOut); err == nil {
		t.Fatal("zero pairs accepted")
	}
}
