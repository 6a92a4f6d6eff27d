//go:build !race

package logging

// raceEnabled: see race_on_test.go.
const raceEnabled = false
