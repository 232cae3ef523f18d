package corefile

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/zone"
)

func mustParseFile(t *testing.T, path string) *Config {
	t.Helper()
	cfg, err := ParseFile(path)
	if err != nil {
		t.Fatalf("ParseFile(%s): %v", path, err)
	}
	return cfg
}

func parseString(t *testing.T, src string) (*Config, Problems) {
	t.Helper()
	cfg, err := Parse("Corefile", strings.NewReader(src))
	if err == nil {
		return cfg, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error is %T, want Problems: %v", err, err)
	}
	return cfg, ps
}

func at(line int) Pos { return Pos{File: "testdata/kubeadm.Corefile", Line: line} }

// kubeadm's Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go) is
// read into exactly CoreDNS's settings.
func TestParseKubeadmCorefile(t *testing.T) {
	cfg := mustParseFile(t, "testdata/kubeadm.Corefile")
	want := ServerBlock{
		Pos:         at(1),
		Zones:       []ZoneAddr{{Zone: ".", Port: 53}},
		Errors:      &Errors{Pos: at(2)},
		Health:      &Health{Pos: at(3), Addr: ":8080", Lameduck: 5 * time.Second},
		Ready:       &Ready{Pos: at(6), Addr: ":8181"},
		Prometheus:  &Prometheus{Pos: at(12), Addr: ":9153"},
		Reload:      &Reload{Pos: at(21), Interval: 30 * time.Second, Jitter: 15 * time.Second},
		Loop:        &Loop{Pos: at(20)},
		LoadBalance: &LoadBalance{Pos: at(22)},
		Kubernetes: &Kubernetes{
			Pos: at(7), Zones: []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."},
			PodRecords: zone.PodsInsecure, TTL: 30, Fallthrough: []string{"in-addr.arpa.", "ip6.arpa."},
		},
		Forwards: []Forward{{
			Pos: at(13), From: ".", To: []Upstream{{File: "/etc/resolv.conf"}},
			Policy: PolicyRandom, MaxFails: 2, HealthCheck: 500 * time.Millisecond,
			HealthCheckDomain: ".", Expire: 10 * time.Second, MaxConcurrent: 1000,
		}},
		Cache: &Cache{
			Pos: at(16), Zones: []string{"."},
			SuccessCapacity: 10000, DenialCapacity: 10000,
			SuccessMaxTTL: 30 * time.Second, SuccessMinTTL: 5 * time.Second,
			DenialMaxTTL: 30 * time.Second, DenialMinTTL: 5 * time.Second,
			ServfailTTL:    5 * time.Second,
			Prefetch:       Prefetch{Duration: time.Minute, Percentage: 10},
			DisableSuccess: []string{"cluster.local."}, DisableDenial: []string{"cluster.local."},
		},
	}
	if len(cfg.Blocks) != 1 {
		t.Fatalf("got %d blocks, want 1", len(cfg.Blocks))
	}
	if got := cfg.Blocks[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("block:\n got %+v\nwant %+v", got, want)
	}
	opts := cfg.Blocks[0].Kubernetes.ZoneOptions()
	wantOpts := zone.DefaultOptions()
	wantOpts.TTL, wantOpts.PodRecords = 30, zone.PodsInsecure
	if !reflect.DeepEqual(opts, wantOpts) {
		t.Errorf("ZoneOptions:\n got %+v\nwant %+v", opts, wantOpts)
	}
}

