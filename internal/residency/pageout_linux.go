package residency

import "golang.org/x/sys/unix"

// pageOut is madvise(MADV_PAGEOUT) on an address range of this process,
// given as numbers: the range is not Go memory, so no pointer is made.
func pageOut(addr, length uint64) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(addr), uintptr(length), unix.MADV_PAGEOUT)
	if errno != 0 {
		return errno
	}
	return nil
}
