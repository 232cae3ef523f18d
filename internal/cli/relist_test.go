package cli

import (
	"testing"
	"time"
)

// The memory limit of a re-list applies for relistFor after a list that
// starts once the first state is served; the start-up's own lists do not
// turn it on.
func TestRelistingIsAListAfterTheSync(t *testing.T) {
	sv := &serving{}
	sv.listStarted()
	if sv.relisting() {
		t.Error("a list before the sync turned the re-list limit on")
	}
	sv.synced.Store(true)
	if sv.relisting() {
		t.Error("relisting before any list after the sync")
	}
	sv.listStarted()
	if !sv.relisting() {
		t.Error("not relisting right after a list started")
	}
	if until := time.Unix(0, sv.relistUntil.Load()); until.Before(time.Now().Add(relistFor-time.Second)) || until.After(time.Now().Add(relistFor)) {
		t.Errorf("relisting until %v, want about %v from now", until, relistFor)
	}
	sv.relistUntil.Store(time.Now().Add(-time.Second).UnixNano())
	if sv.relisting() {
		t.Error("still relisting once the time is over")
	}
}
