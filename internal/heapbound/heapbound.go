// Package heapbound keeps the Go runtime's soft memory limit a margin
// above what the live heap needs, and moves it as the live heap moves over
// minutes, not seconds.
//
// A serving clusterdns allocates almost nothing: queries allocate nothing
// and zone changes little. What makes its heap grow is a transient: a
// re-list after the API server restarted or a watch expired streams the
// whole cluster again, and for a few seconds the live heap holds the
// stream's buffers and client-go's bookkeeping on top of the state, while
// the decoding garbage runs the heap up to the collector's goal, GOGC
// percent over that larger live heap. That peak is what a container's
// memory limit must allow for. With a limit from Follow, the collector
// works harder during the transient instead: the heap stays within the
// margin of what the steady state needs, at the cost of CPU while it
// lasts.
//
// The limit follows the least live heap seen over a window (a minute by
// default), so a cluster that grows for good raises it within that
// window; until then the runtime caps the collector's CPU (at half of
// GOMAXPROCS), so the cost of a limit set too low is CPU, never a stall.
//
// What it costs: under steady churn a limit from the window's least live
// heap is too tight. On a 1k-service state under 100 endpoint changes a
// second, a 15% margin made the collector run about 50 times a second,
// and a 25% margin (GOGC's own at rest) still 30-50 times. Why is not
// established (the suspects: a changing zone's live heap moving by more
// than the margin of its least value, or the overhead as read between
// collections). Options.Active confines the limit to when it is worth
// its cost: serve turns it on only while the informers re-list.
//
// Follow does nothing when GOMEMLIMIT is set: the operator's limit wins.
// It does not touch GOGC, and does not return memory to the system (the
// runtime's scavenger does, toward the limit).
package heapbound

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Options configure Follow. The zero value of a field takes its default.
type Options struct {
	// Margin is the limit's allowance over the live heap, as a fraction
	// of it (default 0.15): the collector's target while the live heap
	// is at its least of the window, and all the room a transient gets.
	Margin float64
	// Window is how long a lower live heap keeps the limit down (default
	// one minute): a transient shorter than this is held to the limit.
	Window time.Duration
	// Every is how often the limit is set again (default 2 s).
	Every time.Duration
	// Active, if set, says when the limit applies: while it returns
	// false the live heap is still sampled, but the limit Follow found is
	// in force (none, usually). serve limits only re-lists this way: a
	// limit under steady churn makes the collector run constantly (see
	// the package doc).
	Active func() bool
	// Wake, if set, makes Follow set the limit at once rather than at
	// its next tick (when Active has just turned true).
	Wake <-chan struct{}
	// Log receives a line when following starts, with the first limit,
	// and one whenever Active changes.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Margin <= 0 {
		o.Margin = 0.15
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Follow sets the runtime's memory limit from the live heap until ctx is
// done, then restores the limit it found. It returns at once when
// GOMEMLIMIT is set; otherwise it blocks, so run it in a goroutine.
func Follow(ctx context.Context, o Options) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	o.defaults()
	previous := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(previous)
	f := newFollower(o)
	u := read()
	if u.live == 0 {
		// No collection yet: the live heap is unknown, and a limit
		// from it would be the overhead alone.
		runtime.GC()
		u = read()
	}
	active := o.Active == nil || o.Active()
	limit := f.limit(u, time.Now())
	if active {
		debug.SetMemoryLimit(limit)
	}
	o.Log.Info("memory limit follows the live heap", "limit_mib", limit>>20, "margin", o.Margin, "window", o.Window, "active", active)
	t := time.NewTicker(o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.Wake:
		case <-t.C:
		}
		limit := f.limit(read(), time.Now())
		was := active
		active = o.Active == nil || o.Active()
		if !active {
			limit = previous
		}
		debug.SetMemoryLimit(limit)
		switch {
		case active && !was:
			o.Log.Info("memory limit on", "limit_mib", limit>>20)
		case !active && was:
			o.Log.Info("memory limit off")
		}
	}
}

// usage is what the limit is computed from, in bytes (runtime/metrics).
type usage struct {
	live int64 // the live heap at the last collection
	// overhead is what the runtime holds besides heap objects and free
	// heap: stacks, span and GC metadata, and heap space inside spans
	// that objects do not use (fragmentation). It counts against the
	// limit but does not grow with a transient's garbage.
	overhead int64
}

var names = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
}

func read() usage {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(min(s[i].Value.Uint64(), math.MaxInt64))
	}
	return usage{
		live:     v(0),
		overhead: v(1) - v(2) - v(3) - v(4),
	}
}

// follower keeps the window's live heap samples.
type follower struct {
	o       Options
	samples []sample
}

type sample struct {
	at   time.Time
	live int64
}

func newFollower(o Options) *follower { return &follower{o: o} }

// limit records u and returns the limit: the overhead now plus the
// window's least live heap and its margin. Samples older than the window
// are dropped; the newest is always kept.
func (f *follower) limit(u usage, now time.Time) int64 {
	f.samples = append(f.samples, sample{now, u.live})
	keep := 0
	for keep < len(f.samples)-1 && now.Sub(f.samples[keep].at) > f.o.Window {
		keep++
	}
	f.samples = f.samples[keep:]
	least := f.samples[0].live
	for _, s := range f.samples[1:] {
		least = min(least, s.live)
	}
	return max(u.overhead, 0) + least + int64(float64(least)*f.o.Margin)
}
