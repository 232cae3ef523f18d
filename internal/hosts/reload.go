package hosts

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"
)

// Run re-reads the file every Reload until ctx ends, when its modification
// time or size changed since it was last read (setup.go:20-40,
// hostsfile.go:110-144). On an error the last good table stays in use and
// the error is logged once, until the next change. Run returns at once
// when Reload is 0. Call it once.
func (h *Hosts) Run(ctx context.Context) {
	if h.reloadDur <= 0 {
		return
	}
	tick := time.NewTicker(h.reloadDur)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = h.load(false)
		}
	}
}

// load reads the file if it changed and swaps in the table it makes with
// the inline entries. initial is New's first read: a missing file is only
// a warning (setup.go:97-103), other errors are returned. Later, errors
// are logged and the table kept.
func (h *Hosts) load(initial bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, err := os.Open(h.file)
	if err != nil {
		if initial && errors.Is(err, fs.ErrNotExist) {
			h.log.Warn("hosts file does not exist; serving the inline entries", "err", err)
			h.failing = err.Error()
			t, _ := h.build(nil, time.Time{})
			h.tab.Store(t)
			return nil
		}
		return h.fail(initial, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return h.fail(initial, err)
	}
	if h.seenOK && st.ModTime().Equal(h.seenMod) && st.Size() == h.seenSize {
		return nil
	}
	var t *table
	if st.Size() > MaxFileSize {
		err = errTooLarge
	} else {
		t, err = h.build(f, st.ModTime())
	}
	if err == nil || errors.Is(err, errTooLarge) || errors.Is(err, errTooManyEntries) || errors.Is(err, bufio.ErrTooLong) {
		// The same file would fail the same way: wait for a change. An
		// I/O error is tried again at the next tick.
		h.seenMod, h.seenSize, h.seenOK = st.ModTime(), st.Size(), true
	}
	if t == nil {
		return h.fail(initial, err)
	}
	if err != nil {
		h.log.Warn("hosts file read in part", "err", err)
	} else if h.failing != "" {
		h.log.Info("hosts file read again")
	}
	h.failing = ""
	h.tab.Store(t)
	h.log.Debug("hosts file read", "entries", t.entries)
	return nil
}

// fail returns err for New, and logs it (once while it lasts) for Run.
func (h *Hosts) fail(initial bool, err error) error {
	if initial {
		return err
	}
	if msg := err.Error(); msg != h.failing {
		h.failing = msg
		h.log.Error("cannot read the hosts file; keeping the last table", "err", err)
	}
	return nil
}

// build makes a table of the file in r (none if nil), then the inline
// entries. A line too long ends the file, as in CoreDNS: the table is
// returned with that error.
func (h *Hosts) build(r io.Reader, mod time.Time) (*table, error) {
	b := newBuilder(h.zones, h.reverse)
	b.t.mod = mod
	var partial error
	if r != nil {
		if err := parseHostsFile(r, b); err != nil {
			if !errors.Is(err, bufio.ErrTooLong) {
				return nil, err
			}
			partial = err
		}
	}
	for _, e := range h.inline {
		if !e.Addr.IsValid() {
			continue
		}
		addr := e.Addr.WithZone("").Unmap()
		for _, n := range e.Names {
			if err := b.add(addr, n); err != nil {
				return nil, err
			}
		}
	}
	return b.t, partial
}