func TestCheckKubeadmCorefileIsOKLineByLine(t *testing.T) {
	r := CheckFile("testdata/kubeadm.Corefile")
	if !r.OK() {
		t.Fatalf("problems: %v", r.Problems)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	// The block line, ten directives, the summary.
	if len(lines) != 12 {
		t.Fatalf("got %d lines, want 12:\n%s", len(lines), b.String())
	}
	for i, prefix := range []string{
		"testdata/kubeadm.Corefile:1: .:53: server block for . on port 53",
		"testdata/kubeadm.Corefile:2: errors: ",
		"testdata/kubeadm.Corefile:3: health: HTTP /health on :8080; on SIGTERM keep answering for 5s",
		"testdata/kubeadm.Corefile:6: ready: HTTP /ready on :8181",
		"testdata/kubeadm.Corefile:7: kubernetes: cluster zones cluster.local., reverse zones in-addr.arpa. ip6.arpa.; ttl 30; pods insecure",
		"testdata/kubeadm.Corefile:12: prometheus: HTTP /metrics on :9153",
		"testdata/kubeadm.Corefile:13: forward: forward names under . to the nameservers of /etc/resolv.conf; policy random; at most 1000 in flight",
		"testdata/kubeadm.Corefile:16: cache: cache answers for .: success 9984 entries, TTL 5s-30s; denial 9984 entries, TTL 5s-30s; answers for cluster.local. not stored",
		"testdata/kubeadm.Corefile:20: loop: ",
		"testdata/kubeadm.Corefile:21: reload: re-read the Corefile every 30s ± 7.5s",
		"testdata/kubeadm.Corefile:22: loadbalance: ",
		"testdata/kubeadm.Corefile: OK",
	} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d:\n got %q\nwant prefix %q", i+1, lines[i], prefix)
		}
	}
}

// A stub domain is a second block with its own forward; several zones in
// one key line, dns:// prefixes, ports and reverse CIDR keys are read as
// CoreDNS reads them.
func TestParseStubDomainAndServerBlockKeys(t *testing.T) {
	cfg := mustParseFile(t, "testdata/stubdomain.Corefile")
	var zones [][]ZoneAddr
	for _, b := range cfg.Blocks {
		zones = append(zones, b.Zones)
	}
	want := [][]ZoneAddr{
		{{".", 53}},
		{{"consul.local.", 53}},
		{{"example.org.", 53}, {"example.net.", 1053}},
		{{"0.10.in-addr.arpa.", 53}, {"1.10.in-addr.arpa.", 53}},
	}
	if !reflect.DeepEqual(zones, want) {
		t.Errorf("zones:\n got %v\nwant %v", zones, want)
	}
	stub := cfg.Blocks[1].Forwards
	if len(stub) != 1 || stub[0].To[0].Addr != netip.MustParseAddrPort("10.0.0.10:8600") {
		t.Errorf("stub forward: %+v", stub)
	}
	f := cfg.Blocks[0].Forwards[0]
	wantF := Forward{
		Pos: Pos{File: "testdata/stubdomain.Corefile", Line: 7}, From: ".",
		To: []Upstream{
			{Addr: netip.MustParseAddrPort("8.8.8.8:53")},
			{Addr: netip.MustParseAddrPort("[2001:4860:4860::8888]:53")},
		},
		Except: []string{"consul.local."}, Policy: PolicySequential, ForceTCP: true,
		MaxFails: 0, HealthCheck: time.Second, HealthCheckNoRec: true, HealthCheckDomain: ".",
		Expire: 30 * time.Second,
	}
	if !reflect.DeepEqual(f, wantF) {
		t.Errorf("forward:\n got %+v\nwant %+v", f, wantF)
	}
	if c := cfg.Blocks[1].Cache; c == nil || c.Zones[0] != "consul.local." || c.SuccessMaxTTL != 30*time.Second {
		t.Errorf("stub cache: %+v", c)
	}
}

