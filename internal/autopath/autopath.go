// Package autopath answers the first question of a pod's search-path walk
// with what the walk would end with, so that a lookup of an external or
// cross-namespace name costs the pod one query per type instead of up to
// five.
//
// A pod's resolver (ndots:5, kubelet's search list `<ns>.svc.<zone>
// svc.<zone> <zone> <node domains...>`) asks `<name>.<ns>.svc.<zone>`
// first. That question carries the pod's namespace, so, unlike CoreDNS's
// autopath, no pod watch is needed to know the search list: when the
// cluster zone answers NXDOMAIN for it, the Expander asks the rest of the
// list in the client's order, through the server itself (cluster names
// from the zone, others through hosts, rewrite, the cache and forward, as
// the client's own queries would go), and answers the first that exists:
// a CNAME from the asked name to it, then its records; NODATA when the
// first name that exists has no records of the type (the client's walk
// would stop there too). When nothing exists anywhere, or a step fails,
// times out or is refused, the client gets the NXDOMAIN it would have got
// and walks on its own.
//
// What it guards against (Decide says why not, for explain, resolve and
// tests):
//   - A name with ndots dots or more: the client asked it as-is first, and
//     this question is a later step.
//   - A name under an existing Service (`web-0.web.<ns>.svc.<zone>` of a
//     StatefulSet peer not ready yet): the NXDOMAIN is the answer.
//   - A namespace the cluster does not have, or one excluded, or a client
//     outside the given networks (hosts that are not pods).
//   - The second step of another namespace's walk: a pod in C asking
//     `X.N` sends `X.N.C.svc.<zone>`, then `X.N.svc.<zone>`, which looks
//     exactly like the first step of a pod in N asking `X`. Every
//     NXDOMAIN or NODATA given to a question of the first-step shape marks
//     its successor for that client address for a while (Guard), and a
//     marked question is not expanded. The mark outlives the NXDOMAIN's
//     TTL, so a cache in front (NodeLocal DNSCache) that answers the first
//     step itself does not open the hole.
//
// The walk (Walk) asks through a StepFunc: the Expander's asks the server
// (Asker), a Model's asks a dry run's answers, so that `clusterdns resolve
// --server-autopath` and `explain --autopath` predict with the same
// decision (Decide, the guard) and the same walk as the server.
//
//   - A pod whose own search list (dnsConfig) is not the kubelet's: the
//     guess is checked before it is acted on. A walk is expanded only as
//     far as the client (address and namespace) was seen to walk the
//     kubelet's list on its own (Book); a client seen to walk otherwise
//     is not expanded at all. Clients in Config.Trusted (NodeLocal
//     DNSCache's address) are expanded at once, as CoreDNS does.
//
// The synthesized answer is not cached by the server; the steps use the
// cache as the client's own queries would.
package autopath

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/resolv"
	"github.com/clusterdns/clusterdns/internal/schema"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Defaults.
const (
	// DefaultNdots is the kubelet's ndots.
	DefaultNdots = 5
	// DefaultBudget bounds a whole walk; past it the client gets the
	// original NXDOMAIN. Each forwarded step has forward's own deadline,
	// longer than this: a client waits 5 s for a reply before it asks
	// again, so a walk must end well before.
	DefaultBudget = 2 * time.Second
	// DefaultTrustFor is how long what was seen of a client's walk is
	// acted on: a pod that gets an earlier pod's address within it (in
	// the same namespace) is taken for that pod.
	DefaultTrustFor = 10 * time.Minute
)

// Config says which questions are expanded and how.
type Config struct {
	// Zones are the cluster zones (the kubernetes block's forward zones).
	Zones []string
	// Ndots is the clients' ndots (DefaultNdots when 0).
	Ndots int
	// NodeSearch is the nodes' search list, which the kubelet appends to
	// the cluster's (the server's resolv.conf, as CoreDNS reads it).
	NodeSearch []string
	// Clients, when not empty, are the networks whose questions are
	// expanded (the pod network): other clients' are not.
	Clients []netip.Prefix
	// Exclude are namespaces whose pods' questions are not expanded.
	Exclude []string
	// Budget bounds a walk (DefaultBudget when 0).
	Budget time.Duration
	// GuardFor is how long a question's successor stays marked (Guard);
	// at least the NXDOMAIN's TTL plus the time a client takes to ask
	// again.
	GuardFor time.Duration
	// Trust expands for every client as if its search list were the
	// kubelet's, as CoreDNS's autopath does, and Trusted for the clients
	// in these networks (NodeLocal DNSCache's addresses: the steps it
	// forwards elsewhere never reach the server). For the others, a walk
	// is expanded only as far as the client has been seen to walk it on
	// its own (Book): a client's first walk in a namespace is not.
	Trust   bool
	Trusted []netip.Prefix
	// TrustFor is how long what was seen of a client's walk is acted on
	// (DefaultTrustFor when 0).
	TrustFor time.Duration
	// Recorder counts expansions (nil: none).
	Recorder Recorder
	Log      *slog.Logger
}

