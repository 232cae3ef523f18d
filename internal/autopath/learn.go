package autopath

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Book keeps what the server has seen of each client's own search walks,
// so that a walk is expanded only as far as the client itself has been
// seen to walk: the guess "this client's search list is the kubelet's" is
// checked against the client's own questions before it is acted on.
//
// When a client gets an NXDOMAIN (or a NODATA) for a question of the
// first-step shape, the Book follows its next questions that start with
// the same base name: the client's next steps. Each one that is the next
// name of the kubelet's list (Candidates) extends what is known of that
// client's list in that namespace; a question for any other name under the
// base (`<base>.corp.example.` from a custom dnsConfig search list, the
// bare name too early, a node search domain the server does not have, a
// name further down the list: the client's list lacks the names between,
// or a cache in front answered them) marks the client's walks in that
// namespace as differing, and nothing is expanded for it until that mark
// expires.
//
// What is known lasts TrustFor and is not extended by expansions (the
// client no longer walks): afterwards the client walks once more on its
// own. A pod that gets the address of an earlier one of the same
// namespace within that time inherits what was learned of that one.
//
// It is keyed by (client address, namespace): behind NodeLocal DNSCache
// every pod of a node shares an address, and one pod with a custom list
// in a namespace stops expansion for that namespace on that node. Memory
// is bounded: bookShards shards of at most shardKnown known entries and
// shardClients clients with walks being followed, maxPending each.
type Book struct {
	trustFor int64 // nanoseconds
	epoch    time.Time
	// walking counts the walks being followed per slot of client
	// addresses (a hash): Observe returns at once for a client whose
	// slot has none, without a lock.
	walking [walkingSlots]atomic.Int32
	shards  [bookShards]bookShard
}

const (
	walkingSlots = 4096
	bookShards   = 64
	shardKnown   = 1024 // 64 Ki (client, namespace) pairs in all
	shardClients = 128  // 8 Ki clients with walks being followed
	maxPending   = 4    // walks followed per client at once
	// stepWindow is how long a walk is followed after a step: the
	// client asks its next step as soon as it has the last one's answers
	// (a step asked again after a lost reply comes after a timeout, 5 s
	// by default: that walk is not learned from). Short, so that later
	// questions of the client under the same base (its walk ended with
	// an answer) are not taken for steps.
	stepWindow = 2 * time.Second
	// maxName is the longest name a walk asks (Walk skips longer ones,
	// as resolvers do).
	maxName = 254
)

type bookShard struct {
	mu      sync.Mutex
	known   map[knownKey]known
	pending map[netip.Addr][]pendingWalk
}

type knownKey struct {
	client netip.Addr
	ns     string
}

// known is what was learned of a client's list in a namespace: how many
// of the kubelet's names after the first step it was seen to ask, in
// order (steps), or that it asked something else (differs), until until.
type known struct {
	steps   int
	differs bool
	until   int64
}

// pendingWalk is a walk being followed: the client got the NXDOMAIN for
// `<base>.<ns>.svc.<zone>` and is expected to ask suffixes[next] next.
type pendingWalk struct {
	base, ns, first string // first: the rest of the first step, `<ns>.svc.<zone>.`
	suffixes        []string
	next            int
	until           int64
}

// NewBook returns a book whose knowledge lasts trustFor.
func NewBook(trustFor time.Duration) *Book {
	b := &Book{trustFor: int64(trustFor), epoch: time.Now()}
	for i := range b.shards {
		b.shards[i].known = map[knownKey]known{}
		b.shards[i].pending = map[netip.Addr][]pendingWalk{}
	}
	return b
}

func (b *Book) now() int64 { return int64(time.Since(b.epoch)) }

