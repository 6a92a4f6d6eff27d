//go:build linux || darwin

package bench

import "syscall"

// RaiseFileLimit raises this process's open-file limit to want (soft and
// hard; raising the hard limit needs privilege) or, failing that, the soft
// limit to the hard limit. It returns the soft limit in force afterwards.
func RaiseFileLimit(want uint64) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur >= want {
		return rl.Cur
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, rl.Max)}); err == nil {
		return want
	}
	if rl.Cur < rl.Max {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: rl.Max, Max: rl.Max}); err == nil {
			return rl.Max
		}
	}
	return rl.Cur
}
