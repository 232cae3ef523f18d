package resolv

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Libc is the resolver library in the image.
type Libc string

// Resolver libraries.
const (
	Glibc Libc = "glibc" // Debian, Ubuntu, RHEL, distroless/base images
	Musl  Libc = "musl"  // Alpine, busybox:musl
	Go    Libc = "go"    // Go's pure resolver (CGO_ENABLED=0 binaries, PreferGo)
)

// Call is the API the program calls.
type Call string

// API calls.
const (
	// GetAddrInfo is getaddrinfo(AF_UNSPEC): A and AAAA per name (glibc, musl).
	GetAddrInfo Call = "getaddrinfo"
	// GetHostByName is gethostbyname: A only (glibc, musl).
	GetHostByName Call = "gethostbyname"
	// GetentHosts is glibc's `getent hosts`: gethostbyname2(AF_INET6), then
	// gethostbyname2(AF_INET) when that fails; two whole walks.
	GetentHosts Call = "getent-hosts"
	// Dig is BIND's `dig +search` with one type (Model.Type).
	Dig Call = "dig"
	// GoLookup is Go's net.Resolver LookupHost / Dial: A and AAAA per name.
	GoLookup Call = "go"
)

// Model is one client: the library, the call, and for dig the type and for
// getaddrinfo / Go the address family.
type Model struct {
	Libc Libc
	Call Call
	// Type is the query type of Call Dig; 0 means A.
	Type uint16
	// Family limits getaddrinfo and Go lookups to one family: 0 for both,
	// 4 (AF_INET, "ip4") or 6 (AF_INET6, "ip6").
	Family int
}

// ParseModel checks a --libc / --call pair; call "" is the library's usual
// call (getaddrinfo, or go for Go).
func ParseModel(libc, call string) (Model, error) {
	m := Model{Libc: Libc(strings.ToLower(libc)), Call: Call(strings.ToLower(call))}
	switch m.Libc {
	case Glibc, Musl:
		if m.Call == "" {
			m.Call = GetAddrInfo
		}
	case Go:
		if m.Call == "" {
			m.Call = GoLookup
		}
	default:
		return Model{}, fmt.Errorf("--libc %q: want glibc, musl or go", libc)
	}
	switch m.Call {
	case GetAddrInfo, GetHostByName:
		if m.Libc == Go {
			return Model{}, fmt.Errorf("--call %s: Go's pure resolver does not call libc; use --call go", m.Call)
		}
	case GetentHosts:
		if m.Libc != Glibc {
			return Model{}, fmt.Errorf("--call getent-hosts: modelled for glibc only")
		}
	case GoLookup:
		if m.Libc != Go {
			return Model{}, fmt.Errorf("--call go needs --libc go")
		}
	case Dig:
	default:
		return Model{}, fmt.Errorf("--call %q: want getaddrinfo, gethostbyname, getent-hosts, dig or go", call)
	}
	return m, nil
}

// String names the model: "glibc getaddrinfo".
func (m Model) String() string {
	if m.Call == Dig {
		return "dig +search " + dns.TypeToString[m.digType()]
	}
	if m.Call == GoLookup {
		return "Go resolver LookupHost"
	}
	return string(m.Libc) + " " + string(m.Call)
}

func (m Model) digType() uint16 {
	if m.Type == 0 {
		return dns.TypeA
	}
	return m.Type
}

type dialect int

const (
	dialectGlibc dialect = iota
	dialectMusl
	dialectGo
	dialectDig
)

// dialect is whose rules read resolv.conf and walk the search list.
func (m Model) dialect() dialect {
	switch {
	case m.Call == Dig:
		return dialectDig
	case m.Libc == Musl:
		return dialectMusl
	case m.Libc == Go:
		return dialectGo
	}
	return dialectGlibc
}

// Question is one DNS question the client sends.
type Question struct {
	// Name is fully qualified, with the trailing dot.
	Name string
	Type uint16
	// Candidate is the index of Name in the client's candidate list.
	Candidate int
	// Walk is 1 for the A walk of getent-hosts (after the AAAA walk), else 0.
	Walk int
}

