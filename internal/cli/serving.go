package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/clusterdns/clusterdns/internal/autopath"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/cache"
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/forward"
	"github.com/clusterdns/clusterdns/internal/heapbound"
	"github.com/clusterdns/clusterdns/internal/metrics"
	"github.com/clusterdns/clusterdns/internal/outside"
	"github.com/clusterdns/clusterdns/internal/residency"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/transfer"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// serving builds snapshots from states and hands them to the server: the
// serving loop. It numbers the snapshots (zone.NextSerial), keeps what
// /ready and the metrics say, and frees memory when a state is replaced.
type serving struct {
	opts   zone.Options
	srv    *server.Server
	log    *slog.Logger
	serial atomic.Uint32 // of the last snapshot served

	// live source: the current snapshot, updated in place by changes.
	cur    *zone.Snapshot
	synced atomic.Bool
	// stopping is set in lame duck mode: /ready says so while answering.
	stopping atomic.Bool
	// lost, when set, is why the source no longer follows its input (a
	// watched manifest directory that went away): the last good state is
	// served, and /ready says why it is not ready.
	lost atomic.Pointer[error]

	metrics *metrics.Metrics
	// loop finds a forwarding loop at start (with --upstream).
	loop *outside.LoopDetector
	// notifier sends NOTIFY to the zone's secondaries when the serial
	// moves (--transfer-to); nil without transfers.
	notifier *transfer.Notifier
	// reloader re-reads the Corefile (its reload plugin).
	reloader *corefileReloader
	// stopHosts ends the reload loop of the hosts table in use.
	stopHosts context.CancelFunc

	// gcPercent is the collector's target once the first state is served
	// (-1: leave GOGC's); until then Go's default lets the first list and
	// build run with fewer collections.
	gcPercent int
	// heapMargin is heapbound's margin while the informers re-list; 0:
	// off.
	heapMargin float64
	// relistUntil is when the informers' re-list is taken to be over,
	// in Unix nanoseconds (see listStarted); 0: no re-list.
	relistUntil atomic.Int64
	// relistWake tells the memory limit's follower that a re-list
	// started (capacity 1; made with the serving).
	relistWake chan struct{}
	// ctx ends with serve (the memory limit's follower).
	ctx context.Context
}

// nextSerial is the serial of the next snapshot.
func (sv *serving) nextSerial() uint32 {
	return zone.NextSerial(sv.serial.Load(), time.Now())
}

// settle is called once the first full state is served: the collector
// takes its steady target, and the garbage of the first list and build
// (several times the size of what stays) goes back to the system now
// rather than over minutes. Once more a little later: at the moment of
// the sync, the source still holds the list's last buffers and the full
// change, a fifth of the heap at 150k endpoints, which the low target
// would otherwise keep until the zone next changes.
func (sv *serving) settle() {
	if sv.gcPercent >= 0 {
		debug.SetGCPercent(sv.gcPercent)
	}
	go func() {
		debug.FreeOSMemory()
		time.Sleep(2 * time.Second)
		debug.FreeOSMemory()
		if sv.heapMargin > 0 {
			go heapbound.Follow(sv.ctx, heapbound.Options{Margin: sv.heapMargin, Log: sv.log, Active: sv.relisting, Wake: sv.relistWake})
		}
		// The executable's pages that start-up alone used (the API
		// types' registration) go back too; serving's fault back in.
		if n, err := residency.ReleaseExecutable(); err != nil {
			sv.log.Warn("could not release the executable's start-up pages", "err", err)
		} else {
			sv.log.Info("released the executable's start-up pages", "mapped", n)
		}
	}()
}

// built records a new snapshot in the metrics.
func (sv *serving) built(start time.Time, snap *zone.Snapshot) {
	if sv.metrics != nil {
		sv.metrics.SnapshotBuilt(time.Since(start), snap.Stats)
	}
}

// Apply updates the current snapshot with a change from the live source and
// serves it (kube.Sink).
func (sv *serving) Apply(ch zone.Change) {
	start := time.Now()
	ch.Serial = sv.nextSerial()
	prev := sv.cur
	sv.cur = sv.cur.Update(ch) // keeps the serial when the content is the same
	sv.built(start, sv.cur)
	sv.publish(prev, sv.cur)
	sv.srv.Swap(sv.cur, sv.synced.Load())
}

// publish records a new snapshot's serial, and tells the secondaries
// (NOTIFY) when it moved.
func (sv *serving) publish(prev, cur *zone.Snapshot) {
	sv.serial.Store(cur.Serial)
	if sv.notifier != nil && (prev == nil || prev.Serial != cur.Serial) {
		sv.notifier.Changed(cur.Serial)
	}
}

// Synced marks the live state complete: NXDOMAIN is NXDOMAIN from now on.
func (sv *serving) Synced() {
	sv.synced.Store(true)
	sv.srv.SetSynced(true)
	if sv.metrics != nil {
		sv.metrics.SetSynced(true)
	}
	sv.settle()
}