// hosts inline entries (names outside the zones dropped, an IPv6 zone
// dropped) and the rewrite name forms, one line and in a block.
func TestParseHostsInlineAndRewriteNameForms(t *testing.T) {
	cfg := mustParseFile(t, "testdata/hosts-rewrite.Corefile")
	pos := func(l int) Pos { return Pos{File: "testdata/hosts-rewrite.Corefile", Line: l} }
	b := cfg.Blocks[0]
	wantHosts := &Hosts{
		Pos: pos(2), File: "/etc/hosts.extra", Zones: []string{"example.com.", "internal.example."},
		Entries: []HostsEntry{
			{Pos: pos(3), Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"db.example.com.", "db.internal.example."}},
			{Pos: pos(4), Addr: netip.MustParseAddr("fd00::1"), Names: []string{"db.example.com."}},
		},
		TTL: 60, Reload: 0, NoReverse: true, Fallthrough: []string{"."},
	}
	if !reflect.DeepEqual(b.Hosts, wantHosts) {
		t.Errorf("hosts:\n got %+v\nwant %+v", b.Hosts, wantHosts)
	}
	wantRewrites := []Rewrite{
		{Pos: pos(11), Match: MatchExact, From: "api.example.com.", To: "api.default.svc.cluster.local.", AnswerAuto: true},
		{Pos: pos(12), Continue: true, Match: MatchSuffix, From: ".corp.example.", To: ".svc.cluster.local.", AnswerAuto: true},
		// CoreDNS fully qualifies prefix and substring arguments too.
		{Pos: pos(13), Match: MatchPrefix, From: "legacy-.", To: "new-.", AnswerAuto: true},
		{Pos: pos(14), Match: MatchSubstring, From: "old.", To: "new."},
		{Pos: pos(15), Match: MatchRegex, From: `(.*)\.db\.example\.com`, To: "{1}.db.svc.cluster.local.",
			Answers: []AnswerRewrite{
				{From: `(.*)\.db\.svc\.cluster\.local`, To: "{1}.db.example.com."},
				{Value: true, From: `(.*)\.db\.svc\.cluster\.local`, To: "{1}.db.example.com."},
			}},
	}
	if !reflect.DeepEqual(b.Rewrites, wantRewrites) {
		t.Errorf("rewrites:\n got %+v\nwant %+v", b.Rewrites, wantRewrites)
	}
}

// Snippets and file imports (a glob relative to the Corefile) work as in
// CoreDNS; a problem in an imported file names that file.
func TestParseImportsAndSnippets(t *testing.T) {
	cfg, err := ParseFile("testdata/imports/main.Corefile")
	abs, _ := filepath.Abs("testdata/imports/plugins/bad.conf")
	want := abs + `:4: plugin "etcd" is not supported by clusterdns`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %s", err, want)
	}
	for i, b := range cfg.Blocks {
		if b.Errors == nil || b.Loop == nil {
			t.Errorf("block %d: the snippet's errors and loop are missing", i)
		}
	}
	b := cfg.Blocks[0]
	if b.Cache == nil || b.Cache.Prefetch != (Prefetch{Amount: 5, Duration: 10 * time.Minute, Percentage: 20}) ||
		b.Cache.ServeStale != (ServeStale{Duration: 2 * time.Hour, Verify: true}) ||
		b.Cache.SuccessCapacity != 5000 || b.Cache.SuccessMaxTTL != 600*time.Second ||
		b.Cache.SuccessMinTTL != 10*time.Second || b.Cache.DenialCapacity != 2000 ||
		b.Cache.ServfailTTL != 10*time.Second || b.Cache.Pos.File != filepath.Dir(abs)+"/cache.conf" {
		t.Errorf("imported cache: %+v", b.Cache)
	}
	if len(b.Log) != 1 || !reflect.DeepEqual(b.Log[0].Classes, []string{"denial", "error"}) {
		t.Errorf("imported log: %+v", b.Log)
	}
	if k := cfg.Blocks[1].Kubernetes; k == nil || !reflect.DeepEqual(k.Zones, []string{"cluster.local."}) {
		t.Errorf("kubernetes without zones takes the block's: %+v", k)
	}
}

