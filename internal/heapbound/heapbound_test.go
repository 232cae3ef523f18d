package heapbound

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

const mib = 1 << 20

// The limit is the overhead now, plus the least live heap of the window
// and its margin: a transient (the live heap up for less than the window)
// does not raise it; growth that lasts the window does; a fall lowers it
// at once.
func TestLimitFollowsTheWindowsLeastLiveHeap(t *testing.T) {
	f := newFollower(Options{Margin: 0.25, Window: time.Minute, Every: 2 * time.Second})
	t0 := time.Unix(1_700_000_000, 0)
	steps := []struct {
		name     string
		after    time.Duration
		live     int64
		overhead int64
		want     int64
	}{
		{"steady", 0, 80 * mib, 20 * mib, 20*mib + 100*mib},
		{"a re-list doubles the live heap", 2 * time.Second, 160 * mib, 20 * mib, 20*mib + 100*mib},
		{"the overhead counts as it is now", 4 * time.Second, 160 * mib, 30 * mib, 30*mib + 100*mib},
		{"back to steady", 10 * time.Second, 80 * mib, 20 * mib, 20*mib + 100*mib},
		{"the cluster grows for good", 20 * time.Second, 120 * mib, 20 * mib, 20*mib + 100*mib},
		{"still growing, within the window", 70 * time.Second, 120 * mib, 20 * mib, 20*mib + 100*mib},
		{"the window has passed: the limit follows", 81 * time.Second, 120 * mib, 20 * mib, 20*mib + 150*mib},
		{"a fall lowers it at once", 83 * time.Second, 40 * mib, 20 * mib, 20*mib + 50*mib},
	}
	for _, s := range steps {
		got := f.limit(usage{live: s.live, overhead: s.overhead}, t0.Add(s.after))
		if got != s.want {
			t.Errorf("%s: limit %d MiB, want %d MiB", s.name, got/mib, s.want/mib)
		}
	}
}

// A window's samples are bounded by the window, whatever the run time.
func TestSamplesStayWithinTheWindow(t *testing.T) {
	f := newFollower(Options{Margin: 0.1, Window: 10 * time.Second, Every: time.Second})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		f.limit(usage{live: int64(i) * mib}, t0.Add(time.Duration(i)*time.Second))
	}
	if len(f.samples) > 12 {
		t.Errorf("%d samples kept for a 10 s window sampled every second", len(f.samples))
	}
	if got := f.samples[0].live; got < 988*mib {
		t.Errorf("oldest sample kept is %d MiB: older than the window", got/mib)
	}
}

// Follow sets a limit while it runs and gives back the one it found.
func TestFollowSetsAndRestoresTheLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		Follow(ctx, Options{Every: 10 * time.Millisecond})
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) == before {
		if time.Now().After(deadline) {
			t.Fatal("no memory limit set while following")
		}
		time.Sleep(time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got <= 0 || got == math.MaxInt64 {
		t.Errorf("limit while following: %d", got)
	}
	cancel()
	<-done
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after following: %d, want the one before, %d", got, before)
	}
}

// An operator's GOMEMLIMIT wins: Follow returns at once and sets nothing.
func TestFollowLeavesGOMEMLIMITAlone(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "512MiB")
	before := debug.SetMemoryLimit(-1)
	done := make(chan struct{})
	go func() {
		Follow(t.Context(), Options{Every: time.Millisecond})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return with GOMEMLIMIT set")
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit changed to %d with GOMEMLIMIT set", got)
	}
}

// The usage read from the runtime is sane: a live heap, and an overhead
// that is positive (stacks and metadata at least).
func TestReadUsage(t *testing.T) {
	runtime.GC()
	u := read()
	if u.live <= 0 || u.overhead <= 0 {
		t.Errorf("usage %+v: want a live heap and an overhead", u)
	}
}

// With Active, the limit is in force only while Active says so; otherwise
// the limit Follow found is.
func TestActiveConfinesTheLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	var on atomic.Bool
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		Follow(ctx, Options{Every: 5 * time.Millisecond, Active: on.Load})
		close(done)
	}()
	waitFor := func(what string, cond func(int64) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond(debug.SetMemoryLimit(-1)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: limit %d", what, debug.SetMemoryLimit(-1))
			}
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("inactive: limit %d, want the one found (%d)", got, before)
	}
	on.Store(true)
	waitFor("active", func(l int64) bool { return l != before && l > 0 })
	on.Store(false)
	waitFor("inactive again", func(l int64) bool { return l == before })
	cancel()
	<-done
}

// Wake sets the limit at once, without waiting for the next tick.
func TestWakeSetsTheLimitAtOnce(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	var on atomic.Bool
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		Follow(ctx, Options{Every: time.Hour, Active: on.Load, Wake: wake})
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	on.Store(true)
	wake <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) == before {
		if time.Now().After(deadline) {
			t.Fatal("woken while active, but no limit set")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after Follow returned: %d, want %d", got, before)
	}
}
