// Package residency gives back to the system the pages of the program's own
// executable that start-up touched and serving does not use.
//
// A Go binary with client-go registers every Kubernetes API type at start
// (init functions that walk type metadata), and the kernel maps pages
// around each one it faults in: an idle clusterdns holds about 26 MiB of
// its executable, of which the query path and the informers use a small
// part. ReleaseExecutable asks the kernel to reclaim the file-backed
// pages of the executable's read-only and executable mappings
// (MADV_PAGEOUT), after marking them MADV_RANDOM so that a fault brings
// back its own page and not the 64 KiB around it; the ones still in use
// fault back in at once, from the page cache, and the rest stop counting
// in the process's resident set and in its container's working set.
//
// The kernel leaves alone pages another process maps too (a second
// replica started from the same file on the same node): those are shared,
// and counted in each.
//
// It does not touch anonymous memory (the heap is the Go runtime's
// business) or writable mappings, and does nothing on systems without
// MADV_PAGEOUT (Linux before 5.4, other kernels).
package residency

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mapping is one region of /proc/self/maps.
type Mapping struct {
	Start, End uint64
	Perms      string // "r-xp", ...
	Path       string
}

// ParseMaps reads /proc/<pid>/maps lines, keeping the named ones (files,
// and the kernel's such as [stack]).
func ParseMaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue // anonymous memory
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps line %q: no address range", sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end < start {
			return nil, fmt.Errorf("maps line %q: bad address range", sc.Text())
		}
		out = append(out, Mapping{Start: start, End: end, Perms: f[1], Path: strings.Join(f[5:], " ")})
	}
	return out, sc.Err()
}

// Releasable are the mappings of the executable at path that are not
// writable: its text and read-only data.
func Releasable(maps []Mapping, path string) []Mapping {
	var out []Mapping
	for _, m := range maps {
		if m.Path == path && len(m.Perms) >= 2 && m.Perms[0] == 'r' && m.Perms[1] == '-' {
			out = append(out, m)
		}
	}
	return out
}

// ReleaseExecutable pages out the executable's read-only mappings and
// returns how many bytes they span.
func ReleaseExecutable() (uint64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding the executable: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("reading the mappings: %w", err)
	}
	defer f.Close()
	maps, err := ParseMaps(f)
	if err != nil {
		return 0, err
	}
	rel := Releasable(maps, exe)
	if len(rel) == 0 {
		return 0, fmt.Errorf("no mapping of %s in /proc/self/maps", exe)
	}
	var n uint64
	for _, m := range rel {
		if err := pageOut(m.Start, m.End-m.Start); err != nil {
			return n, fmt.Errorf("paging out %x-%x of %s: %w", m.Start, m.End, exe, err)
		}
		n += m.End - m.Start
	}
	return n, nil
}
