package manifest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
)

const watchedService = `apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: default
spec:
  clusterIP: %s
  ports:
    - name: pg
      port: 5432
`

// writeAtomically writes then renames, as editors and kubectl-style tools do.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func dbService(ip string) string { return strings.Replace(watchedService, "%s", ip, 1) }

// watchRun is a running Watch with its callbacks turned into channels.
type watchRun struct {
	states    chan *cluster.State
	errs      chan error
	following chan error
	done      chan error
}

func startWatch(t *testing.T, paths ...string) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &watchRun{states: make(chan *cluster.State, 16), errs: make(chan error, 16), following: make(chan error, 16), done: make(chan error, 1)}
	go func() {
		r.done <- manifest.Watch(ctx, paths, manifest.DefaultOptions(), manifest.WatchOptions{
			Delay:       10 * time.Millisecond,
			Retry:       50 * time.Millisecond,
			OnState:     func(s *cluster.State) { r.states <- s },
			OnError:     func(err error) { r.errs <- err },
			OnFollowing: func(err error) { r.following <- err },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Watch returned %v after ctx was done, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after ctx was done")
		}
	})
	// Watch starts watching on its own goroutine: give it a moment, and
	// fail early if it could not start.
	select {
	case err := <-r.done:
		t.Fatalf("Watch returned at once: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	return r
}

// waitIP waits for a state whose db Service has the cluster IP ip; states
// in between (one per burst of writes) are skipped.
func (r *watchRun) waitIP(t *testing.T, ip string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-r.states:
			if got := dbIP(s); got == ip {
				return
			}
		case err := <-r.errs:
			t.Logf("load error while waiting for %s: %v", ip, err)
		case <-deadline:
			t.Fatalf("no state with db at %s", ip)
		}
	}
}

func dbIP(s *cluster.State) string {
	for _, svc := range s.Services {
		if svc.Namespace == "default" && svc.Name == "db" && len(svc.ClusterIPs) > 0 {
			return svc.ClusterIPs[0].String()
		}
	}
	return ""
}

func (r *watchRun) waitFollowing(t *testing.T, following bool) error {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-r.following:
			if (err == nil) == following {
				return err
			}
		case <-deadline:
			t.Fatalf("OnFollowing never said following=%v", following)
			return nil
		}
	}
}

// An edit is loaded; a broken edit is an error naming the file, and the
// next good edit is loaded again.
func TestWatchReloadsAndReportsErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db.yaml")
	writeAtomically(t, file, dbService("10.96.0.50"))
	r := startWatch(t, dir)

	writeAtomically(t, file, dbService("10.96.0.51"))
	r.waitIP(t, "10.96.0.51")

	writeAtomically(t, file, "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports: [\n")
	select {
	case err := <-r.errs:
		if !strings.Contains(err.Error(), "db.yaml") {
			t.Errorf("load error does not name the file: %v", err)
		}
	case s := <-r.states:
		t.Fatalf("a broken edit gave a state: %+v", s)
	case <-time.After(10 * time.Second):
		t.Fatal("a broken edit gave no error")
	}

	// A file made in a new subdirectory is followed too.
	sub := filepath.Join(dir, "more")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(file)
	writeAtomically(t, filepath.Join(sub, "db.yaml"), dbService("10.96.0.52"))
	r.waitIP(t, "10.96.0.52")
	select {
	case err := <-r.following:
		t.Errorf("OnFollowing(%v) while every path stayed watched", err)
	default:
	}
}

// A single file given as the path, replaced as editors do, is followed.
func TestWatchFollowsAReplacedFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "db.yaml")
	writeAtomically(t, file, dbService("10.96.0.50"))
	r := startWatch(t, file)
	for _, ip := range []string{"10.96.0.51", "10.96.0.52"} {
		writeAtomically(t, file, dbService(ip))
		r.waitIP(t, ip)
	}
}

// A directory removed and made again is followed again: OnFollowing says
// why while it is gone and nil once it is back, and what it then holds is
// loaded.
func TestWatchFollowsARecreatedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, filepath.Join(dir, "db.yaml"), dbService("10.96.0.50"))
	r := startWatch(t, dir)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := r.waitFollowing(t, false); !strings.Contains(err.Error(), dir) {
		t.Errorf("OnFollowing(%v) does not name %s", err, dir)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, filepath.Join(dir, "db.yaml"), dbService("10.96.0.51"))
	r.waitFollowing(t, true)
	r.waitIP(t, "10.96.0.51")
	// And it is watched again: a later edit is loaded.
	writeAtomically(t, filepath.Join(dir, "db.yaml"), dbService("10.96.0.52"))
	r.waitIP(t, "10.96.0.52")
}

// A path that does not exist at the start is reported, and followed once
// it is made (the retry).
func TestWatchRetriesAMissingPath(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "later")
	r := startWatch(t, dir)
	if err := r.waitFollowing(t, false); !strings.Contains(err.Error(), dir) {
		t.Errorf("OnFollowing(%v) does not name %s", err, dir)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, filepath.Join(dir, "db.yaml"), dbService("10.96.0.53"))
	r.waitFollowing(t, true)
	r.waitIP(t, "10.96.0.53")
}

func TestWatchRefusesStdin(t *testing.T) {
	err := manifest.Watch(context.Background(), []string{"-"}, manifest.DefaultOptions(), manifest.WatchOptions{})
	if err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Errorf("Watch(-) = %v, want an error about stdin", err)
	}
}
