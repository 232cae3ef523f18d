package cli

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/corefile"
)

// forwarderGrace is how long the forwarders of a replaced configuration
// stay open, so that queries under way finish with them.
const forwarderGrace = 10 * time.Second

// corefileReloader is the reload plugin: it reads the Corefile again every
// interval (plus a random offset within the jitter), and when the file
// changed and is valid, applies what can change while serving: forward,
// cache and stub domains (the server's Outside), fallthrough, loadbalance.
// A change to anything else (zones and kubernetes options, ports and
// addresses, lameduck, log) is logged as taking effect at the next
// restart; a broken Corefile is logged and the running configuration kept.
type corefileReloader struct {
	f      *serveFlags
	sv     *serving
	mu     sync.Mutex
	cur    *serveCorefile
	data   []byte
	closer func() // closes the running forwarders
}

// run checks the Corefile until ctx ends.
func (r *corefileReloader) run(ctx context.Context, rl *corefile.Reload) {
	for {
		wait := rl.Interval
		if rl.Jitter > 0 {
			wait += time.Duration(rand.Int64N(int64(rl.Jitter))) - rl.Jitter/2
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		r.check(ctx)
	}
}

// check reloads the Corefile if its content changed.
func (r *corefileReloader) check(ctx context.Context) {
	data, err := os.ReadFile(r.f.corefile)
	if err != nil {
		r.sv.log.Error("reading the Corefile for reload failed; keeping the running configuration", "file", r.f.corefile, "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if bytes.Equal(data, r.data) {
		return
	}
	r.data = data
	next, err := r.read(data)
	if err != nil {
		r.sv.log.Error("the changed Corefile is not valid; keeping the running configuration", "file", r.f.corefile, "err", err)
		return
	}
	rw, err := next.rewriter()
	if err == nil {
		err = r.applyHosts(ctx, next)
	}
	if err != nil {
		r.sv.log.Error("the changed Corefile cannot be applied; keeping the running configuration", "file", r.f.corefile, "err", err)
		return
	}
	res, _, stop, err := next.resolver(ctx, r.sv.log, r.sv.recorders())
	if err != nil {
		r.sv.log.Error("the changed Corefile cannot be applied; keeping the running configuration", "file", r.f.corefile, "err", err)
		return
	}
	if res != nil {
		r.sv.srv.SetOutside(res, next.fallthroughZones())
	} else {
		r.sv.srv.SetOutside(nil, nil)
	}
	r.sv.srv.SetLoadBalance(next.kube.LoadBalance != nil)
	r.sv.srv.SetRewriter(rw)
	old := r.closer
	r.closer = stop
	time.AfterFunc(forwarderGrace, old)
	if later := restartNeeded(r.cur, next); len(later) > 0 {
		r.sv.log.Warn("the Corefile changed in ways that take effect at the next restart", "what", strings.Join(later, ", "))
	}
	r.cur = next
	r.sv.log.Info("Corefile reloaded: forward, cache, rewrite, hosts, fallthrough and loadbalance applied", "file", r.f.corefile)
}

// applyHosts replaces the hosts table when the hosts plugin changed, its
// file's reload loop with it.
func (r *corefileReloader) applyHosts(ctx context.Context, next *serveCorefile) error {
	if samePlugin(r.cur.kube.Hosts, next.kube.Hosts) {
		return nil
	}
	ht, h, err := next.hostsTable(r.sv.log)
	if err != nil {
		return err
	}
	if r.sv.stopHosts != nil {
		r.sv.stopHosts()
		r.sv.stopHosts = nil
	}
	r.sv.srv.SetHosts(ht)
	if h != nil {
		var hctx context.Context
		hctx, r.sv.stopHosts = context.WithCancel(ctx)
		go h.Run(hctx)
	}
	return nil
}

// read parses and checks a Corefile's content as serve does at start.
func (r *corefileReloader) read(data []byte) (*serveCorefile, error) {
	cfg, err := corefile.Parse(r.f.corefile, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	sc := &serveCorefile{cfg: cfg}
	if err := sc.check(); err != nil {
		return nil, err
	}
	return sc, nil
}

// close closes the running forwarders.
func (r *corefileReloader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closer()
}

// restartNeeded lists what changed that serve applies only at start.
func restartNeeded(prev, next *serveCorefile) []string {
	var out []string
	pk, nk := prev.kube, next.kube
	if !reflect.DeepEqual(prev.zoneOptions(), next.zoneOptions()) || !reflect.DeepEqual(pk.Kubernetes.Kubeconfig, nk.Kubernetes.Kubeconfig) {
		out = append(out, fmt.Sprintf("kubernetes (%s)", nk.Kubernetes.Pos))
	}
	if pk.Zones[0].Port != nk.Zones[0].Port {
		out = append(out, "port")
	}
	for _, c := range []struct {
		what       string
		prev, next any
	}{
		{"health", pk.Health, nk.Health}, {"ready", pk.Ready, nk.Ready}, {"prometheus", pk.Prometheus, nk.Prometheus},
		{"log", pk.Log, nk.Log}, {"reload", pk.Reload, nk.Reload}, {"transfer", pk.Transfer, nk.Transfer},
	} {
		if !samePlugin(c.prev, c.next) {
			out = append(out, c.what)
		}
	}
	return out
}

// samePlugin compares two plugin settings, ignoring where they are written.
func samePlugin(a, b any) bool {
	strip := func(v any) any {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.IsNil() {
			return v
		}
		c := reflect.New(rv.Elem().Type())
		c.Elem().Set(rv.Elem())
		if p := c.Elem().FieldByName("Pos"); p.IsValid() && p.CanSet() {
			p.Set(reflect.Zero(p.Type()))
		}
		return c.Interface()
	}
	return reflect.DeepEqual(strip(a), strip(b))
}
