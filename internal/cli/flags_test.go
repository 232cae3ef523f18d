package cli

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/httpserve"
	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Every command's flag defaults are its packages' defaults, so that the
// two cannot drift: a default changed in zone, manifest, server or
// httpserve is what every command then shows and uses.
func TestFlagDefaults(t *testing.T) {
	zdef, mdef := zone.DefaultOptions(), manifest.DefaultOptions()
	type value = func(flags, string) (any, error)
	for _, c := range []struct {
		flag string
		get  value
		want any
	}{
		{"zone", canonicalZones, zdef.Zones},
		{"reverse-zone", canonicalZones, zdef.ReverseZones},
		{"ttl", getUint32, zdef.TTL},
		{"pod-records", podRecords, zdef.PodRecords},
		{"endpoint-pod-names", getBool, zdef.EndpointPodNames},
		{"ignore-empty-service", getBool, zdef.IgnoreEmptyService},
		{"namespaces", getStringSlice, append([]string{}, zdef.Namespaces...)},
		{"pod-cidr", prefixes, mdef.PodCIDRs},
		{"service-cidr", prefixes, mdef.ServiceCIDRs},
		{"manifest-max-bytes", getInt64, int64(manifest.DefaultMaxBytes)},
		{"manifest-max-values", getInt64, int64(manifest.DefaultMaxValues)},
		{"reload-delay", getDuration, manifest.DefaultReloadDelay},
		{"max-udp-size", getInt, server.DefaultMaxUDPSize},
		{"tcp-max-conns", getInt, server.DefaultMaxTCPConns},
		{"tcp-idle-timeout", getDuration, server.DefaultTCPIdleTimeout},
		{"tcp-message-timeout", getDuration, server.DefaultTCPMessageTimeout},
		{"tcp-max-pending", getInt, server.DefaultTCPMaxPending},
		{"http-max-conns", getInt, httpserve.DefaultMaxConns},
	} {
		seen := 0
		for _, cmd := range newRoot(streams{}).Commands() {
			fl := cmd.Flags()
			if fl.Lookup(c.flag) == nil {
				continue
			}
			seen++
			got, err := c.get(fl, c.flag)
			if err != nil {
				t.Errorf("%s --%s: %v", cmd.Name(), c.flag, err)
			} else if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s --%s defaults to %v, the package's default is %v", cmd.Name(), c.flag, got, c.want)
			}
		}
		if seen == 0 {
			t.Errorf("no command has --%s", c.flag)
		}
	}
}

// Every command that reads cluster state has the same --zone, --pod-cidr,
// --service-cidr and manifest limits; --zone is repeatable everywhere.
func TestStateFlagsEverywhere(t *testing.T) {
	for _, cmd := range newRoot(streams{}).Commands() {
		if !strings.Contains("serve explain probe resolve lint", cmd.Name()) {
			continue
		}
		for _, name := range []string{"zone", "pod-cidr", "service-cidr", "manifest-max-bytes", "manifest-max-values"} {
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("%s has no --%s", cmd.Name(), name)
			}
		}
		if f := cmd.Flags().Lookup("zone"); f != nil && f.Value.Type() != "stringArray" {
			t.Errorf("%s --zone is a %s, want a repeatable stringArray", cmd.Name(), f.Value.Type())
		}
	}
}

// flags are a command's flags (a *pflag.FlagSet).
type flags = interface {
	GetBool(string) (bool, error)
	GetDuration(string) (time.Duration, error)
	GetInt(string) (int, error)
	GetInt64(string) (int64, error)
	GetString(string) (string, error)
	GetStringArray(string) ([]string, error)
	GetStringSlice(string) ([]string, error)
	GetUint32(string) (uint32, error)
}

func getUint32(fl flags, n string) (any, error)      { return fl.GetUint32(n) }
func getBool(fl flags, n string) (any, error)        { return fl.GetBool(n) }
func getStringSlice(fl flags, n string) (any, error) { return fl.GetStringSlice(n) }
func getInt64(fl flags, n string) (any, error)       { return fl.GetInt64(n) }
func getDuration(fl flags, n string) (any, error)    { return fl.GetDuration(n) }
func getInt(fl flags, n string) (any, error)         { return fl.GetInt(n) }

// canonicalZones are the zones of a flag as zone writes them.
func canonicalZones(fl flags, name string) (any, error) {
	zs, err := fl.GetStringArray(name)
	for i, z := range zs {
		zs[i] = dns.Fqdn(strings.ToLower(z))
	}
	return zs, err
}

func podRecords(fl flags, name string) (any, error) {
	s, err := fl.GetString(name)
	if err != nil {
		return nil, err
	}
	return zone.ParsePodRecords(s)
}

func prefixes(fl flags, name string) (any, error) {
	ss, err := fl.GetStringSlice(name)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
