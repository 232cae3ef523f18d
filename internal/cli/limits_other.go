//go:build !unix

package cli

// fileLimit is not known here: the caps stay as configured.
func fileLimit() (uint64, bool) { return 0, false }
