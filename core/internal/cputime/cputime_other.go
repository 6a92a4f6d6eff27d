//go:build !unix && !windows

package cputime

import "time"

// Self returns 0: this platform has no process CPU clock the package
// reads, and a 0 reads as "not measured" in reports.
func Self() time.Duration { return 0 }
