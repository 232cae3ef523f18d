//go:build linux

package resolv_test

import (
	"time"

	"github.com/clusterdns/clusterdns/internal/autopath"
	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/server"
)

// The real-resolver autopath tests (autopath_netns_test.go) are in package
// resolv, which package autopath imports: they get their Expander from
// here.
func init() {
	resolv.NewExpander = func(srv *server.Server, zones, nodeSearch []string, trust bool, expanded func(int)) (server.Expander, error) {
		// The guard outlives every namespace child.
		return autopath.New(autopath.Config{Zones: zones, NodeSearch: nodeSearch, GuardFor: time.Minute, Recorder: savedFunc(expanded), Trust: trust}, srv)
	}
}

// savedFunc is an autopath.Recorder.
type savedFunc func(int)

func (f savedFunc) Expanded(saved int) { f(saved) }
