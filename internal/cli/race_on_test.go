//go:build race

package cli

// raceEnabled: the race detector slows everything, shutdown included.
const raceEnabled = true
