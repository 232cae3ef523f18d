package kube

import (
	"context"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// connectionState turns the informers' watch errors, which client-go
// reports on every retry, into one log line when the API server is lost and
// one when it is back. The caches, and so the answers, stay as they were
// meanwhile: client-go keeps retrying.
type connectionState struct {
	mu   sync.Mutex
	lost bool
	// probing is set while a goroutine waits for the server to come back.
	probing bool
}

// watchError is the informers' watch error handler.
func (s *Source) watchError(ctx context.Context, r *cache.Reflector, err error) {
	s.conn.mu.Lock()
	first := !s.conn.lost
	s.conn.lost = true
	startProbe := !s.conn.probing
	s.conn.probing = true
	s.conn.mu.Unlock()
	if rec := s.opts.Recorder; rec != nil {
		rec.WatchError()
	}
	if first {
		s.log.Warn("lost the watch on the Kubernetes API; serving the last known state while client-go retries",
			"server", s.host, "informer", r.TypeDescription(), "err", err)
	}
	if startProbe {
		go s.probeUntilBack(ctx)
	}
}

// probeUntilBack asks the API server for its version every second until it
// answers, then logs that it is back.
func (s *Source) probeUntilBack(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lostAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.client.Discovery().ServerVersion(); err != nil {
			continue
		}
		s.conn.mu.Lock()
		s.conn.lost = false
		s.conn.probing = false
		s.conn.mu.Unlock()
		if rec := s.opts.Recorder; rec != nil {
			rec.WatchRecovered()
		}
		s.log.Info("the Kubernetes API is reachable again; informers resume their watches", "server", s.host, "after", time.Since(lostAt).Round(time.Second))
		return
	}
}

// listSignal calls onList before every list request the informers make:
// a GET of a collection that is not a watch (client-go's pager sets limit,
// its first list resourceVersion), or a watch that sends the initial
// events first (a streaming list). Discovery and other GETs carry neither.
type listSignal struct {
	next   http.RoundTripper
	onList func()
}

func (l listSignal) RoundTrip(r *http.Request) (*http.Response, error) {
	if isList(r) {
		l.onList()
	}
	return l.next.RoundTrip(r)
}

func isList(r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL == nil {
		return false
	}
	q := r.URL.Query()
	if w := q.Get("watch"); w == "true" || w == "1" {
		return q.Get("sendInitialEvents") == "true"
	}
	return q.Has("limit") || q.Has("resourceVersion")
}
