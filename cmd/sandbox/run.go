package main

import (
	"fmt"
	"io"
)

// runScenarios is not built yet.
func runScenarios(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sandbox: run is not built yet")
	return 2
}
