//go:build !linux && !darwin

package bench

// RaiseFileLimit does nothing here and returns 0, "unknown": Windows has
// no per-process descriptor limit to raise, and the BSDs' Rlimit fields
// differ in type (the tool then runs with the limit it was given).
func RaiseFileLimit(uint64) uint64 { return 0 }
