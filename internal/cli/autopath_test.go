package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/e2e/corefiles"
	"github.com/miekg/dns"
	rbacv1 "k8s.io/api/rbac/v1"
)

// serve --autopath: once the client has been seen walking its search list
// on its own, the first step of its walk for an external name is answered
// with the walk's end, and counted as CoreDNS counts it.
func TestServeAutopath(t *testing.T) {
	up := startFakeUpstream(t, 1)
	metricsAddr := freeAddr(t)
	addr, _, _ := startServe(t, "--manifests", exampleManifests, "--upstream", up.addr, "--autopath", "--autopath-node-search", "",
		"--metrics-addr", metricsAddr)
	walk := []string{"www.example.com.default.svc.cluster.local.", "www.example.com.svc.cluster.local.", "www.example.com.cluster.local.", "www.example.com."}
	for i, name := range walk {
		r := query(t, addr, name, dns.TypeA)
		if last := i == len(walk)-1; (r.Rcode == dns.RcodeSuccess) != last || len(r.Answer) > 1 {
			t.Fatalf("the client's own walk, %s: %v", name, r)
		}
	}
	r := query(t, addr, walk[0], dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || r.Answer[0].(*dns.CNAME).Target != "www.example.com." {
		t.Fatalf("first step: %v", r)
	}
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeSuccess || r.Answer[0].Header().Rrtype != dns.TypeA {
		t.Errorf("a cluster name is not answered as before: %v", r)
	}
	body := scrape(t, metricsAddr)
	for _, want := range []string{
		`coredns_autopath_success_total{server="dns://127.0.0.1:0"} 1`,
		// svc.cluster.local, cluster.local, then the name: 3 questions saved.
		`clusterdns_autopath_saved_queries_total{server="dns://127.0.0.1:0"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(body, "autopath"))
		}
	}
}

// `autopath @kubernetes` in a Corefile turns it on, over the kubernetes
// zones; outside the kubernetes block it is refused.
func TestServeCorefileAutopath(t *testing.T) {
	up := startFakeUpstream(t, 1)
	text := strings.Replace(kubeadmCorefile(up.addr, ""), "    loadbalance\n", "    loadbalance\n    autopath @kubernetes\n", 1)
	path := writeCorefile(t, t.TempDir(), text)
	addr, _, _ := startServe(t, "--corefile", path, "--manifests", exampleManifests, "--autopath-node-search", "", "--autopath-trust-client", "127.0.0.0/8")
	if r := query(t, addr, "www.example.com.default.svc.cluster.local.", dns.TypeA); len(r.Answer) != 2 || r.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("autopath from the Corefile: %v", r)
	}
	bad := writeCorefile(t, t.TempDir(), text+"example.org:53 {\n    autopath @kubernetes\n    forward . "+up.addr+"\n}\n")
	if code := Main(t.Context(), []string{"serve", "--corefile", bad, "--manifests", exampleManifests}, strings.NewReader(""), io.Discard, io.Discard); code == 0 {
		t.Error("autopath outside the kubernetes block was accepted")
	}
}

// --autopath-client and --autopath-trust-client take CIDRs only,
// --autopath-trust-for a positive time.
func TestServeAutopathFlagsChecked(t *testing.T) {
	for _, tc := range [][]string{
		{"--autopath-client", "10.244.0.0"},
		{"--autopath-trust-client", "169.254.20.10"},
		{"--autopath-trust-for", "0s"},
	} {
		var errOut strings.Builder
		args := append([]string{"serve", "--manifests", exampleManifests, "--autopath", "--autopath-node-search", ""}, tc...)
		code := Main(t.Context(), args, strings.NewReader(""), io.Discard, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc[0]) {
			t.Errorf("%v: exit %d: %s", tc, code, errOut.String())
		}
	}
}

// fakeAPI is an API server that serves empty lists (namespace default
// only) and holds watches open, and records what it is asked: the
// resources a live source reads, with the verb.
type fakeAPI struct {
	url  string
	stop chan struct{}
	mu   sync.Mutex
	seen map[string]bool // "<verb> <path>"
}

func startFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	a := &fakeAPI{stop: make(chan struct{}), seen: map[string]bool{}}
	kinds := map[string]string{
		"/api/v1/namespaces": "NamespaceList", "/api/v1/services": "ServiceList", "/api/v1/pods": "PodList",
		"/apis/discovery.k8s.io/v1/endpointslices": "EndpointSliceList",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verb := "get"
		switch q := r.URL.Query(); {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			verb = "watch"
		case kinds[r.URL.Path] != "":
			verb = "list"
		}
		a.mu.Lock()
		a.seen[verb+" "+r.URL.Path] = true
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		kind := kinds[r.URL.Path]
		switch {
		case kind == "" || r.URL.Query().Get("sendInitialEvents") == "true":
			// Not served (a watch-list falls back to list and watch).
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
		case verb == "watch":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-a.stop:
			}
		default:
			items := "[]"
			if kind == "NamespaceList" {
				items = `[{"metadata":{"name":"default","resourceVersion":"1"}}]`
			}
			version := "v1"
			if g, ok := strings.CutPrefix(r.URL.Path, "/apis/"); ok {
				version = g[:strings.LastIndexByte(g, '/')]
			}
			fmt.Fprintf(w, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1"},"items":%s}`, kind, version, items)
		}
	}))
	a.url = srv.URL
	t.Cleanup(func() { close(a.stop); srv.Close() })
	return a
}

