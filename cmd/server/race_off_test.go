//go:build !race

package main

// raceEnabled tells TestMain to build the server binary with -race too.
const raceEnabled = false
