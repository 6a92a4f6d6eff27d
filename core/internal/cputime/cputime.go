// Package cputime reads the CPU time this process has used: the figure the
// load tool and the Go benchmarks divide by the work done, so that a cost
// per message does not depend on how many cores were free.
package cputime

import (
	"syscall"
	"time"
)

// Self returns the CPU time (user + system) this process has used, with
// microsecond resolution, or 0 if it cannot be read.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
