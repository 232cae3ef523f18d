package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// Config is the cache plugin's Corefile block, as CoreDNS 1.14.2 reads it.
// Start from DefaultConfig: several zero values are meaningful (a zero
// ServfailTTL disables caching SERVFAIL, a zero minimum TTL is allowed).
type Config struct {
	// SuccessCapacity and DenialCapacity are `success CAPACITY` and
	// `denial CAPACITY`. As in CoreDNS the capacity used is rounded down
	// to a multiple of 256 and is at least 1024: 10000 gives 9984.
	SuccessCapacity int
	DenialCapacity  int
	// SuccessMaxTTL and DenialMaxTTL cap the stored TTL (`cache N` sets
	// both to N); SuccessMinTTL and DenialMinTTL raise it. TTLs are whole
	// seconds: a fraction is dropped.
	SuccessMaxTTL time.Duration
	SuccessMinTTL time.Duration
	DenialMaxTTL  time.Duration
	DenialMinTTL  time.Duration
	// ServfailTTL is how long an upstream's SERVFAIL or NOTIMP is cached
	// (`servfail`, at most 5 minutes); zero disables it.
	ServfailTTL time.Duration
	Prefetch    Prefetch
	ServeStale  ServeStale
	// DisableSuccess and DisableDenial are the zones of `disable success`
	// and `disable denial`: answers for names in them are not stored, but
	// their TTLs are still rewritten. ["."] disables a whole cache.
	DisableSuccess []string
	DisableDenial  []string
	// KeepTTL serves the stored TTL instead of counting it down.
	KeepTTL bool
	// Recorder receives the cache's metrics; nil records nothing.
	Recorder Recorder
}

// Prefetch is `prefetch AMOUNT [DURATION [PERCENTAGE%]]`: an entry asked
// for Amount times with no gap longer than Duration is refreshed once its
// remaining TTL is at most Percentage percent of the stored TTL (rounded
// up).
type Prefetch struct {
	// Amount is the number of hits that make an entry popular; 0 turns
	// prefetching off.
	Amount     int
	Duration   time.Duration
	Percentage int
}

// ServeStale is `serve_stale [DURATION [verify|immediate]]`.
type ServeStale struct {
	// Duration is how long after expiry an entry may still be served;
	// 0 turns serve_stale off.
	Duration time.Duration
	// Verify asks the upstream before serving an expired entry (mode
	// verify); otherwise the entry is served at once and refreshed in
	// the background (mode immediate, the default).
	Verify bool
}

// CoreDNS's defaults (plugin/cache/cache.go, plugin/pkg/dnsutil/ttl.go).
const (
	DefaultCapacity    = 10000
	DefaultSuccessTTL  = 3600 * time.Second
	DefaultDenialTTL   = 1800 * time.Second
	DefaultMinTTL      = 5 * time.Second
	DefaultServfailTTL = 5 * time.Second
	// MaxServfailTTL is the longest SERVFAIL caching CoreDNS permits.
	MaxServfailTTL = 5 * time.Minute
	// DefaultStale is the DURATION of a bare `serve_stale`.
	DefaultStale = time.Hour

	shards      = 256 // CoreDNS's shard count, which sets the capacity rounding
	minPerShard = 4
)

// DefaultConfig is a bare `cache` line: capacities 9984, TTLs in [5 s,
// 3600 s] for answers and [5 s, 1800 s] for denials, SERVFAIL for 5 s, no
// prefetch, no serve_stale. Prefetch's DURATION and PERCENTAGE hold their
// defaults (1m, 10%) so that setting Amount alone is `prefetch AMOUNT`.
func DefaultConfig() Config {
	return Config{
		SuccessCapacity: DefaultCapacity,
		DenialCapacity:  DefaultCapacity,
		SuccessMaxTTL:   DefaultSuccessTTL,
		SuccessMinTTL:   DefaultMinTTL,
		DenialMaxTTL:    DefaultDenialTTL,
		DenialMinTTL:    DefaultMinTTL,
		ServfailTTL:     DefaultServfailTTL,
		Prefetch:        Prefetch{Duration: time.Minute, Percentage: 10},
	}
}

// capacity is the number of entries CoreDNS keeps for a requested
// capacity: 256 shards of max(n/256, 4).
func capacity(n int) int { return shards * max(n/shards, minPerShard) }

// validate applies the checks of CoreDNS's setup.go.
func (cfg *Config) validate() error {
	var errs []error
	if cfg.SuccessMaxTTL < time.Second || cfg.DenialMaxTTL < time.Second {
		errs = append(errs, errors.New("cache TTL can not be zero or negative"))
	}
	if cfg.SuccessMinTTL < 0 || cfg.DenialMinTTL < 0 {
		errs = append(errs, errors.New("cache min TTL can not be negative"))
	}
	if cfg.ServfailTTL < 0 {
		errs = append(errs, errors.New("invalid negative ttl for servfail"))
	}
	if cfg.ServfailTTL > MaxServfailTTL {
		errs = append(errs, errors.New("caching SERVFAIL responses over 5 minutes is not permitted"))
	}
	if p := cfg.Prefetch; p.Amount < 0 {
		errs = append(errs, fmt.Errorf("prefetch amount should be positive: %d", p.Amount))
	} else if p.Amount > 0 && (p.Percentage < 10 || p.Percentage > 90) {
		errs = append(errs, fmt.Errorf("percentage should fall in range [10, 90]: %d", p.Percentage))
	}
	if cfg.ServeStale.Duration < 0 {
		errs = append(errs, errors.New("invalid negative duration for serve_stale"))
	}
	return errors.Join(errs...)
}

// wireZones converts zone names to lower-case wire form.
func wireZones(zones []string) ([][]byte, error) {
	out := make([][]byte, 0, len(zones))
	for _, z := range zones {
		buf := make([]byte, 256)
		n, err := dns.PackDomainName(dns.Fqdn(z), buf, 0, nil, false)
		if err != nil || z == "" {
			return nil, fmt.Errorf("invalid disabled zone: %q", z)
		}
		// Lower-casing the packed name also folds escaped letters
		// (\065); length octets are below 'A' and stay as they are.
		lower(buf[:n], buf[:n])
		out = append(out, buf[:n:n])
	}
	return out, nil
}
