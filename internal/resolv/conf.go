package resolv

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is a resolv.conf: the nameservers, search list and options, in
// the order written. It is what the kubelet composes for a pod (Compose) or
// what a file holds (Parse). Each client reads it its own way: see View.
type Config struct {
	// Nameservers are every nameserver line, in order.
	Nameservers []string
	// Search is the search list of the last search or domain line, entries
	// as written (a trailing dot kept).
	Search []string
	// Options are the options of every options line, in order, each as
	// written: "ndots:5", "rotate".
	Options []string

	// text is the file as read; clients with their own quirks (musl's line
	// length) read it again. Empty for a composed config: String is used.
	text string
}

// String renders the config as a container runtime writes it.
func (c Config) String() string {
	var b strings.Builder
	if len(c.Search) > 0 {
		b.WriteString("search " + strings.Join(c.Search, " ") + "\n")
	}
	for _, ns := range c.Nameservers {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(c.Options) > 0 {
		b.WriteString("options " + strings.Join(c.Options, " ") + "\n")
	}
	return b.String()
}

// Text is the file a client reads: the original text when the config was
// parsed, else String.
func (c Config) Text() string {
	if c.text != "" {
		return c.text
	}
	return c.String()
}

// Option returns the value of the last option called name ("" for an
// option without value) and whether it is set.
func (c Config) Option(name string) (string, bool) {
	val, ok := "", false
	for _, o := range c.Options {
		n, v, _ := strings.Cut(o, ":")
		if n == name {
			val, ok = v, true
		}
	}
	return val, ok
}

// WithOption returns the config with option name set to value (value ""
// for an option without value), replacing earlier settings of it: what a
// dnsConfig option does to the kubelet's file.
func (c Config) WithOption(name, value string) Config {
	out := Config{Nameservers: c.Nameservers, Search: c.Search}
	for _, o := range c.Options {
		if n, _, _ := strings.Cut(o, ":"); n != name {
			out.Options = append(out.Options, o)
		}
	}
	if value != "" {
		name += ":" + value
	}
	out.Options = append(out.Options, name)
	return out
}

// WithSearch returns the config with the search list replaced.
func (c Config) WithSearch(search []string) Config {
	return Config{Nameservers: c.Nameservers, Search: search, Options: c.Options}
}

// ParseError is a resolv.conf line no resolver reads as its author meant.
type ParseError struct {
	Line int
	Text string
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d: %q: %s", e.Line, e.Text, e.Msg)
}

// maxFile bounds what Parse reads: a resolv.conf is a few lines.
const maxFile = 1 << 20

// Parse reads a resolv.conf. Like the resolvers, it ignores comments (# and
// ;) and keywords it does not know (sortlist, lookup); unlike them it
// refuses a nameserver that is not an IP address and a number option that
// is not a number, which every resolver would silently ignore or misread.
func Parse(r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return Config{}, err
	}
	if len(data) > maxFile {
		return Config{}, fmt.Errorf("larger than %d bytes: not a resolv.conf", maxFile)
	}
	if strings.IndexByte(string(data), 0) >= 0 {
		return Config{}, fmt.Errorf("binary data: not a resolv.conf")
	}
	c := Config{text: string(data)}
	if c.text == "" {
		c.text = "\n" // an empty file is still a file, not a composed config
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 4096), maxFile)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		f := strings.Fields(line)
		perr := func(format string, args ...any) error {
			return &ParseError{Line: n, Text: line, Msg: fmt.Sprintf(format, args...)}
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				return Config{}, perr("nameserver without an address")
			}
			if _, err := netip.ParseAddr(f[1]); err != nil {
				return Config{}, perr("nameserver %q is not an IP address", f[1])
			}
			c.Nameservers = append(c.Nameservers, f[1])
		case "search":
			c.Search = append([]string{}, f[1:]...)
		case "domain":
			if len(f) < 2 {
				return Config{}, perr("domain without a name")
			}
			c.Search = []string{f[1]}
		case "options":
			for _, o := range f[1:] {
				name, val, hasVal := strings.Cut(o, ":")
				switch name {
				case "ndots", "timeout", "attempts":
					if !hasVal {
						return Config{}, perr("option %s needs a value (%s:N)", name, name)
					}
					if _, err := strconv.Atoi(val); err != nil {
						return Config{}, perr("option %s: %q is not a number", name, val)
					}
				}
				c.Options = append(c.Options, o)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ParseString parses a resolv.conf held in a string.
func ParseString(s string) (Config, error) { return Parse(strings.NewReader(s)) }

// View is what one client makes of a Config: the values it uses.
type View struct {
	// Nameservers it sends to (at most three; 127.0.0.1 when none).
	Nameservers []string
	// Search is the search list without trailing dots; "" is the root
	// (glibc: a "." entry).
	Search []string
	// Ndots, Attempts and Timeout after the client's limits.
	Ndots    int
	Attempts int
	Timeout  time.Duration
	// Rotate: start at a different nameserver each time (glibc, Go).
	Rotate bool
	// SingleRequest: A, then AAAA after the A reply (glibc, Go).
	SingleRequest bool
	// SingleRequestReopen: as SingleRequest, on a new socket (glibc).
	SingleRequestReopen bool
	// UseTCP: use-vc (glibc, Go).
	UseTCP bool
	// NoAAAA: glibc 2.36 no-aaaa, getaddrinfo asks A only.
	NoAAAA bool
	// NoTLDQuery: glibc no-tld-query, a dot-less name is never asked as is.
	NoTLDQuery bool
	// Options are the options the client honours, normalized ("timeout:5"),
	// ndots left out (it is Ndots).
	Options []string
	// Notes say what the client ignores or changes in the file, and why.
	Notes []string
}

// Client-side limits and defaults (resolver-behaviour.md §2).
const (
	defaultNdots    = 1
	defaultAttempts = 2
	defaultTimeout  = 5 * time.Second
	maxNameservers  = 3
	maxNdots        = 15
	muslMaxLine     = 254 // musl ignores a line of 255 characters or more
)

// View returns the configuration the client of model m reads from c.
func (c Config) View(m Model) View {
	switch m.dialect() {
	case dialectMusl:
		return viewMusl(c.Text())
	case dialectGo:
		return viewGo(c.Text())
	case dialectDig:
		return viewDig(c.Text())
	}
	return viewGlibc(c.Text())
}

type line struct {
	n    int
	text string
	f    []string
}

func lines(text string) []line {
	var out []line
	for i, l := range strings.Split(text, "\n") {
		out = append(out, line{n: i + 1, text: l, f: strings.Fields(l)})
	}
	return out
}

func atoiPrefix(s string) (int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil {
		return 1 << 30, true
	}
	return n, true
}

func trimDot(s string) string {
	if s == "." {
		return ""
	}
	return strings.TrimSuffix(s, ".")
}

// viewGlibc reads as glibc's res_init (2.36): comments # and ;, at most
// three nameservers, the last search or domain line, every options line in
// order, ndots capped at 15, timeout at 30, attempts at 5.
func viewGlibc(text string) View {
	v := View{Ndots: defaultNdots, Attempts: defaultAttempts, Timeout: defaultTimeout}
	for _, l := range lines(text) {
		if len(l.f) == 0 || l.f[0][0] == '#' || l.f[0][0] == ';' {
			continue
		}
		switch l.f[0] {
		case "nameserver":
			if len(l.f) < 2 {
				continue
			}
			if _, err := netip.ParseAddr(l.f[1]); err != nil {
				v.Notes = append(v.Notes, fmt.Sprintf("glibc ignores nameserver %q: not an IP address", l.f[1]))
				continue
			}
			if len(v.Nameservers) == maxNameservers {
				v.Notes = append(v.Notes, fmt.Sprintf("glibc ignores nameserver %s: only the first %d are used", l.f[1], maxNameservers))
				continue
			}
			v.Nameservers = append(v.Nameservers, l.f[1])
		case "search":
			v.Search = v.Search[:0:0]
			for _, s := range l.f[1:] {
				v.Search = append(v.Search, trimDot(s))
			}
		case "domain":
			if len(l.f) > 1 {
				v.Search = []string{trimDot(l.f[1])}
			}
		case "options":
			for _, o := range l.f[1:] {
				name, val, _ := strings.Cut(o, ":")
				n, numOK := atoiPrefix(val)
				switch name {
				case "ndots":
					if numOK {
						v.Ndots = min(n, maxNdots)
					}
				case "timeout":
					if numOK {
						v.Timeout = time.Duration(max(min(n, 30), 1)) * time.Second
					}
				case "attempts":
					if numOK {
						v.Attempts = max(min(n, 5), 1)
					}
				case "rotate":
					v.Rotate = true
				case "single-request":
					v.SingleRequest = true
				case "single-request-reopen":
					v.SingleRequestReopen = true
				case "use-vc":
					v.UseTCP = true
				case "no-aaaa":
					v.NoAAAA = true
				case "no-tld-query", "no_tld_query":
					v.NoTLDQuery = true
				case "edns0", "trust-ad", "no-reload", "debug", "inet6", "no-check-names", "ip6-dotint", "no-ip6-dotint", "ip6-bytestring":
				default:
					v.Notes = append(v.Notes, fmt.Sprintf("glibc ignores option %q", o))
				}
			}
		}
	}
	v.finish(true)
	return v
}

// finish fills the defaults and the normalized option list.
func (v *View) finish(defaultNS bool) {
	if len(v.Nameservers) == 0 && defaultNS {
		v.Nameservers = []string{"127.0.0.1"}
		v.Notes = append(v.Notes, "no nameserver: the client asks 127.0.0.1")
	}
	v.Options = append(v.Options, fmt.Sprintf("timeout:%d", int(v.Timeout/time.Second)), fmt.Sprintf("attempts:%d", v.Attempts))
	for _, o := range []struct {
		on   bool
		name string
	}{{v.Rotate, "rotate"}, {v.SingleRequest, "single-request"}, {v.SingleRequestReopen, "single-request-reopen"}, {v.UseTCP, "use-vc"}, {v.NoAAAA, "no-aaaa"}, {v.NoTLDQuery, "no-tld-query"}} {
		if o.on {
			v.Options = append(v.Options, o.name)
		}
	}
}

// viewMusl reads as musl's __get_resolv_conf (1.2.x): a line of 255
// characters or more is skipped whole, at most three nameservers, search
// and domain both set the list (last wins), only ndots, attempts and
// timeout are understood (capped at 15, 10 and 60).
func viewMusl(text string) View {
	v := View{Ndots: defaultNdots, Attempts: defaultAttempts, Timeout: defaultTimeout}
	for _, l := range lines(text) {
		if len(l.text) > muslMaxLine {
			if len(l.f) > 0 {
				v.Notes = append(v.Notes, fmt.Sprintf("musl ignores line %d (%s ...): %d characters, musl reads lines of at most %d", l.n, l.f[0], len(l.text), muslMaxLine))
			}
			continue
		}
		if len(l.f) == 0 {
			continue
		}
		// musl matches the keyword at the very start of the line.
		key := l.f[0]
		if !strings.HasPrefix(l.text, key) {
			continue
		}
		switch key {
		case "options":
			for _, o := range l.f[1:] {
				name, val, _ := strings.Cut(o, ":")
				n, ok := atoiPrefix(val)
				switch name {
				case "ndots":
					if ok {
						v.Ndots = min(n, maxNdots)
					}
				case "attempts":
					if ok {
						v.Attempts = max(min(n, 10), 1)
					}
				case "timeout":
					if ok {
						v.Timeout = time.Duration(max(min(n, 60), 1)) * time.Second
					}
				default:
					v.Notes = append(v.Notes, fmt.Sprintf("musl ignores option %q", o))
				}
			}
		case "nameserver":
			if len(l.f) < 2 {
				continue
			}
			if _, err := netip.ParseAddr(l.f[1]); err != nil {
				continue
			}
			if len(v.Nameservers) == maxNameservers {
				v.Notes = append(v.Notes, fmt.Sprintf("musl ignores nameserver %s: only the first %d are used", l.f[1], maxNameservers))
				continue
			}
			v.Nameservers = append(v.Nameservers, l.f[1])
		case "search", "domain":
			// musl appends each entry as written: "." makes "name.." and
			// a trailing dot "name.example.com.", both sent as is.
			v.Search = append(v.Search[:0:0], l.f[1:]...)
		}
	}
	v.finish(true)
	return v
}

// viewGo reads as Go's dnsReadConfig: comments # and ;, at most three
// nameservers, domain or search (last wins, "." dropped), ndots (0-15),
// timeout, attempts, rotate, single-request(-reopen), use-vc.
func viewGo(text string) View {
	v := View{Ndots: defaultNdots, Attempts: defaultAttempts, Timeout: defaultTimeout}
	for _, l := range lines(text) {
		if len(l.text) > 0 && (l.text[0] == ';' || l.text[0] == '#') {
			continue
		}
		if len(l.f) == 0 {
			continue
		}
		switch l.f[0] {
		case "nameserver":
			if len(l.f) > 1 && len(v.Nameservers) < maxNameservers {
				if _, err := netip.ParseAddr(l.f[1]); err == nil {
					v.Nameservers = append(v.Nameservers, l.f[1])
				}
			} else if len(l.f) > 1 {
				v.Notes = append(v.Notes, fmt.Sprintf("Go ignores nameserver %s: only the first %d are used", l.f[1], maxNameservers))
			}
		case "domain":
			if len(l.f) > 1 {
				v.Search = []string{trimDot(l.f[1])}
			}
		case "search":
			v.Search = v.Search[:0:0]
			for _, s := range l.f[1:] {
				if s == "." {
					v.Notes = append(v.Notes, `Go drops the search entry "."`)
					continue
				}
				v.Search = append(v.Search, trimDot(s))
			}
		case "options":
			for _, o := range l.f[1:] {
				switch {
				case strings.HasPrefix(o, "ndots:"):
					n, _ := goDtoi(o[6:])
					v.Ndots = max(min(n, maxNdots), 0)
				case strings.HasPrefix(o, "timeout:"):
					n, _ := goDtoi(o[8:])
					v.Timeout = time.Duration(max(n, 1)) * time.Second
				case strings.HasPrefix(o, "attempts:"):
					n, _ := goDtoi(o[9:])
					v.Attempts = max(n, 1)
				case o == "rotate":
					v.Rotate = true
				case o == "single-request" || o == "single-request-reopen":
					v.SingleRequest = true
				case o == "use-vc" || o == "usevc" || o == "tcp":
					v.UseTCP = true
				case o == "trust-ad" || o == "edns0" || o == "no-reload":
				default:
					v.Notes = append(v.Notes, fmt.Sprintf("Go does not know option %q: a binary that can use cgo hands lookups to libc (the pure Go resolver, CGO_ENABLED=0, keeps them)", o))
				}
			}
		}
	}
	v.finish(true)
	return v
}

// goDtoi is Go's dtoi: the leading decimal number, 0 if none.
func goDtoi(s string) (int, bool) {
	n, ok := atoiPrefix(s)
	if !ok {
		return 0, false
	}
	return min(n, 0xFFFFFF), true
}

// viewDig reads as BIND's dig (its own parser, not libc): nameservers,
// search or domain, ndots, timeout and attempts; dig's own defaults are
// 5 s and 3 tries.
func viewDig(text string) View {
	v := viewGlibc(text)
	v.Attempts = 3
	for _, l := range lines(text) {
		if len(l.f) > 0 && l.f[0] == "options" {
			for _, o := range l.f[1:] {
				if name, val, _ := strings.Cut(o, ":"); name == "attempts" {
					if n, ok := atoiPrefix(val); ok {
						v.Attempts = max(n, 1)
					}
				}
			}
		}
	}
	v.Rotate, v.SingleRequest, v.SingleRequestReopen, v.UseTCP, v.NoAAAA, v.NoTLDQuery = false, false, false, false, false, false
	v.Options, v.Notes = nil, nil
	v.finish(true)
	return v
}
