package residency

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const maps = `00400000-01544000 r-xp 00000000 103:01 123 /usr/bin/clusterdns
01544000-0273e000 r--p 01144000 103:01 123 /usr/bin/clusterdns
0273e000-027f5000 rw-p 0233e000 103:01 123 /usr/bin/clusterdns
027f5000-02bd0000 rw-p 00000000 00:00 0
c000000000-c004000000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 103:01 456 /usr/lib/with space.so
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
`

// Only the executable's mappings that are not writable are given back:
// never the heap, the stack, writable data or another file.
func TestReleasableIsTheExecutablesReadOnlyMappings(t *testing.T) {
	ms, err := ParseMaps(strings.NewReader(maps))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 { // the two unnamed lines are skipped
		t.Fatalf("parsed %d named mappings, want 5: %+v", len(ms), ms)
	}
	if ms[3].Path != "/usr/lib/with space.so" {
		t.Errorf("path with a space: %q", ms[3].Path)
	}
	rel := Releasable(ms, "/usr/bin/clusterdns")
	want := []Mapping{
		{Start: 0x400000, End: 0x1544000, Perms: "r-xp", Path: "/usr/bin/clusterdns"},
		{Start: 0x1544000, End: 0x273e000, Perms: "r--p", Path: "/usr/bin/clusterdns"},
	}
	if len(rel) != len(want) || rel[0] != want[0] || rel[1] != want[1] {
		t.Errorf("releasable %+v, want %+v", rel, want)
	}
}

func TestParseMapsRejectsABrokenRange(t *testing.T) {
	for _, line := range []string{
		"00400000 r-xp 00000000 103:01 123 /bin/x",
		"zz-01 r-xp 00000000 103:01 123 /bin/x",
		"02-01 r-xp 00000000 103:01 123 /bin/x",
	} {
		if _, err := ParseMaps(strings.NewReader(line)); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

// On Linux the test binary's own pages are paged out without error (a
// kernel before 5.4 answers EINVAL: skipped).
func TestReleaseExecutable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MADV_PAGEOUT is Linux's")
	}
	n, err := ReleaseExecutable()
	if errors.Is(err, unix.EINVAL) {
		t.Skip("kernel without MADV_PAGEOUT:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	fi, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n > uint64(fi.Size())+1<<20 {
		t.Errorf("released %d bytes of a %d-byte executable", n, fi.Size())
	}
}