// Recorder counts what the expander did.
type Recorder interface {
	// Expanded is an answer from step `saved` of the walk (1: the next
	// name): the client is saved that many questions.
	Expanded(saved int)
}

// Asker answers a query as the server answers a client, without autopath
// and without counting it as a query: the steps of a walk.
type Asker interface {
	Ask(msg []byte, t server.Transport, remote netip.AddrPort) []byte
}

// Expander expands first steps; it is the server's Expander.
type Expander struct {
	cfg     Config
	zones   []string
	exclude map[string]bool
	asker   Asker
	guard   *Guard
	book    *Book // nil with Config.Trust: every client is trusted
	log     *slog.Logger

	mu       sync.RWMutex
	suffixes map[nsZone][]string
}

type nsZone struct{ ns, zone string }

// New checks cfg and returns an Expander asking asker.
func New(cfg Config, asker Asker) (*Expander, error) {
	if len(cfg.Zones) == 0 {
		return nil, fmt.Errorf("autopath: no cluster zone")
	}
	if cfg.Ndots == 0 {
		cfg.Ndots = DefaultNdots
	}
	if cfg.Ndots < 1 || cfg.Ndots > 15 {
		return nil, fmt.Errorf("autopath: ndots %d out of range 1-15", cfg.Ndots)
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.GuardFor <= 0 {
		return nil, fmt.Errorf("autopath: the guard's duration must be positive")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TrustFor == 0 {
		cfg.TrustFor = DefaultTrustFor
	}
	if cfg.TrustFor < 0 {
		return nil, fmt.Errorf("autopath: the time a client's walk is trusted must be positive")
	}
	e := &Expander{cfg: cfg, asker: asker, exclude: map[string]bool{}, guard: NewGuard(cfg.GuardFor), log: cfg.Log, suffixes: map[nsZone][]string{}}
	if !cfg.Trust {
		e.book = NewBook(cfg.TrustFor)
	}
	for _, z := range cfg.Zones {
		e.zones = append(e.zones, strings.ToLower(dns.Fqdn(z)))
	}
	for _, ns := range cfg.Exclude {
		e.exclude[strings.ToLower(ns)] = true
	}
	return e, nil
}

// Step is a question of the first-step shape, `<base>.<ns>.svc.<zone>`.
type Step struct {
	Name      string // canonical
	Base      string // what the client typed, no trailing dot
	Namespace string
	Zone      string
	// Known is how many names of the walk (Candidates) the server has
	// seen the client ask on its own, in order: the walk asks no more.
	// -1: every name (Config.Trust). Decide sets it.
	Known int
}

// parse splits a canonical name of the first-step shape.
func (e *Expander) parse(name string) (Step, bool) {
	for _, z := range e.zones {
		svc := schema.SvcDomain(z)
		if len(name) <= len(svc)+1 || !strings.HasSuffix(name, svc) || name[len(name)-len(svc)-1] != '.' {
			continue
		}
		rel := name[:len(name)-len(svc)-1] // "<base>.<ns>"
		i := strings.LastIndexByte(rel, '.')
		if i <= 0 {
			return Step{}, false
		}
		return Step{Name: name, Base: rel[:i], Namespace: rel[i+1:], Zone: z}, true
	}
	return Step{}, false
}

// Why not: the reasons Expands declines.
const (
	NotFirstStepShape = "not of the shape <name>.<namespace>.svc.<zone>"
	NotClient         = "the client is outside the networks autopath serves"
	NotNamespace      = "the namespace does not exist"
	Excluded          = "the namespace is excluded from autopath"
	TooManyDots       = "the name has ndots dots or more: the client asked it as-is first"
	UnderService      = "the name is under an existing Service: its NXDOMAIN is the answer"
	SecondStep        = "the question follows an NXDOMAIN to this client: it is a later step of another walk"
	Unverified        = "the server has not yet seen this client walk its search list in this namespace on its own (it expands only as far as it has seen the client's own walk go)"
	Differs           = "this client's own search walk in this namespace was seen to differ from the kubelet's list (a custom dnsConfig search list, or another pod behind the same address)"
)

// Decide says whether q, which the zone answers NXDOMAIN, is expanded,
// and why not. It allocates nothing.
func (e *Expander) Decide(q *server.Question, snap *zone.Snapshot) (Step, string) {
	st, ok := e.parse(q.Name)
	if !ok {
		return st, NotFirstStepShape
	}
	switch {
	case !e.client(q.Remote.Addr()):
		return st, NotClient
	case !snap.ExposedNamespace(st.Namespace):
		return st, NotNamespace
	case e.exclude[st.Namespace]:
		return st, Excluded
	case strings.Count(st.Base, ".") >= e.cfg.Ndots:
		return st, TooManyDots
	case snap.HasService(st.serviceAbove()):
		return st, UnderService
	case e.guard.Marked(q.Remote.Addr(), st.Name, time.Now()):
		return st, SecondStep
	}
	var why string
	st.Known, why = e.known(q.Remote.Addr(), st)
	return st, why
}

// known is how many names of st's walk client was seen to ask (-1: all,
// trusting), and why none when 0.
func (e *Expander) known(client netip.Addr, st Step) (int, string) {
	if e.trusts(client) {
		return -1, ""
	}
	return e.book.Steps(client, st)
}

// serviceAbove is the key (schema.ServiceKey) of the Service the base's
// last label would name in the namespace, `<last label>.<ns>`, cut from
// the name.
func (st Step) serviceAbove() string {
	i := strings.LastIndexByte(st.Base, '.')
	return st.Name[i+1 : len(st.Base)+1+len(st.Namespace)]
}

// successor is the client's next question after this one failed,
// `<base>.svc.<zone>`, in two parts (the guard hashes them as one).
func (st Step) successor() (string, string) {
	return st.Base, st.Name[len(st.Name)-len(st.Zone)-len(schema.SvcLabel)-2:]
}

func (e *Expander) client(a netip.Addr) bool {
	return len(e.cfg.Clients) == 0 || within(a, e.cfg.Clients)
}

// within reports whether a is in one of the networks.
func within(a netip.Addr, networks []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range networks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Expands reports whether the server should hand q (an NXDOMAIN of the
// cluster zone) to Resolve. One that is not expanded but could be a step
// whose successor looks like a first step marks that successor.
func (e *Expander) Expands(q *server.Question, snap *zone.Snapshot) bool {
	st, why := e.Decide(q, snap)
	e.declined(q.Remote.Addr(), st, why)
	return why == ""
}

// declined is what follows a decision not to expand st (why, from
// Decide): when st may be a step of the client's walk, the client may ask
// its successor next, which is marked.
func (e *Expander) declined(client netip.Addr, st Step, why string) {
	switch why {
	case "", NotFirstStepShape, NotClient:
	case NotNamespace, Excluded:
		e.mark(client, st)
	default:
		e.mark(client, st)
		e.follow(client, st)
	}
}

// trusts reports whether client's search list is taken to be the
// kubelet's without seeing it walk.
func (e *Expander) trusts(client netip.Addr) bool {
	return e.book == nil || within(client, e.cfg.Trusted)
}

// follow has the Book follow the client's walk from st, which it answered
// NXDOMAIN or NODATA.
func (e *Expander) follow(client netip.Addr, st Step) {
	if !e.trusts(client) {
		e.book.Begin(client, st, e.suffixesOf(st))
	}
}

// Observe is every question of a client (not the walk's own steps), for
// the Book.
func (e *Expander) Observe(client netip.Addr, name string) {
	if e.book != nil {
		e.book.Observe(client, name)
	}
}

// mark notes that the client may ask st's successor next, when that
// successor has the first-step shape (a base of two labels or more).
func (e *Expander) mark(client netip.Addr, st Step) {
	if strings.IndexByte(st.Base, '.') > 0 {
		a, b := st.successor()
		e.guard.Mark(client, a, b, time.Now())
	}
}

// Cached: an expansion is never answered from a cache.
func (e *Expander) Cached(*server.Question, []byte) ([]byte, bool) { return nil, false }

// Candidates are the names the client would ask after st, in its order:
// the rest of the kubelet's search list for the namespace, then the name
// itself.
func (e *Expander) Candidates(st Step) []string {
	suffixes := e.suffixesOf(st)
	out := make([]string, len(suffixes))
	for i, s := range suffixes {
		out[i] = st.Base + "." + s
	}
	return out
}

// suffixesOf is what follows the base in the names of st's walk
// (Candidates), "" for the bare name: the kubelet's search list for the
// namespace after its first entry.
func (e *Expander) suffixesOf(st Step) []string {
	key := nsZone{st.Namespace, st.Zone}
	e.mu.RLock()
	s, ok := e.suffixes[key]
	e.mu.RUnlock()
	if ok {
		return s
	}
	conf := resolv.ClusterFirst(st.Namespace, strings.TrimSuffix(st.Zone, "."), resolv.DefaultClusterDNS, e.cfg.NodeSearch...)
	for i, d := range conf.Search {
		if i > 0 {
			s = append(s, strings.TrimSuffix(d, ".")+".")
		}
	}
	s = append(s, "")
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.suffixes) >= maxSuffixLists {
		clear(e.suffixes)
	}
	// The step's strings may alias a receive buffer.
	e.suffixes[nsZone{strings.Clone(st.Namespace), strings.Clone(st.Zone)}] = s
	return s
}

// maxSuffixLists bounds the walks' suffix lists kept, one per namespace.
const maxSuffixLists = 16384

// Resolve walks q's candidates and replies (server.Outside).
func (e *Expander) Resolve(q *server.Question, reply func([]byte)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Budget)
		defer cancel()
		reply(e.walk(ctx, q))
	}()
}