// hash mixes the client's address (two multiplications: it runs on
// every question).
func hash(client netip.Addr) uint32 {
	if client.Is4() {
		v4 := client.As4()
		return uint32((uint64(binary.BigEndian.Uint32(v4[:])) * 0x9e3779b97f4a7c15) >> 32)
	}
	ip := client.As16()
	hi, lo := binary.BigEndian.Uint64(ip[:8]), binary.BigEndian.Uint64(ip[8:])
	return uint32(((hi*0x9e3779b97f4a7c15 ^ lo) * 0xbf58476d1ce4e5b9) >> 32)
}

func (b *Book) shard(client netip.Addr) *bookShard { return &b.shards[hash(client)%bookShards] }

// slot counts the walks followed for client (and the clients sharing its
// slot).
func (b *Book) slot(client netip.Addr) *atomic.Int32 {
	return &b.walking[(hash(client)/bookShards)%walkingSlots]
}

// Steps is how many names of st's walk (Candidates) the client has been
// seen to ask, and why none may be asked for it when that is 0.
func (b *Book) Steps(client netip.Addr, st Step) (int, string) {
	client = client.Unmap()
	sh := b.shard(client)
	sh.mu.Lock()
	k, ok := sh.known[knownKey{client, st.Namespace}]
	sh.mu.Unlock()
	switch {
	case !ok || k.until <= b.now():
		return 0, Unverified
	case k.differs:
		return 0, Differs
	}
	return k.steps, ""
}

// Begin follows the walk of client that starts at st (the client got its
// NXDOMAIN or NODATA); suffixes are what follows st's base in the names
// it should ask next, "" for the bare name.
func (b *Book) Begin(client netip.Addr, st Step, suffixes []string) {
	client = client.Unmap()
	now := b.now()
	sh := b.shard(client)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	walks, ok := sh.pending[client]
	for i := range walks {
		if walks[i].base == st.Base && walks[i].ns == st.Namespace && walks[i].until > now {
			return // the same walk, another type
		}
	}
	if !ok && len(sh.pending) >= shardClients && !b.dropStalePending(sh, now) {
		return // full of clients walking now: this walk is not learned from
	}
	// st's strings may alias a receive buffer: one copy for all three.
	name := strings.Clone(st.Name)
	base := name[:len(st.Base)]
	w := pendingWalk{base: base, ns: name[len(base)+1 : len(base)+1+len(st.Namespace)], first: name[len(base)+1:], suffixes: suffixes, until: now + int64(stepWindow)}
	w.skipLong()
	if len(walks) >= maxPending {
		walks = append(walks[:0], walks[1:]...) // drop the oldest
		b.slot(client).Add(-1)
	}
	sh.pending[client] = append(walks, w)
	b.slot(client).Add(1)
}

// dropStalePending drops the clients whose walks have all run out of time;
// false when none had.
func (b *Book) dropStalePending(sh *bookShard, now int64) bool {
	dropped := false
	for c, walks := range sh.pending {
		if !slices.ContainsFunc(walks, func(w pendingWalk) bool { return w.until > now }) {
			delete(sh.pending, c)
			b.slot(c).Add(-int32(len(walks)))
			dropped = true
		}
	}
	return dropped
}

// Observe is a question of client (canonical name): a step of a walk
// being followed, or not. It takes no lock when no walk is followed.
func (b *Book) Observe(client netip.Addr, name string) {
	client = client.Unmap()
	if slot := b.slot(client); slot.Load() != 0 {
		b.observe(client, name, slot)
	}
}

