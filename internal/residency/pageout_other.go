//go:build !linux

package residency

import "errors"

func pageOut(addr, length uint64) error {
	return errors.New("MADV_PAGEOUT is Linux's")
}