// serveState builds the snapshot of a whole state and serves it.
func (sv *serving) serveState(state *cluster.State) (*zone.Snapshot, error) {
	start := time.Now()
	o := sv.opts
	prev := sv.srv.Snapshot()
	o.Serial = sv.serial.Load()
	snap, err := zone.Build(state, o)
	if err != nil {
		return nil, err
	}
	if !snap.SameContent(prev) {
		snap = snap.WithSerial(sv.nextSerial())
	}
	sv.built(start, snap)
	sv.publish(prev, snap)
	sv.srv.Swap(snap, true)
	return snap, nil
}

// ready says why the server is not ready (nil: it is).
func (sv *serving) ready() error {
	switch {
	case sv.stopping.Load():
		return errors.New("shutting down")
	case !sv.synced.Load():
		return errors.New("the cluster state is not synced yet")
	}
	if err := sv.lost.Load(); err != nil {
		return fmt.Errorf("not following the manifests: %w", *err)
	}
	return nil
}

// following records whether the source follows its input, with a log line
// and the metric when that changes.
func (sv *serving) following(err error) {
	was := sv.lost.Load()
	switch {
	case err == nil && was != nil:
		sv.lost.Store(nil)
		sv.log.Info("following the manifests again")
	case err != nil && was == nil:
		sv.lost.Store(&err)
		sv.log.Error("stopped following the manifests; serving the last good state until they can be watched again", "err", err)
	case err != nil:
		sv.lost.Store(&err)
		return
	default:
		return
	}
	if sv.metrics != nil {
		sv.metrics.SetFollowing(err == nil)
	}
}

// followManifests serves each state the manifests load to after a change
// until ctx is done, keeping the last good one when a load or build fails.
// watching is closed once the files are watched (or cannot be).
func (sv *serving) followManifests(ctx context.Context, f *stateFlags, delay time.Duration, watching chan<- struct{}) {
	var once sync.Once
	started := func() { once.Do(func() { close(watching) }) }
	defer started()
	o, err := f.manifestOptions()
	if err == nil {
		err = manifest.Watch(ctx, f.manifests, o, manifest.WatchOptions{
			Delay:       delay,
			OnWatching:  started,
			OnState:     sv.reloaded,
			OnError:     func(err error) { sv.reloadFailed("reload failed; still serving the last good state", err) },
			OnFollowing: sv.following,
			Logger:      sv.log,
		})
	}
	if err != nil {
		sv.following(err)
	}
}

// reloaded serves a state the manifests loaded to after a change.
func (sv *serving) reloaded(state *cluster.State) {
	snap, err := sv.serveState(state)
	if err != nil {
		sv.reloadFailed("rebuild failed; still serving the last good state", err)
		return
	}
	sv.log.Info("zone reloaded", "services", snap.Stats.Services, "names", snap.Stats.Names, "records", snap.Stats.Records, "serial", snap.Serial)
	debug.FreeOSMemory() // the old state and the load's garbage
}

// reloadFailed logs and counts a failed reload, and gives the memory the
// failed load took back to the system: a hostile or broken manifest must
// not leave a serving process larger than before.
func (sv *serving) reloadFailed(msg string, err error) {
	sv.log.Error(msg, "err", err)
	if sv.metrics != nil {
		sv.metrics.ReloadFailed()
	}
	debug.FreeOSMemory()
}

// recorderSet are the metrics recorders of forwarding and of the caches
// (one per server block, by its zones); nil recorders when metrics are
// off.
type recorderSet struct {
	forward  forward.Recorder
	cache    func(zones string) cache.Recorder
	autopath autopath.Recorder
}

func (sv *serving) recorders() recorderSet {
	if sv.metrics == nil {
		return recorderSet{cache: func(string) cache.Recorder { return nil }}
	}
	return recorderSet{forward: sv.metrics.ForwardRecorder(), cache: sv.metrics.CacheRecorder, autopath: sv.metrics.AutopathRecorder()}
}

// relistFor is how long after an informer starts to re-list the memory
// limit applies. The re-lists of bench memory (10k Services) are answered
// within seconds of their first request; at 50k Services (bench scale) a
// minute held the re-list peak to 1.25x the steady RSS.
const relistFor = time.Minute

// relisting reports whether an informer started a re-list within
// relistFor.
func (sv *serving) relisting() bool { return time.Now().UnixNano() < sv.relistUntil.Load() }

// listStarted is the live source's OnList. A list before the first sync is
// the start-up's own, which the limit leaves alone (GOGC's default then
// keeps the start fast); one after it is a re-list.
func (sv *serving) listStarted() {
	if sv.synced.Load() {
		sv.relistUntil.Store(time.Now().Add(relistFor).UnixNano())
		// The limit now, not at the follower's next tick: a re-list of
		// 10k Services is over in about a second.
		select {
		case sv.relistWake <- struct{}{}:
		default:
		}
	}
}
