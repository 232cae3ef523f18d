package hosts

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/miekg/dns"
)

// reloadHosts builds Hosts on a file with "10.0.0.1 old.example.org" and
// an inline entry, logging into the returned buffer.
func reloadHosts(t *testing.T) (*Hosts, string, *bytes.Buffer) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hosts")
	writeAt(t, p, "10.0.0.1 old.example.org\n", time.Now().Add(-time.Hour))
	var logs bytes.Buffer
	h, err := New(&corefile.Hosts{File: p, Zones: []string{"example.org."}, TTL: 3600, Reload: time.Hour,
		Entries: []corefile.HostsEntry{inline("10.0.0.9", "inline.example.org.")}},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return h, p, &logs
}

// writeAt writes content to p with modification time mod.
func writeAt(t *testing.T, p, content string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// answers is the A records' addresses of name.
func answers(h *Hosts, name string) []string {
	var out []string
	for _, rr := range h.Lookup(name, dns.TypeA).Records {
		out = append(out, rr.(*dns.A).A.String())
	}
	return out
}

func TestReload(t *testing.T) {
	cases := []struct {
		rule string
		// change alters the file at p; the old file's mtime is an hour ago.
		change  func(t *testing.T, p string)
		old     bool // old.example.org still answered
		newName bool // new.example.org answered
	}{
		{"a changed file is read again (hostsfile.go:127-136)", func(t *testing.T, p string) {
			writeAt(t, p, "10.0.0.2 new.example.org\n", time.Now())
		}, false, true},
		{"an unchanged modification time and size is not read again (hostsfile.go:127-129)", func(t *testing.T, p string) {
			st, _ := os.Stat(p)
			// The same length as the old content.
			writeAt(t, p, "10.0.0.2 new.example.org\n", st.ModTime())
		}, true, false},
		{"a changed size alone is read again", func(t *testing.T, p string) {
			st, _ := os.Stat(p)
			writeAt(t, p, "10.0.0.2 new.example.org\n10.0.0.3 x.example.org\n", st.ModTime())
		}, false, true},
		{"a deleted file keeps the last table (README: file deleted)", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"an unreadable file (a directory) keeps the last table", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		{"a file over MaxFileSize keeps the last table", func(t *testing.T, p string) { bigFile(t, p) }, true, false},
		{"a line over 64 KiB ends the file there, as bufio.Scanner does in CoreDNS", func(t *testing.T, p string) {
			writeAt(t, p, "10.0.0.2 new.example.org\n10.0.0.3 "+strings.Repeat("x", 70000)+"\n10.0.0.1 old.example.org\n", time.Now())
		}, false, true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			h, p, _ := reloadHosts(t)
			c.change(t, p)
			if err := h.load(false); err != nil {
				t.Fatal(err)
			}
			if got := len(answers(h, "old.example.org.")) == 1; got != c.old {
				t.Errorf("old.example.org answered: %v, want %v", got, c.old)
			}
			if got := len(answers(h, "new.example.org.")) == 1; got != c.newName {
				t.Errorf("new.example.org answered: %v, want %v", got, c.newName)
			}
			if got := answers(h, "inline.example.org."); !slices.Equal(got, []string{"10.0.0.9"}) {
				t.Errorf("the inline entry is always kept: got %q", got)
			}
		})
	}
}

func TestReloadTooManyEntriesKeepsTable(t *testing.T) {
	h, p, _ := reloadHosts(t)
	defer func(n int) { maxEntries = n }(maxEntries)
	maxEntries = 3
	writeAt(t, p, "10.0.0.2 a.example.org b.example.org c.example.org new.example.org\n", time.Now())
	if err := h.load(false); err != nil {
		t.Fatal(err)
	}
	if got := answers(h, "old.example.org."); len(got) != 1 {
		t.Fatalf("the last table is kept: got %q", got)
	}
}

func TestReloadLogsAFailureOnce(t *testing.T) {
	h, p, logs := reloadHosts(t)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = h.load(false)
	}
	if n := strings.Count(logs.String(), "keeping the last table"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, logs)
	}
	writeAt(t, p, "10.0.0.2 new.example.org\n", time.Now())
	_ = h.load(false)
	if !strings.Contains(logs.String(), "read again") || len(answers(h, "new.example.org.")) != 1 {
		t.Fatalf("a restored file is read again:\n%s", logs)
	}
}

func TestRun(t *testing.T) {
	t.Run("reload 0 disables it: Run returns at once", func(t *testing.T) {
		h := newTestHosts(t, "10.0.0.1 a.example.org\n", corefile.Hosts{})
		done := make(chan struct{})
		go func() { h.Run(context.Background()); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return")
		}
	})
	t.Run("Run picks up a changed file and stops with its context", func(t *testing.T) {
		h := newTestHosts(t, "10.0.0.1 a.example.org\n", corefile.Hosts{Reload: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { h.Run(ctx); close(done) }()
		writeAt(t, h.file, "10.0.0.2 a.example.org\n", time.Now().Add(time.Minute))
		deadline := time.Now().Add(5 * time.Second)
		for !slices.Equal(answers(h, "a.example.org."), []string{"10.0.0.2"}) {
			if time.Now().After(deadline) {
				t.Fatal("the change was not picked up")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
	})
}
