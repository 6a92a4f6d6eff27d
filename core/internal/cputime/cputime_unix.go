//go:build unix

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