// Candidate is one name the client tries.
type Candidate struct {
	// Name is fully qualified, with the trailing dot.
	Name string
	// AsIs: the name as given (not a search expansion).
	AsIs bool
	// Search: a search list expansion; Domain is the entry that made it
	// ("" for the root, "." in resolv.conf).
	Search bool
	Domain string
	// Skip says why the client sends nothing for it ("" when it does).
	Skip string
}

// maxName is the longest name a resolver encodes, without the final dot.
const maxName = 253

// CheckName refuses what is not a host name a resolver would look up.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	n := strings.TrimSuffix(name, ".")
	if n == "" {
		return fmt.Errorf("name %q: the root has no addresses", name)
	}
	if len(n) > maxName {
		return fmt.Errorf("name %q: %d characters, at most %d", name, len(n), maxName)
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" {
			return fmt.Errorf("name %q: empty label", name)
		}
		if len(l) > 63 {
			return fmt.Errorf("name %q: label %q longer than 63 characters", name, l)
		}
		for _, c := range l {
			if c <= ' ' || c == 0x7f || c > 0x7e {
				return fmt.Errorf("name %q: character %q is not allowed", name, c)
			}
		}
	}
	return nil
}

func dots(name string) int { return strings.Count(name, ".") }

func join(name, domain string) string {
	if domain == "" {
		return name + "."
	}
	return name + "." + strings.TrimSuffix(domain, ".") + "."
}

// Candidates returns the names the client tries for name, in order, as if
// every one failed with NXDOMAIN (Simulate says where it really stops).
// name must pass CheckName.
func Candidates(v View, name string, m Model) []Candidate {
	if strings.HasSuffix(name, ".") {
		// Every client: a trailing dot means this name only.
		return []Candidate{{Name: name, AsIs: true}}
	}
	switch m.dialect() {
	case dialectMusl:
		return muslCandidates(v, name)
	case dialectGo:
		return goCandidates(v, name)
	case dialectDig:
		return digCandidates(v, name)
	}
	return glibcCandidates(v, name)
}

// asIsCandidate is the name as given, fully qualified.
func asIsCandidate(name string) Candidate { return Candidate{Name: name + ".", AsIs: true} }

// muslCandidates is name_from_dns_search: the name as is only, when it has
// ndots dots; otherwise every search domain, then the name as is. A name
// musl cannot encode stays on the list, marked Skip.
func muslCandidates(v View, name string) []Candidate {
	if dots(name) >= v.Ndots {
		return []Candidate{asIsCandidate(name)}
	}
	var out []Candidate
	for _, d := range v.Search {
		fq := name + "." + d
		c := Candidate{Name: fq, Search: true, Domain: d}
		switch {
		case strings.HasSuffix(fq, ".."):
			c.Skip = "a search entry \".\" makes a name musl cannot encode: it sends nothing and waits for the timeout"
		case len(strings.TrimSuffix(fq, ".")) >= 254:
			c.Skip = "longer than 253 characters: musl skips it"
		}
		if !strings.HasSuffix(c.Name, ".") {
			c.Name += "."
		}
		out = append(out, c)
	}
	return append(out, asIsCandidate(name))
}

// goCandidates is Go's dnsConfig.nameList: the name as is first when it
// has ndots dots, last otherwise. A search name too long to encode is left
// out of the list.
func goCandidates(v View, name string) []Candidate {
	nd := dots(name)
	var out []Candidate
	if nd >= v.Ndots {
		out = append(out, asIsCandidate(name))
	}
	for _, d := range v.Search {
		fq := join(name, d)
		if len(fq) > 254 {
			continue // Go leaves it out of the list
		}
		out = append(out, Candidate{Name: fq, Search: true, Domain: d})
	}
	if nd < v.Ndots {
		out = append(out, asIsCandidate(name))
	}
	return out
}

// digCandidates is dig +search: the name as is first when it has ndots
// dots, last otherwise; dig drops a root search entry.
func digCandidates(v View, name string) []Candidate {
	nd := dots(name)
	var out []Candidate
	if nd >= v.Ndots {
		out = append(out, asIsCandidate(name))
	}
	for _, d := range v.Search {
		if d == "" {
			continue
		}
		out = append(out, Candidate{Name: join(name, d), Search: true, Domain: d})
	}
	if nd < v.Ndots {
		out = append(out, asIsCandidate(name))
	}
	return out
}