func TestParseEnvPlaceholders(t *testing.T) {
	t.Setenv("CLUSTERDNS_TEST_PORT", "1053")
	t.Setenv("CLUSTERDNS_TEST_UPSTREAM", "192.0.2.9:5300")
	t.Setenv("CLUSTERDNS_TEST_ZONE", "Cluster.Test")
	cfg := mustParseFile(t, "testdata/env.Corefile")
	b := cfg.Blocks[0]
	if b.Zones[0] != (ZoneAddr{".", 1053}) || b.Pos.Line != 1 {
		t.Errorf("key: %+v at %v", b.Zones, b.Pos)
	}
	if b.Forwards[0].To[0].Addr != netip.MustParseAddrPort("192.0.2.9:5300") {
		t.Errorf("forward: %+v", b.Forwards[0].To)
	}
	if b.Kubernetes.Zones[0] != "cluster.test." {
		t.Errorf("kubernetes: %+v", b.Kubernetes.Zones)
	}
}

// Every plugin, option and transport clusterdns does not implement, and
// every bad value, is reported with its line; all of them, in line order.
func TestCheckUnsupportedPluginsAndOptions(t *testing.T) {
	r := CheckFile("testdata/unsupported.Corefile")
	want := []string{
		`testdata/unsupported.Corefile:3: plugin "etcd" is not supported by clusterdns`,
		`testdata/unsupported.Corefile:6: plugin "file" is not supported by clusterdns`,
		`testdata/unsupported.Corefile:7: plugin "template" is not supported by clusterdns`,
		`testdata/unsupported.Corefile:11: option "endpoint" of plugin "kubernetes" is not supported by clusterdns`,
		`testdata/unsupported.Corefile:12: plugin "kubernetes": ttl "4000": want a whole number from 0 to 3600`,
		`testdata/unsupported.Corefile:13: plugin "kubernetes": pods "sometimes": want disabled, insecure or verified`,
		`testdata/unsupported.Corefile:15: plugin "forward": TO "tls://1.1.1.1": transport tls:// is not supported by clusterdns`,
		`testdata/unsupported.Corefile:16: option "tls_servername" of plugin "forward" is not supported by clusterdns`,
		`testdata/unsupported.Corefile:17: plugin "forward": unknown policy "fastest": want random, round_robin or sequential`,
		`testdata/unsupported.Corefile:19: plugin "cache": TTL "0": can not be zero or negative`,
		`testdata/unsupported.Corefile:20: unknown option "sucess" of plugin "cache"`,
		`testdata/unsupported.Corefile:22: plugin "kubernets" is not supported by clusterdns (nor by CoreDNS 1.14.2)`,
		`testdata/unsupported.Corefile:23: plugin "health": address "localhost": want HOST:PORT or :PORT`,
		`testdata/unsupported.Corefile:25: server block "tls://.:853": transport tls:// is not supported by clusterdns`,
	}
	if r.OK() {
		t.Fatal("OK() for a Corefile with unsupported plugins")
	}
	if got := strings.Split(r.Problems.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var b strings.Builder
	_ = r.WriteText(&b)
	if !strings.Contains(b.String(), "testdata/unsupported.Corefile:2: errors: ") ||
		!strings.HasSuffix(b.String(), "testdata/unsupported.Corefile: 14 problems: clusterdns will not serve it\n") {
		t.Errorf("report:\n%s", b.String())
	}
	_, err := ParseFile("testdata/unsupported.Corefile")
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Parse error differs from Check's problems: %v", err)
	}
}

