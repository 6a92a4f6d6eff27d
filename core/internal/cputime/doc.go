// Package cputime reads the CPU time this process has used: the figure the
// load tool and the Go benchmarks divide by the work done, so that a cost
// per message does not depend on how many cores were free. It reads
// getrusage on Unix and GetProcessTimes on Windows; elsewhere it reports 0.
package cputime