// glibcCandidates is __res_context_search: the name as is first when it
// has ndots dots, then the search list. The name as is comes last unless
// it was asked first, or a root entry in the search list asked it, or it
// has no dot, went through a search list, and no-tld-query is set. A name
// too long to encode stays on the list, marked Skip.
func glibcCandidates(v View, name string) []Candidate {
	nd := dots(name)
	var out []Candidate
	triedAsIs := false
	if nd >= v.Ndots {
		out = append(out, asIsCandidate(name))
		triedAsIs = true
	}
	rootOnList := false
	for _, d := range v.Search {
		if d == "" {
			rootOnList = true
		}
		c := Candidate{Name: join(name, d), Search: true, Domain: d}
		if len(strings.TrimSuffix(c.Name, ".")) > maxName {
			c.Skip = "longer than 253 characters: glibc cannot encode it and ends the search list here"
		}
		out = append(out, c)
	}
	searched := len(v.Search) > 0
	if !triedAsIs && !rootOnList && (nd > 0 || !searched || !v.NoTLDQuery) {
		out = append(out, asIsCandidate(name))
	}
	return out
}

// qtypes are the types asked per candidate, in the order sent; for
// getent-hosts per walk.
func (m Model) qtypes(v View) [][]uint16 {
	switch m.Call {
	case Dig:
		return [][]uint16{{m.digType()}}
	case GetHostByName:
		return [][]uint16{{dns.TypeA}}
	case GetentHosts:
		if v.NoAAAA {
			// glibc 2.36: with no-aaaa, gethostbyname2(AF_INET6) asks
			// for A too, then getent asks for A again.
			return [][]uint16{{dns.TypeA}, {dns.TypeA}}
		}
		return [][]uint16{{dns.TypeAAAA}, {dns.TypeA}}
	}
	switch {
	case m.Family == 4:
		return [][]uint16{{dns.TypeA}}
	case m.Family == 6:
		return [][]uint16{{dns.TypeAAAA}}
	case v.NoAAAA && m.Libc == Glibc:
		return [][]uint16{{dns.TypeA}}
	}
	return [][]uint16{{dns.TypeA, dns.TypeAAAA}}
}

// Expand returns every question the client of model m sends for name with
// config cfg, in order, when every candidate answers NXDOMAIN: the longest
// walk. Simulate tells where a real walk stops.
func Expand(cfg Config, name string, m Model) []Question {
	v := cfg.View(m)
	var out []Question
	for walk, types := range m.qtypes(v) {
		for i, c := range Candidates(v, name, m) {
			if c.Skip != "" {
				continue
			}
			for _, t := range types {
				out = append(out, Question{Name: c.Name, Type: t, Candidate: i, Walk: walk})
			}
		}
	}
	return out
}

// SendMode is how the questions of one candidate go on the wire.
type SendMode int

// Send modes.
const (
	// Together: all questions back to back from one socket (glibc default,
	// musl), replies awaited together.
	Together SendMode = iota
	// Sequential: the next question after the previous reply, same socket
	// (glibc single-request, Go single-request).
	Sequential
	// Reopen: sequential, each question from a new socket (glibc
	// single-request-reopen).
	Reopen
	// Apart: in parallel, each question from its own socket (Go).
	Apart
)

func (s SendMode) String() string {
	return [...]string{"together on one socket", "one after the other on one socket", "one after the other, new socket each", "in parallel, a socket each"}[s]
}

// SendMode is how the client of model m sends a candidate's questions
// with view v (glibc may fall back to Sequential, then Reopen, after a
// lost reply).
func (m Model) SendMode(v View) SendMode {
	switch m.dialect() {
	case dialectGo:
		if v.SingleRequest {
			return Sequential
		}
		return Apart
	case dialectGlibc:
		switch {
		case v.SingleRequestReopen:
			return Reopen
		case v.SingleRequest:
			return Sequential
		}
	}
	return Together
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}