// A bare plugin gets CoreDNS 1.14.2's defaults (sources cited where the
// constants are defined).
func TestBarePluginsGetCoreDNSDefaults(t *testing.T) {
	cfg, ps := parseString(t, "example.org {\nhealth\nready\nprometheus\nreload\ncache\nforward . 192.0.2.1\nhosts\nkubernetes\n}\n")
	if ps != nil {
		t.Fatal(ps)
	}
	b := cfg.Blocks[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"health", b.Health.Addr, ":8080"},
		{"health lameduck", b.Health.Lameduck, time.Duration(0)},
		{"ready", b.Ready.Addr, ":8181"},
		{"prometheus", b.Prometheus.Addr, "localhost:9153"},
		{"reload", [2]time.Duration{b.Reload.Interval, b.Reload.Jitter}, [2]time.Duration{30 * time.Second, 15 * time.Second}},
		{"cache zones", b.Cache.Zones, []string{"example.org."}},
		{"cache capacities", [2]int{b.Cache.SuccessCapacity, b.Cache.DenialCapacity}, [2]int{10000, 10000}},
		{"cache TTLs", [4]time.Duration{b.Cache.SuccessMaxTTL, b.Cache.SuccessMinTTL, b.Cache.DenialMaxTTL, b.Cache.DenialMinTTL},
			[4]time.Duration{time.Hour, 5 * time.Second, 30 * time.Minute, 5 * time.Second}},
		{"cache servfail", b.Cache.ServfailTTL, 5 * time.Second},
		{"cache prefetch", b.Cache.Prefetch, Prefetch{Duration: time.Minute, Percentage: 10}},
		{"forward", [3]any{b.Forwards[0].MaxFails, b.Forwards[0].Expire, b.Forwards[0].HealthCheck},
			[3]any{uint32(2), 10 * time.Second, 500 * time.Millisecond}},
		{"forward policy", b.Forwards[0].Policy, PolicyRandom},
		{"forward max_connect_attempts", b.Forwards[0].MaxConnectAttempts, uint32(0)},
		{"hosts", [3]any{b.Hosts.File, b.Hosts.TTL, b.Hosts.Reload}, [3]any{"/etc/hosts", uint32(3600), 5 * time.Second}},
		{"hosts zones", b.Hosts.Zones, []string{"example.org."}},
		{"kubernetes", [2]any{b.Kubernetes.TTL, b.Kubernetes.PodRecords}, [2]any{uint32(5), zone.PodsDisabled}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// Small Corefiles and the exact problems they give.
func TestProblemsNameLineAndValue(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"syntax error stops at its line", ".:53 {\n  errors\n", []string{`Corefile:2: Syntax error: Unexpected token 'errors', expecting '}'`}},
		{"empty Corefile", "", []string{`Corefile: no server block`}},
		{"zone served twice on a port", "a.org {\n}\nb.org A.org:53 {\n}\n",
			[]string{`Corefile:3: server block "A.org:53": zone a.org. is already served on port 53 (line 1)`}},
		{"same zone on two ports is fine", "a.org {\n}\na.org:1053 {\n}\n", nil},
		{"bad port", ".:70000 {\n}\n", []string{`Corefile:1: server block ".:70000": port 70000: want 0 to 65535`}},
		{"plugin twice", ".:53 {\n cache\n cache 30\n}\n",
			[]string{`Corefile:3: plugin "cache" can only be used once per server block (first at line 2)`}},
		{"forward without TO", ".:53 {\n forward .\n}\n",
			[]string{`Corefile:2: plugin "forward": want FROM and at least one TO, got 1 argument(s)`}},
		{"forward bad address", ".:53 {\n forward . 10.0.0.300\n}\n",
			[]string{`Corefile:2: plugin "forward": TO "10.0.0.300": not an IP address or IP:PORT`}},
		{"forward unsupported options", ".:53 {\n forward . 1.1.1.1 {\n  next NXDOMAIN\n  failover SERVFAIL\n  max_fails x\n }\n}\n",
			[]string{
				`Corefile:3: option "next" of plugin "forward" is not supported by clusterdns`,
				`Corefile:4: option "failover" of plugin "forward" is not supported by clusterdns`,
				`Corefile:5: plugin "forward": max_fails "x": want a whole number from 0`,
			}},
		{"kubernetes root zone", ".:53 {\n kubernetes\n}\n",
			[]string{`Corefile:2: plugin "kubernetes": building zone: zone ".": the root cannot be served`}},
		{"kubernetes reverse only", ".:53 {\n kubernetes in-addr.arpa\n}\n",
			[]string{`Corefile:2: plugin "kubernetes": non-reverse zone name must be used`}},
		{"cache bad values", ".:53 {\n cache {\n  prefetch 2 1m 95%\n  serve_stale 1h later\n  disable both\n  servfail 10m\n }\n}\n",
			[]string{
				`Corefile:3: plugin "cache": prefetch percentage "95%": want 10% to 90%`,
				`Corefile:4: plugin "cache": serve_stale refresh mode "later": want immediate or verify`,
				`Corefile:5: plugin "cache": disable "both": want success or denial`,
				`Corefile:6: plugin "cache": servfail "10m": caching SERVFAIL responses over 5 minutes is not permitted`,
			}},
		{"health lameduck not a duration", ".:53 {\n health {\n  lameduck 5\n }\n}\n",
			[]string{`Corefile:3: plugin "health": lameduck "5" is not a duration (e.g. 5s, 1m)`}},
		{"reload too often", ".:53 {\n reload 1s\n}\n", []string{`Corefile:2: plugin "reload": interval "1s" must be at least 2s`}},
		{"hosts line that is not an entry", ".:53 {\n hosts {\n  no_revers\n }\n}\n",
			[]string{`Corefile:3: plugin "hosts": "no_revers" is neither an option nor an ADDRESS NAMES... entry`}},
		{"rewrite other rule types", ".:53 {\n rewrite edns0 local set 0xffee abc\n rewrite stop type ANY HINFO\n}\n",
			[]string{
				`Corefile:2: option "edns0" of plugin "rewrite" is not supported by clusterdns`,
				`Corefile:3: option "type" of plugin "rewrite" is not supported by clusterdns`,
			}},
		{"rewrite regex with too many groups", ".:53 {\n rewrite name regex a.* {1}.b\n}\n",
			[]string{`Corefile:2: plugin "rewrite": the rewrite regex pattern ({1}.b) uses more subexpressions than its corresponding matching regex pattern (a.*)`}},
		{"loadbalance weighted", ".:53 {\n loadbalance weighted /w\n}\n",
			[]string{`Corefile:2: option "weighted" of plugin "loadbalance" is not supported by clusterdns`}},
		{"autopath from a file", ".:53 {\n autopath /etc/resolv.conf\n}\n",
			[]string{`Corefile:2: plugin "autopath": search path from "/etc/resolv.conf" is not supported by clusterdns: only @kubernetes`}},
		{"errors consolidate", ".:53 {\n errors {\n  consolidate 5m \".* timeout\"\n }\n}\n",
			[]string{`Corefile:3: option "consolidate" of plugin "errors" is not supported by clusterdns`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := parseString(t, tt.src)
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReverseCIDRKeysSplitOnLabelBoundaries(t *testing.T) {
	tests := []struct {
		key  string
		want []string
	}{
		{"10.0.0.0/8", []string{"10.in-addr.arpa."}},
		{"10.1.2.3/24", []string{"2.1.10.in-addr.arpa."}},
		{"192.168.254.0/23", []string{"254.168.192.in-addr.arpa.", "255.168.192.in-addr.arpa."}},
		{"0.0.0.0/0", []string{"in-addr.arpa."}},
		{"2001:db8::/35", []string{"0.8.b.d.0.1.0.0.2.ip6.arpa.", "1.8.b.d.0.1.0.0.2.ip6.arpa."}},
		{"example.org", []string{"example.org."}},
	}
	for _, tt := range tests {
		zas, err := parseKey(tt.key)
		if err != nil {
			t.Errorf("%s: %v", tt.key, err)
			continue
		}
		var got []string
		for _, z := range zas {
			got = append(got, z.Zone)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestCheckFileMissing(t *testing.T) {
	r := CheckFile(filepath.Join(t.TempDir(), "Corefile"))
	if r.OK() || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Msg, "no such file") {
		t.Errorf("problems: %v", r.Problems)
	}
}

// Corefiles are input from outside: nothing in them may panic the reader.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"kubeadm.Corefile", "stubdomain.Corefile", "hosts-rewrite.Corefile", "unsupported.Corefile", "imports/main.Corefile", "env.Corefile"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("(s) {\n import s\n}\n.:53 {\n import s\n}\n")
	f.Add("a:1 b,\nc {\n rewrite {\n name regex (a) {1}\n }\n}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		// Imports read files: keep them inside an empty directory.
		if strings.Contains(src, "import") && strings.ContainsAny(src, "/\\{") {
			t.Skip()
		}
		r := Check(filepath.Join(dir, "Corefile"), strings.NewReader(src))
		var b strings.Builder
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse(filepath.Join(dir, "Corefile"), strings.NewReader(src))
		if (err == nil) != r.OK() || cfg == nil {
			t.Fatalf("Parse and Check disagree: %v vs %v", err, r.Problems)
		}
	})
}

// bind: one IP address; interface names and several addresses are refused.
func TestBind(t *testing.T) {
	cfg, err := Parse("Corefile", strings.NewReader(".:53 {\n  bind 10.0.0.10\n  kubernetes cluster.local\n}\n"))
	if err != nil || cfg.Blocks[0].Bind == nil || cfg.Blocks[0].Bind.Addr.String() != "10.0.0.10" {
		t.Fatalf("%v %+v", err, cfg)
	}
	for _, bad := range []string{"bind eth0", "bind 10.0.0.1 10.0.0.2", "bind"} {
		_, err := Parse("Corefile", strings.NewReader(".:53 {\n  "+bad+"\n}\n"))
		if err == nil || !strings.Contains(err.Error(), "Corefile:2:") {
			t.Errorf("%q: %v, want an error at line 2", bad, err)
		}
	}
}

// The kubernetes plugin's multicluster and zonal options and the transfer
// plugin are read into the engine's options and the transfer targets.
func TestParseMulticlusterZonalAndTransfer(t *testing.T) {
	cfg, ps := parseString(t, `cluster.local clusterset.local {
    kubernetes cluster.local clusterset.local {
        multicluster clusterset.local
        zonal
    }
    transfer {
        to * 10.0.0.0/8 192.0.2.7:5353
    }
}
`)
	if ps != nil {
		t.Fatalf("problems: %v", ps)
	}
	b := cfg.Blocks[0]
	o := b.Kubernetes.ZoneOptions()
	if !o.Zonal || !reflect.DeepEqual(o.MulticlusterZones, []string{"clusterset.local."}) {
		t.Errorf("zone options: zonal %v, multicluster %v", o.Zonal, o.MulticlusterZones)
	}
	if b.Transfer == nil || !reflect.DeepEqual(b.Transfer.Zones, []string{"cluster.local.", "clusterset.local."}) || len(b.Transfer.To) != 3 {
		t.Fatalf("transfer %+v", b.Transfer)
	}
	if to := b.Transfer.To; !to[0].Any || to[1].Prefix.String() != "10.0.0.0/8" || to[2].Notify.String() != "192.0.2.7:5353" {
		t.Errorf("targets %+v", to)
	}
}

func TestMulticlusterZoneMustBeAPluginZone(t *testing.T) {
	_, ps := parseString(t, ".:53 {\n  kubernetes cluster.local {\n    multicluster clusterset.local\n  }\n}\n")
	if ps == nil || !strings.Contains(ps.Error(), "Corefile:2:") || !strings.Contains(ps.Error(), "clusterset.local") {
		t.Errorf("problems %v, want the multicluster zone named at the kubernetes line", ps)
	}
	_, ps = parseString(t, ".:53 {\n  transfer\n}\n")
	if ps == nil || !strings.Contains(ps.Error(), "Corefile:2:") || !strings.Contains(ps.Error(), "'to' is required") {
		t.Errorf("problems %v, want 'to' required", ps)
	}
	_, ps = parseString(t, ".:53 {\n  transfer {\n    to 10.0.0.1:99999\n    source 10.0.0.2\n  }\n}\n")
	if ps == nil || !strings.Contains(ps.Error(), "Corefile:3:") || !strings.Contains(ps.Error(), `option "source" of plugin "transfer" is not supported`) {
		t.Errorf("problems %v", ps)
	}
}