func (b *Book) observe(client netip.Addr, name string, slot *atomic.Int32) {
	sh := b.shard(client)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	walks, ok := sh.pending[client]
	if !ok {
		return
	}
	now := b.now()
	// The longest base first: a name that is a step of the walk of
	// `web.other` is not a differing step of the walk of `web`.
	slices.SortFunc(walks, func(x, y pendingWalk) int { return len(y.base) - len(x.base) })
	kept := walks[:0]
	claimed := false
	for _, w := range walks {
		if w.until <= now {
			continue
		}
		if claimed {
			kept = append(kept, w)
			continue
		}
		kind, ours := w.step(name)
		claimed = ours
		switch kind {
		case stepAsked:
			sh.learn(client, w.ns, w.next, now, now+b.trustFor)
			if w.next == len(w.suffixes) {
				continue // the whole list was seen
			}
			w.until = now + int64(stepWindow)
		case stepDiffers:
			sh.differ(client, w.ns, now, now+b.trustFor)
			continue
		}
		kept = append(kept, w)
	}
	slot.Add(int32(len(kept) - len(walks)))
	if len(kept) == 0 {
		delete(sh.pending, client)
		return
	}
	sh.pending[client] = kept
}

type stepKind int

const (
	stepOther   stepKind = iota // not a step of this walk
	stepAsked                   // the next name: one more learned
	stepDiffers                 // a name the kubelet's list does not have there
)

// step classifies name as a question of w's client; ours reports that
// name is a name of w's walk (its first step, one of its steps, or the
// first step of a longer name under its base).
func (w *pendingWalk) step(name string) (kind stepKind, ours bool) {
	n := len(w.base)
	if len(name) <= n || name[:n] != w.base || name[n] != '.' {
		return stepOther, false
	}
	rest := name[n+1:]
	if rest == w.first {
		return stepOther, true // the first step again (another type, a retry)
	}
	for j, s := range w.suffixes {
		if rest != s {
			continue
		}
		switch {
		case j < w.next:
			return stepOther, true // asked already (another type)
		case j == w.next:
			w.next++
			w.skipLong()
			return stepAsked, true
		}
		// A name further down the list: the client's list lacks the
		// names between (`search <ns>.svc.<zone>` alone), or a cache in
		// front answered them. Either way this address's walk is not
		// the one the server would expand.
		return stepDiffers, true
	}
	if isFirstStepOf(rest, w.first) {
		return stepOther, true // the first step of a longer name (`<base>.x`)
	}
	return stepDiffers, true
}

// isFirstStepOf reports whether rest, what follows a base, is
// `<labels>.<first>`: the first step of another name in the namespace.
func isFirstStepOf(rest, first string) bool {
	return len(rest) > len(first) && rest[len(rest)-len(first)-1] == '.' && rest[len(rest)-len(first):] == first
}

// skipLong steps over names longer than a walk asks.
func (w *pendingWalk) skipLong() {
	for w.next < len(w.suffixes) && len(w.base)+1+len(w.suffixes[w.next]) > maxName {
		w.next++
	}
}

func (sh *bookShard) learn(client netip.Addr, ns string, steps int, now, until int64) {
	key := knownKey{client, ns}
	if k, ok := sh.known[key]; ok && k.until > now {
		if k.differs {
			return // a walk that differs was seen: it stays so until it expires
		}
		steps = max(steps, k.steps)
	}
	sh.put(key, known{steps: steps, until: until}, now)
}

// know records that client was seen to ask steps names of its walks in
// ns (for a model's pod whose walk is taken as seen).
func (b *Book) know(client netip.Addr, ns string, steps int) {
	client = client.Unmap()
	now := b.now()
	b.shard(client).learn(client, ns, steps, now, now+b.trustFor)
}

func (sh *bookShard) differ(client netip.Addr, ns string, now, until int64) {
	sh.put(knownKey{client, ns}, known{differs: true, until: until}, now)
}

// put stores k, making room when the shard is full: the expired entries
// go, or else one at random.
func (sh *bookShard) put(key knownKey, k known, now int64) {
	if _, ok := sh.known[key]; !ok && len(sh.known) >= shardKnown {
		for kk, v := range sh.known {
			if v.until <= now {
				delete(sh.known, kk)
			}
		}
		for kk := range sh.known {
			if len(sh.known) < shardKnown {
				break
			}
			delete(sh.known, kk)
		}
	}
	sh.known[key] = k
}
