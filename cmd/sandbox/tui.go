package main

import (
	"fmt"
	"io"
)

// runTUI is not built yet.
func runTUI(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sandbox: tui is not built yet")
	return 2
}
