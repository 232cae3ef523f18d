package hosts

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/miekg/dns"
)

// Action is what the server does with a query Lookup was asked.
type Action uint8

// The actions of ServeDNS (hosts.go:24-73).
const (
	// ActionNext hands the query to what follows hosts in the server
	// block (plugin.NextOrFailure: SERVFAIL when nothing follows).
	ActionNext Action = iota
	// ActionAnswer is an authoritative NOERROR with Result.Records as the
	// answer section: NODATA when there are none. No SOA is added.
	ActionAnswer
	// ActionServFail is a SERVFAIL, not authoritative, with no records:
	// CoreDNS's stand-in for the NXDOMAIN it has no SOA for.
	ActionServFail
)

func (a Action) String() string {
	switch a {
	case ActionNext:
		return "next"
	case ActionAnswer:
		return "answer"
	case ActionServFail:
		return "servfail"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Result is Lookup's decision.
type Result struct {
	Action Action
	// Records are the answer's A, AAAA or PTR records, in CoreDNS's order,
	// owned by the question name (lower case). They are shared with other
	// answers and must not be modified: dns.Copy one to change it.
	Records []dns.RR
	set     *rrset
}

// Hosts answers from the inline entries and the hosts file; it is safe for
// concurrent use.
type Hosts struct {
	zones     []string
	fall      []string
	ttl       uint32
	reverse   bool
	file      string
	reloadDur time.Duration
	inline    []corefile.HostsEntry
	log       *slog.Logger

	tab atomic.Pointer[table]

	// mu serializes reloads; the fields below it are the reload's state.
	mu sync.Mutex
	// seen is the file's modification time and size when last read, to
	// read it again only when they change (hostsfile.go:127-129).
	seenMod  time.Time
	seenSize int64
	seenOK   bool
	// failing is the last reload error logged, so that a lasting failure
	// is logged once.
	failing string
}

// New builds the table of cfg's inline entries and file; a file that does
// not exist is logged and the inline entries served alone. Zones must not
// be empty; a zero TTL is CoreDNS's default, 3600. log may be nil.
func New(cfg *corefile.Hosts, log *slog.Logger) (*Hosts, error) {
	if len(cfg.Zones) == 0 {
		return nil, errors.New("hosts: no zones")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hosts{
		zones:     canonicalAll(cfg.Zones),
		fall:      canonicalAll(cfg.Fallthrough),
		ttl:       cfg.TTL,
		reverse:   !cfg.NoReverse,
		file:      cfg.File,
		reloadDur: max(cfg.Reload, 0),
		inline:    cfg.Entries,
		log:       log.With("plugin", "hosts", "file", cfg.File),
	}
	if h.ttl == 0 {
		h.ttl = corefile.DefaultHostsTTL
	}
	if err := h.load(true); err != nil {
		return nil, fmt.Errorf("hosts file %s: %w", cfg.File, err)
	}
	return h, nil
}

func canonicalAll(zones []string) []string {
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = strings.ToLower(dns.Fqdn(z))
	}
	return out
}

// Lookup decides the query (qname, qtype) as ServeDNS does (hosts.go:24-73);
// see the package doc. qname is best given lower case and fully qualified,
// as the server's canonical name is: Lookup then allocates nothing, except
// for the first answer from a name or address after a (re)load and for a
// PTR query spelt other than its address's canonical reverse name.
func (h *Hosts) Lookup(qname string, qtype uint16) Result {
	qname = lower(dns.Fqdn(qname))
	t := h.tab.Load()
	// hosts.go:30-37: PTR queries need not be in the zones.
	if qtype != dns.TypePTR && !inAnyZone(h.zones, qname) {
		return Result{}
	}
	var set *rrset
	switch qtype {
	case dns.TypePTR:
		// hosts.go:41-46: no names is next, whatever fallthrough says.
		return h.lookupPTR(t, qname)
	case dns.TypeA:
		set = t.addrSet(qname, dns.TypeA, h.ttl)
	case dns.TypeAAAA:
		set = t.addrSet(qname, dns.TypeAAAA, h.ttl)
	}
	// hosts.go:55-64: a name with no address at all is NXDOMAIN's case.
	if set == nil && t.names[qname] == nil {
		if inAnyZone(h.fall, qname) {
			return Result{}
		}
		return Result{Action: ActionServFail}
	}
	r := Result{Action: ActionAnswer}
	if set != nil {
		r.Records, r.set = set.rrs, set
	}
	return r
}

func (h *Hosts) lookupPTR(t *table, qname string) Result {
	addr, ok := reverseAddr(qname)
	if !ok {
		return Result{}
	}
	rev := t.addrs[addr]
	if rev == nil {
		return Result{}
	}
	set := rev.ptr.Load()
	if set == nil {
		// The address is valid, so ReverseAddr cannot fail.
		owner, _ := dns.ReverseAddr(addr.String())
		set = ptrSet(owner, h.ttl, rev.names)
		rev.ptr.Store(set)
	}
	r := Result{Action: ActionAnswer, Records: set.rrs, set: set}
	if set.rrs[0].Header().Name != qname {
		// Another spelling of the address (an IPv4-mapped ip6.arpa. name,
		// say): CoreDNS owns the records by the question name.
		r.Records = ptrRecords(qname, h.ttl, rev.names)
	}
	return r
}

// addrSet is name's A or AAAA records; nil when it has none of the type.
// Concurrent first lookups may each build the set; one is kept, and they
// are equal.
func (t *table) addrSet(name string, rrtype uint16, ttl uint32) *rrset {
	hst := t.names[name]
	if hst == nil {
		return nil
	}
	p, addrs := &hst.a, hst.v4
	if rrtype == dns.TypeAAAA {
		p, addrs = &hst.aaaa, hst.v6
	}
	if len(addrs) == 0 {
		return nil
	}
	set := p.Load()
	if set == nil {
		set = addrSet(name, rrtype, ttl, addrs)
		p.Store(set)
	}
	return set
}

// lower is strings.ToLower (request.go:288) without its allocation when
// there is nothing to lower.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// Entries is the number of entries of the current table as
// coredns_hosts_entries counts them: an address per name plus, unless
// no_reverse, a name per address, duplicates included.
func (h *Hosts) Entries() int { return h.tab.Load().entries }

// ModTime is the modification time of the file the current table was read
// from (coredns_hosts_reload_timestamp_seconds); zero if none was read.
func (h *Hosts) ModTime() time.Time { return h.tab.Load().mod }
