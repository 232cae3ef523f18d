package forward

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// CoreDNS 1.14.2's defaults (plugin/forward/forward.go, plugin/pkg/proxy).
const (
	DefaultExpire             = 10 * time.Second
	DefaultHealthCheck        = 500 * time.Millisecond
	DefaultHealthCheckTimeout = 1 * time.Second
	DefaultReadTimeout        = 2 * time.Second
	DefaultQueryTimeout       = 5 * time.Second
	DefaultMaxFails           = 2
	// MaxUpstreams is the most upstreams one forwarder takes (CoreDNS:
	// "more than 15 TOs configured").
	MaxUpstreams = 15

	writeTimeout   = 2 * time.Second
	minDialTimeout = 1 * time.Second
	maxDialTimeout = 30 * time.Second
)

// Config is one `forward FROM TO... { ... }` stanza. Start from
// DefaultConfig: a zero MaxFails means "never mark down", as max_fails 0
// does. Zero durations take the defaults above (a zero timeout or interval
// is never useful; CoreDNS's `expire 0`, no reuse, is Expire: 1ns).
type Config struct {
	// From is the zone whose names are forwarded; "" is ".".
	From string
	// To are the upstreams: "IP", "IP:port", "[IPv6]:port", optionally
	// prefixed "dns://", or the path of a resolv.conf whose nameserver
	// lines are used (read once, by New), in order.
	To []string
	// Except are zones under From that are not forwarded.
	Except []string
	// ForceTCP sends over TCP whatever the client used; it wins over
	// PreferUDP.
	ForceTCP bool
	// PreferUDP sends over UDP even for a TCP client, and retries a
	// truncated reply over TCP.
	PreferUDP bool
	// Policy orders the upstreams for each query.
	Policy Policy
	// MaxFails: an upstream is down after more than MaxFails consecutive
	// failed health checks; 0 never marks down and never health-checks.
	MaxFails int
	// MaxConnectAttempts caps the failed attempts per query; 0 is no cap.
	MaxConnectAttempts int
	// HealthCheck is the interval between failed health checks.
	HealthCheck time.Duration
	// HealthCheckTimeout bounds one health check's write and read.
	HealthCheckTimeout time.Duration
	// HealthCheckNoRec clears RD in health checks (`health_check D no_rec`).
	HealthCheckNoRec bool
	// HealthCheckDomain is the name whose NS the health check asks; "" is ".".
	HealthCheckDomain string
	// Expire closes pooled connections idle longer than this.
	Expire time.Duration
	// MaxIdleConns bounds the idle pooled connections per upstream and
	// protocol; 0 is no bound.
	MaxIdleConns int
	// MaxConcurrent bounds the queries in flight; 0 is no bound.
	MaxConcurrent int
	// ReadTimeout bounds one attempt's wait for a reply.
	ReadTimeout time.Duration
	// QueryTimeout bounds the whole query, all attempts included.
	QueryTimeout time.Duration
	// Recorder receives metric events; nil records nothing.
	Recorder Recorder
	// Logger logs upstreams going down and coming back; nil logs nothing.
	Logger *slog.Logger
}

// DefaultConfig returns CoreDNS's defaults for `forward . TO...`.
func DefaultConfig(to ...string) Config {
	return Config{
		From:               ".",
		To:                 to,
		Policy:             Random,
		MaxFails:           DefaultMaxFails,
		HealthCheck:        DefaultHealthCheck,
		HealthCheckTimeout: DefaultHealthCheckTimeout,
		HealthCheckDomain:  ".",
		Expire:             DefaultExpire,
		ReadTimeout:        DefaultReadTimeout,
		QueryTimeout:       DefaultQueryTimeout,
	}
}

// Policy is how the upstreams are ordered for a query.
type Policy uint8

// The policies of CoreDNS's `policy` option.
const (
	Random Policy = iota
	RoundRobin
	Sequential
)

