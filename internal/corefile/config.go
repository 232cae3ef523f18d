package corefile

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/transfer"
	"github.com/clusterdns/clusterdns/internal/zone"
)

// Pos is where a token is: the file (the Corefile or an imported file,
// which caddy names by its absolute path) and the 1-based line.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Config is a whole Corefile.
type Config struct {
	// File is the name the Corefile was read under.
	File string
	// Blocks are the server blocks in Corefile order (snippets excluded).
	Blocks []ServerBlock
}

// ZoneAddr is one key of a server block: a zone served on a port. Several
// blocks may share a port with different zones; a query goes to the block
// with the longest matching zone, as in CoreDNS.
type ZoneAddr struct {
	// Zone is canonical: lower case, fully qualified ("." for the root).
	Zone string
	Port uint16
}

func (z ZoneAddr) String() string { return fmt.Sprintf("%s:%d", z.Zone, z.Port) }

// ServerBlock is one `ZONES... { PLUGINS }` block. A nil plugin field means
// the plugin is not in the block. All zones of a block share its plugins.
type ServerBlock struct {
	Pos Pos
	// Zones are the keys, with a reverse CIDR key (10.0.0.0/8) expanded to
	// its reverse zones (10.in-addr.arpa.) as CoreDNS expands it.
	Zones []ZoneAddr

	Bind        *Bind
	Errors      *Errors
	Log         []LogRule
	Health      *Health
	Ready       *Ready
	Prometheus  *Prometheus
	Reload      *Reload
	Loop        *Loop
	LoadBalance *LoadBalance
	Cache       *Cache
	Kubernetes  *Kubernetes
	Hosts       *Hosts
	// Rewrites are applied in order, each stopping or continuing.
	Rewrites []Rewrite
	// Forwards are chained in order, as several forward lines in one
	// CoreDNS block are: a name one does not take goes to the next.
	Forwards []Forward
	AutoPath *AutoPath
	Transfer *Transfer
}

// zoneNames returns the block's zones, for plugins that default to them.
func (b *ServerBlock) zoneNames() []string {
	out := make([]string, 0, len(b.Zones))
	for _, z := range b.Zones {
		out = append(out, z.Zone)
	}
	return out
}

// Bind is `bind ADDRESS`: the block listens on that address only.
type Bind struct {
	Pos  Pos
	Addr netip.Addr
}

// Errors is `errors [stdout]`: errors of queries are logged.
type Errors struct{ Pos Pos }

// LogRule is one `log [NAMES...] { class CLASSES... }` line: queries for
// names under Names whose answer falls in Classes are logged in CoreDNS's
// default format.
type LogRule struct {
	Pos Pos
	// Names are canonical zones; "." (all) by default.
	Names []string
	// Classes are among "all", "success", "denial", "error"; "all" by
	// default.
	Classes []string
}

// Health is `health [ADDR] { lameduck D }`.
type Health struct {
	Pos Pos
	// Addr is host:port of the HTTP /health endpoint.
	Addr string
	// Lameduck is how long the server keeps answering after SIGTERM, with
	// /health still 200 and /ready down; 0 is none.
	Lameduck time.Duration
}

// Ready is `ready [ADDR]`: HTTP /ready, 200 once every plugin is ready.
type Ready struct {
	Pos  Pos
	Addr string
}

// Prometheus is `prometheus [ADDR]`: HTTP /metrics.
type Prometheus struct {
	Pos  Pos
	Addr string
}

// Reload is `reload [INTERVAL [JITTER]]`: the Corefile is checked for a
// change every Interval plus a random offset in [-Jitter/2, Jitter/2).
type Reload struct {
	Pos      Pos
	Interval time.Duration
	// Jitter is already capped at Interval/2, as CoreDNS caps it.
	Jitter time.Duration
}

// Loop is `loop`: a forwarding loop is probed for at start.
type Loop struct{ Pos Pos }

// LoadBalance is `loadbalance [round_robin]`: A and AAAA records of an
// answer are shuffled.
type LoadBalance struct{ Pos Pos }