// requests is what the API server was asked, sorted.
func (a *fakeAPI) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k := range a.seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// kubeconfig writes a kubeconfig for the fake API server.
func (a *fakeAPI) kubeconfig(t *testing.T) string {
	return writeResolveFile(t, t.TempDir(), "kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: %q}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: t, user: u}}]
current-context: c
`, a.url))
}

// watching serves a live cluster with args (forwarding to an upstream
// where every name exists) until the source has synced and watches every
// resource it listed, asks it the first step of a pod's walk for an
// external name, and returns what it asked the API server and whether the
// step was expanded. Each serve is a process of its own (client-go's
// logger is the process's).
func watching(t *testing.T, corefile bool, args ...string) (requests []string, expanded bool) {
	t.Helper()
	api := startFakeAPI(t)
	kc := api.kubeconfig(t)
	health := freeAddr(t)
	up := startFakeUpstream(t, 1)
	if corefile {
		k := corefiles.Kubeadm{Kubeconfig: kc, Upstream: up.addr, Health: addrPort(t, "health", health), Ready: addrPort(t, "ready", freeAddr(t)),
			Metrics: addrPort(t, "metrics", freeAddr(t)), NoReload: true, Extra: args}
		args = []string{"--corefile", writeCorefile(t, t.TempDir(), k.String()), "--metrics-addr", "", "--ready-addr", ""}
	} else {
		args = append(args, "--kubeconfig", kc, "--upstream", up.addr, "--metrics-addr", "")
	}
	// Trusted: the test's client has not walked on its own before its
	// first step is asked.
	c := startChild(t, 0, append([]string{"serve", "--listen", "127.0.0.1:0", "--health-addr", health, "--autopath-trust-client", "127.0.0.0/8"}, args...)...)
	addr := c.waitServing(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready := false
		if resp, err := http.Get("http://" + health + "/ready"); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
		reqs := api.requests()
		watched := ready
		for _, r := range reqs {
			if path, ok := strings.CutPrefix(r, "list "); ok && !slices.Contains(reqs, "watch "+path) {
				watched = false
			}
		}
		if watched {
			// A first step of a pod's walk, which autopath expands when on:
			// it asks the API server nothing either.
			r := query(t, addr, "www.example.com.default.svc.cluster.local.", dns.TypeA)
			return api.requests(), r.Rcode == dns.RcodeSuccess && len(r.Answer) == 2 && r.Answer[0].Header().Rrtype == dns.TypeCNAME
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live source did not sync and watch (ready %v): %v\n%s", ready, reqs, c.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Acceptance: the live source watches no pods for autopath. What serve
// asks the API server with --autopath (or `autopath @kubernetes` in a
// Corefile) is what it asks without: Namespaces, Services and
// EndpointSlices, listed and watched, which the base ClusterRole allows
// (pods are in components/verified-pods only). So its RBAC and its
// memory (the informer caches) are unchanged; the guard's table is a
// fixed 512 KiB. --pod-records verified, which does watch pods, shows the
// test would see a pod watch.
func TestAutopathWatchesNoPods(t *testing.T) {
	without, offExpanded := watching(t, false)
	with, withExpanded := watching(t, false, "--autopath", "--autopath-node-search", "")
	corefile, corefileExpanded := watching(t, true, "autopath @kubernetes")
	if offExpanded || !withExpanded || !corefileExpanded {
		t.Fatalf("expanded: without autopath %v, with --autopath %v, autopath @kubernetes %v", offExpanded, withExpanded, corefileExpanded)
	}
	t.Logf("the live source asks: %v", without)
	if !slices.Equal(with, without) || !slices.Equal(corefile, without) {
		t.Errorf("the API requests differ:\nwithout autopath   %v\nwith --autopath    %v\nautopath @kubernetes %v", without, with, corefile)
	}
	role := baseObjects(t, repoRoot(t)).roles["clusterdns"]
	if role == nil {
		t.Fatal("deploy/base has no ClusterRole clusterdns")
	}
	for _, r := range with {
		verb, path, _ := strings.Cut(r, " ")
		if strings.Contains(path, "pods") {
			t.Errorf("with autopath the live source asks for pods: %s", r)
		}
		group, resource := "", path[strings.LastIndexByte(path, '/')+1:]
		if g, ok := strings.CutPrefix(path, "/apis/"); ok {
			group, _, _ = strings.Cut(g, "/")
		}
		allowed := slices.ContainsFunc(role.Rules, func(rule rbacv1.PolicyRule) bool {
			return slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb)
		})
		if !allowed {
			t.Errorf("%s: not allowed by deploy/base's ClusterRole", r)
		}
	}
	if verified, _ := watching(t, false, "--autopath", "--autopath-node-search", "", "--pod-records", "verified"); !slices.Contains(verified, "watch /api/v1/pods") {
		t.Errorf("--pod-records verified does not watch pods: %v", verified)
	}
}