func (p Policy) String() string {
	switch p {
	case Random:
		return "random"
	case RoundRobin:
		return "round_robin"
	case Sequential:
		return "sequential"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy returns the policy a Corefile names.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{Random, RoundRobin, Sequential} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown policy %q (want random, round_robin or sequential)", s)
}

// normalize checks c and fills in the defaults of zero fields.
func (c Config) normalize() (Config, error) {
	var err error
	if c.From, err = zoneName("From", c.From); err != nil {
		return c, err
	}
	except := make([]string, 0, len(c.Except))
	for _, e := range c.Except {
		z, err := zoneName("Except", e)
		if err != nil {
			return c, err
		}
		except = append(except, z)
	}
	c.Except = except
	if c.HealthCheckDomain, err = zoneName("HealthCheckDomain", c.HealthCheckDomain); err != nil {
		return c, err
	}
	if c.Policy > Sequential {
		return c, fmt.Errorf("unknown policy %v", c.Policy)
	}
	if err := c.checkCounts(); err != nil {
		return c, err
	}
	durations := []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"HealthCheck", &c.HealthCheck, DefaultHealthCheck},
		{"HealthCheckTimeout", &c.HealthCheckTimeout, DefaultHealthCheckTimeout},
		{"Expire", &c.Expire, DefaultExpire},
		{"ReadTimeout", &c.ReadTimeout, DefaultReadTimeout},
		{"QueryTimeout", &c.QueryTimeout, DefaultQueryTimeout},
	}
	for _, d := range durations {
		switch {
		case *d.d < 0:
			return c, fmt.Errorf("%s can't be negative: %v", d.name, *d.d)
		case *d.d == 0:
			*d.d = d.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Recorder == nil {
		c.Recorder = nopRecorder{}
	}
	return c, nil
}

func (c Config) checkCounts() error {
	counts := []struct {
		name string
		n    int
	}{
		{"MaxFails", c.MaxFails}, {"MaxConnectAttempts", c.MaxConnectAttempts},
		{"MaxIdleConns", c.MaxIdleConns}, {"MaxConcurrent", c.MaxConcurrent},
	}
	for _, n := range counts {
		if n.n < 0 {
			return fmt.Errorf("%s can't be negative: %d", n.name, n.n)
		}
	}
	return nil
}

// zoneName returns a zone in canonical form: lower case, fully qualified.
func zoneName(field, s string) (string, error) {
	if s == "" {
		return ".", nil
	}
	if _, ok := dns.IsDomainName(s); !ok {
		return "", fmt.Errorf("%s %q is not a domain name", field, s)
	}
	return strings.ToLower(dns.Fqdn(s)), nil
}

// upstreamAddrs expands To into addresses, in order: an address as
// written, a resolv.conf file as its nameserver lines on port 53.
func upstreamAddrs(to []string) ([]netip.AddrPort, error) {
	if len(to) == 0 {
		return nil, errors.New("no upstream (To is empty)")
	}
	var out []netip.AddrPort
	for _, t := range to {
		ap, err := parseAddr(t)
		if err == nil {
			out = append(out, ap)
			continue
		}
		if strings.Contains(t, "://") { // an address with a scheme, never a file
			return nil, fmt.Errorf("upstream %q: %w", t, err)
		}
		file, ferr := resolvConfServers(t)
		if ferr != nil {
			return nil, fmt.Errorf("upstream %q is neither an address (%v) nor a resolv.conf (%w)", t, err, ferr)
		}
		out = append(out, file...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no nameservers found in %q", to)
	}
	if len(out) > MaxUpstreams {
		return nil, fmt.Errorf("more than %d upstreams configured: %d", MaxUpstreams, len(out))
	}
	return out, nil
}

// parseAddr reads "IP", "IP:port" or "[IPv6]:port", with an optional
// dns:// prefix; the port defaults to 53.
func parseAddr(s string) (netip.AddrPort, error) {
	if scheme, _, ok := strings.Cut(s, "://"); ok && scheme != "dns" {
		return netip.AddrPort{}, fmt.Errorf("transport %s:// is not supported, only plain DNS", scheme)
	}
	s = strings.TrimPrefix(s, "dns://")
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("port 0 in %q", s)
		}
		return ap, nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, 53), nil
}

// resolvConfServers reads a resolv.conf's nameservers as CoreDNS does: with
// miekg/dns's reader (nameserver lines only, everything else ignored, no
// limit of three), each on port 53. A nameserver that is not an IP address
// is an error: CoreDNS would try to resolve it through the very resolver
// it is replacing. An IPv6 zone (fe80::1%eth0) is kept, so a link-local
// nameserver can be reached; CoreDNS drops it.
func resolvConfServers(path string) ([]netip.AddrPort, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s: nameserver %q is not an IP address", path, s)
		}
		out = append(out, netip.AddrPortFrom(a, 53))
	}
	return out, nil
}

// label is the upstream as CoreDNS's `to` metric label writes it:
// net.JoinHostPort of the address and port.
func label(ap netip.AddrPort) string {
	return net.JoinHostPort(ap.Addr().String(), strconv.Itoa(int(ap.Port())))
}