// AutoPath is `autopath [ZONES...] @kubernetes`: server-side search-path
// expansion (package autopath) in the kubernetes zones under ZONES.
type AutoPath struct {
	Pos   Pos
	Zones []string
	// Plugin names the plugin giving the search path: always "kubernetes".
	Plugin string
}

// Transfer is `transfer [ZONES...] { to ADDRESS... }`: zone transfers of
// the cluster zones under ZONES (the block's by default) to the addresses
// listed, and NOTIFY to each single address.
type Transfer struct {
	Pos   Pos
	Zones []string
	To    []transfer.Target
}

// Kubernetes is the `kubernetes` block: the cluster zones.
type Kubernetes struct {
	Pos Pos
	// Zones are the plugin's zones, canonical, forward and reverse mixed in
	// Corefile order; the first forward zone is the primary one.
	Zones            []string
	PodRecords       zone.PodRecords
	EndpointPodNames bool
	TTL              uint32
	// Namespaces, if not empty, are the only namespaces served.
	Namespaces []string
	// Fallthrough are the zones whose name errors go to the next plugin
	// (forward) instead of NXDOMAIN; nil is none, ["."] is every zone.
	Fallthrough        []string
	IgnoreEmptyService bool
	// Zonal answers <topology>.pin|prefer._zone names (`zonal`).
	Zonal bool
	// Multicluster are the zones answered from ServiceImports
	// (`multicluster ZONES...`), canonical.
	Multicluster []string
	// Kubeconfig is set by `kubeconfig PATH [CONTEXT]`; nil means in-cluster.
	Kubeconfig *Kubeconfig
}

// Kubeconfig is a kubeconfig file and an optional context in it.
type Kubeconfig struct {
	Path    string
	Context string
}

// ZoneOptions returns the zone engine's options the block gives.
func (k *Kubernetes) ZoneOptions() zone.Options {
	o := zone.DefaultOptions()
	o.Zones, o.ReverseZones = nil, nil
	for _, z := range k.Zones {
		if isReverse(z) {
			o.ReverseZones = append(o.ReverseZones, z)
		} else {
			o.Zones = append(o.Zones, z)
		}
	}
	o.TTL = k.TTL
	o.PodRecords = k.PodRecords
	o.EndpointPodNames = k.EndpointPodNames
	o.Namespaces = append([]string(nil), k.Namespaces...)
	o.IgnoreEmptyService = k.IgnoreEmptyService
	o.Zonal = k.Zonal
	o.MulticlusterZones = append([]string(nil), k.Multicluster...)
	return o
}

func isReverse(z string) bool {
	return z == "in-addr.arpa." || z == "ip6.arpa." ||
		strings.HasSuffix(z, ".in-addr.arpa.") || strings.HasSuffix(z, ".ip6.arpa.")
}

// Policy orders a forward's upstreams for each query.
type Policy uint8

// The policies of forward's `policy` option.
const (
	PolicyRandom Policy = iota
	PolicyRoundRobin
	PolicySequential
)

func (p Policy) String() string {
	switch p {
	case PolicyRoundRobin:
		return "round_robin"
	case PolicySequential:
		return "sequential"
	}
	return "random"
}

// Upstream is one TO of forward: an address, or a resolv.conf file whose
// nameserver lines (on port 53) are the upstreams.
type Upstream struct {
	// Addr is valid when File is empty.
	Addr netip.AddrPort
	File string
}

func (u Upstream) String() string {
	if u.File != "" {
		return u.File
	}
	return u.Addr.String()
}

