package manifest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/fsnotify/fsnotify"
)

// Defaults of WatchOptions.
const (
	// DefaultReloadDelay is how long Watch waits after a change before it
	// loads, so that a burst of writes (an editor, kubectl, a ConfigMap
	// swap) is read once.
	DefaultReloadDelay = 200 * time.Millisecond
	// DefaultWatchRetry is how often Watch tries again to watch paths it
	// could not.
	DefaultWatchRetry = 2 * time.Second
)

// WatchOptions configure Watch. The callbacks are called from Watch's
// goroutine, one at a time; a nil one is not called.
type WatchOptions struct {
	// Delay is how long to wait after the last change before loading;
	// zero loads after each change at once. DefaultReloadDelay suits
	// people and tools editing files.
	Delay time.Duration
	// Retry is how often paths that cannot be watched are tried again
	// (zero: DefaultWatchRetry).
	Retry time.Duration

	// OnState receives each state that loads after a change.
	OnState func(*cluster.State)
	// OnError receives the error of each load after a change that fails
	// (the same error Load gives). Watch keeps watching; the last state
	// OnState received is still the last good one.
	OnError func(error)
	// OnFollowing says whether Watch follows every path: an error naming
	// the path it cannot watch (it does not exist, or the system refuses
	// another watch) when that happens or the reason changes, nil once
	// every path is watched again.
	OnFollowing func(error)
	// OnWatching is called once, when the first watches are added: a
	// change from then on is followed. A caller that announces it is
	// following waits for it.
	OnWatching func()
	// Logger receives the file watcher's own errors (nil: discarded).
	Logger *slog.Logger
}

// Watch follows the manifests at paths until ctx is done: when a file under
// them changes it waits Delay for the changes to settle, loads them again
// with Load and opts, and hands the result to OnState or OnError.
//
// It watches each path's parent directory as well as every directory below
// a directory path (hidden ones excepted, as Load skips them), so that a
// file replaced by an editor, or a path removed and made again (a ConfigMap
// volume's swap, a deploy that recreates a directory), is followed. While a
// path cannot be watched, OnFollowing says why and Watch tries again every
// Retry; once it can, it loads, since what changed meanwhile was not seen.
//
// Watch does not load at the start: the caller has the first state (Load)
// and decides what a broken start means; a change made between that load
// and Watch's start is seen only with the next one. It does not decide
// what to do with a state or an error (build, serve, log, keep the last
// good state): the callbacks do. It cannot follow stdin ("-").
//
// It returns nil when ctx is done, and an error only when it cannot start
// (no file watcher, a path that cannot be made absolute, stdin).
func Watch(ctx context.Context, paths []string, opts Options, wo WatchOptions) error {
	wo.Delay = max(wo.Delay, 0)
	if wo.Retry <= 0 {
		wo.Retry = DefaultWatchRetry
	}
	if wo.Logger == nil {
		wo.Logger = slog.New(slog.DiscardHandler)
	}
	roots, err := watchRoots(paths)
	if err != nil {
		return err
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("starting file watcher: %w", err)
	}
	defer fw.Close()
	w := &watcher{fw: fw, roots: roots, paths: paths, opts: opts, wo: wo}
	return w.run(ctx)
}

// watchRoots returns the paths absolute and cleaned.
func watchRoots(paths []string) ([]string, error) {
	roots := make([]string, 0, len(paths))
	for _, p := range paths {
		if p == "-" {
			return nil, errors.New("watching -: stdin cannot be watched")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", p, err)
		}
		roots = append(roots, abs)
	}
	return roots, nil
}

// watcher is one run of Watch.
type watcher struct {
	fw    *fsnotify.Watcher
	roots []string // absolute, cleaned
	paths []string // as given, for Load
	opts  Options
	wo    WatchOptions

	lost  error // why a path is not watched; nil: all are
	timer *time.Timer
	fire  <-chan time.Time // the timer's channel once a load is due
}

func (w *watcher) run(ctx context.Context) error {
	w.follow()
	if w.wo.OnWatching != nil {
		w.wo.OnWatching()
	}
	retry := time.NewTicker(w.wo.Retry)
	defer retry.Stop()
	defer func() {
		if w.timer != nil {
			w.timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fw.Events:
			if !ok {
				return nil
			}
			w.changed(ev)
		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil
			}
			// Events may have been lost (a full queue): load to be sure.
			w.wo.Logger.Warn("file watcher error", "err", err)
			w.loadSoon()
		case <-retry.C:
			if w.lost != nil && w.follow() {
				w.loadSoon() // what changed while nothing was watched
			}
		case <-w.fire:
			w.fire = nil
			w.follow()
			w.load(ctx)
		}
	}
}

// changed handles one file system event.
func (w *watcher) changed(ev fsnotify.Event) {
	if !w.relevant(ev.Name) {
		return
	}
	if ev.Has(fsnotify.Create) {
		w.follow() // a new directory under a path, or a path made again
	}
	w.loadSoon()
}

// loadSoon (re)starts the delay before the next load.
func (w *watcher) loadSoon() {
	if w.timer == nil {
		w.timer = time.NewTimer(w.wo.Delay)
	} else {
		w.timer.Reset(w.wo.Delay)
	}
	w.fire = w.timer.C
}

// load reads the manifests and reports the result.
func (w *watcher) load(ctx context.Context) {
	state, err := Load(ctx, w.paths, nil, w.opts)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		if w.wo.OnError != nil {
			w.wo.OnError(err)
		}
		return
	}
	if w.wo.OnState != nil {
		w.wo.OnState(state)
	}
}

// follow adds the watches every path needs, reports to OnFollowing when
// that changes what is followed, and reports whether every path is
// watched. Adding a watch that exists is harmless, so it is called after
// every change.
func (w *watcher) follow() bool {
	err := w.addWatches()
	changed := (err == nil) != (w.lost == nil) || (err != nil && err.Error() != w.lost.Error())
	w.lost = err
	if changed && w.wo.OnFollowing != nil {
		w.wo.OnFollowing(err)
	}
	return err == nil
}

// relevant reports whether a change to name concerns the manifests (the
// parent directories also see their other entries change).
func (w *watcher) relevant(name string) bool {
	name = filepath.Clean(name)
	for _, r := range w.roots {
		if name == r || strings.HasPrefix(name, r+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// addWatches watches each path's parent directory (files are replaced by
// editors, and a directory removed and made again shows there) and every
// directory below a directory path, and says which path cannot be watched.
func (w *watcher) addWatches() error {
	var errs []error
	for _, root := range w.roots {
		if err := w.fw.Add(filepath.Dir(root)); err != nil {
			errs = append(errs, fmt.Errorf("watching %s: %w", filepath.Dir(root), err)) // fsnotify's errors name no path
			continue
		}
		fi, err := os.Stat(root)
		if err != nil {
			errs = append(errs, fmt.Errorf("watching %s: %w", root, errors.Unwrap(err))) // the *fs.PathError's own error
			continue
		}
		if fi.IsDir() {
			if err := w.addTree(root); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// addTree watches root and every directory below it but hidden ones.
func (w *watcher) addTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if err := w.fw.Add(path); err != nil {
			return fmt.Errorf("watching %s: %w", path, err)
		}
		return nil
	})
}
