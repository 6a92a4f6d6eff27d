package main

import (
	"fmt"
	"io"
)

// runBench is not built yet.
func runBench(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sandbox: bench is not built yet")
	return 2
}