// Forward is one `forward FROM TO... { ... }` block.
type Forward struct {
	Pos Pos
	// From is the canonical zone whose names are forwarded.
	From string
	To   []Upstream
	// Except are canonical zones under From that are not forwarded.
	Except    []string
	ForceTCP  bool
	PreferUDP bool
	Policy    Policy
	// MaxFails: an upstream is down after more than MaxFails failed
	// health checks in a row; 0 never marks one down.
	MaxFails uint32
	// MaxConnectAttempts caps the failed attempts per query; 0 is no cap
	// (CoreDNS 1.14.2's default).
	MaxConnectAttempts uint32
	// HealthCheck is the interval between health checks after a failure.
	HealthCheck       time.Duration
	HealthCheckNoRec  bool
	HealthCheckDomain string
	// Expire closes pooled upstream connections idle this long.
	Expire       time.Duration
	MaxIdleConns int
	// MaxConcurrent bounds the queries in flight (REFUSED beyond); 0 is
	// no bound.
	MaxConcurrent int
}

// Cache is the `cache [TTL] [ZONES...] { ... }` block. Its fields are the
// ones of internal/cache.Config, in CoreDNS's units.
type Cache struct {
	Pos Pos
	// Zones are the canonical zones whose answers are cached.
	Zones                           []string
	SuccessCapacity, DenialCapacity int
	SuccessMaxTTL, SuccessMinTTL    time.Duration
	DenialMaxTTL, DenialMinTTL      time.Duration
	// ServfailTTL is how long an upstream SERVFAIL is cached; 0 is never.
	ServfailTTL time.Duration
	Prefetch    Prefetch
	ServeStale  ServeStale
	// DisableSuccess and DisableDenial are the zones whose answers are not
	// stored (their TTLs are still capped).
	DisableSuccess, DisableDenial []string
	KeepTTL                       bool
}

// Prefetch is `prefetch AMOUNT [DURATION [PERCENTAGE%]]`; Amount 0 is off.
type Prefetch struct {
	Amount     int
	Duration   time.Duration
	Percentage int
}

// ServeStale is `serve_stale [DURATION [immediate|verify]]`; Duration 0
// is off.
type ServeStale struct {
	Duration time.Duration
	Verify   bool
}

// Hosts is the `hosts [FILE [ZONES...]] { ... }` block.
type Hosts struct {
	Pos Pos
	// File is read (and re-read every Reload) besides the inline entries;
	// CoreDNS reads /etc/hosts when none is given.
	File string
	// Zones are the canonical zones answered; names outside them are
	// ignored, in the file as inline.
	Zones       []string
	Entries     []HostsEntry
	TTL         uint32
	Reload      time.Duration
	NoReverse   bool
	Fallthrough []string
}

// HostsEntry is one inline `ADDRESS NAMES...` line.
type HostsEntry struct {
	Pos  Pos
	Addr netip.Addr
	// Names are canonical, and all inside the plugin's zones.
	Names []string
}

// NameMatch is how a rewrite name rule matches the question name.
type NameMatch uint8

// The match types of `rewrite name`.
const (
	MatchExact NameMatch = iota
	MatchPrefix
	MatchSuffix
	MatchSubstring
	MatchRegex
)

func (m NameMatch) String() string {
	return [...]string{"exact", "prefix", "suffix", "substring", "regex"}[m]
}

// Rewrite is one `rewrite [continue|stop] name [MATCH] FROM TO [answer ...]`
// rule. The question name it matches is the lower-cased, fully qualified
// one.
type Rewrite struct {
	Pos Pos
	// Continue lets the next rule see the rewritten name; otherwise the
	// first matching rule is the last.
	Continue bool
	Match    NameMatch
	// From and To are as CoreDNS keeps them: for every match but regex
	// both are lower-cased and fully qualified (so prefix "foo" is "foo.");
	// for regex From is the pattern and To the template with {N} groups.
	From, To string
	// AnswerAuto maps the rewritten name back in the answer's names and
	// values (always on for exact, as in CoreDNS; suffix maps the suffix
	// back; the others map the rewritten question back to the original).
	AnswerAuto bool
	// Answers are explicit `answer name|value REGEX TEMPLATE` rules.
	Answers []AnswerRewrite
}

// AnswerRewrite is `answer name FROM TO` (owner names) or `answer value
// FROM TO` (CNAME, SRV, MX, NS, PTR targets) with a regular expression.
type AnswerRewrite struct {
	Value    bool
	From, To string
}
