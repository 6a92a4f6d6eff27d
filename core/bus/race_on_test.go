//go:build race

package bus

// raceEnabled: the race detector makes sync.Pool drop items at random (the
// JSON codec pools its buffers), so allocation counts mean nothing under it.
const raceEnabled = true
