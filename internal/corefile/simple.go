package corefile

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/transfer"
)

// CoreDNS 1.14.2's defaults for the plugins read in this file.
const (
	// DefaultHealthAddr: plugin/health/health.go:35-36.
	DefaultHealthAddr = ":8080"
	// DefaultReadyAddr: plugin/ready/setup.go:70.
	DefaultReadyAddr = ":8181"
	// DefaultPrometheusAddr: plugin/metrics/setup.go:105. Not ":9153":
	// a bare `prometheus` listens on loopback only.
	DefaultPrometheusAddr = "localhost:9153"
	// DefaultReloadInterval and DefaultReloadJitter: plugin/reload/setup.go:88-89,
	// with the minimums at :86-87.
	DefaultReloadInterval = 30 * time.Second
	DefaultReloadJitter   = 15 * time.Second
	minReloadInterval     = 2 * time.Second
	minReloadJitter       = 1 * time.Second
)

// readErrors: `errors [stdout]` (plugin/errors/setup.go:47-56).
func readErrors(b *ServerBlock, c *cursor) string {
	b.Errors = &Errors{Pos: c.pos()}
	switch args := c.args(); {
	case len(args) > 1:
		c.errorf(c.pos(), "takes at most 1 argument, got %d", len(args))
	case len(args) == 1 && args[0] != "stdout":
		c.errorf(c.pos(), "invalid log file %q: only stdout", args[0])
	}
	c.options(func(o option) {
		switch o.name {
		case "stacktrace", "consolidate":
			c.unsupported(o)
		default:
			c.unknown(o)
		}
	})
	return "log the errors of queries"
}

// readLog: `log [NAMES...] { class CLASSES... }` (plugin/log/setup.go:30-102);
// a custom format is not supported.
func readLog(b *ServerBlock, c *cursor) string {
	r := LogRule{Pos: c.pos(), Names: []string{"."}, Classes: []string{"all"}}
	args := c.args()
	if len(args) > 1 && strings.Contains(args[len(args)-1], "{") {
		c.rd.problem(r.Pos, optionNotSupported(c.plugin, "format"))
		args = args[:len(args)-1]
	}
	if len(args) > 0 {
		r.Names = c.zones(r.Pos, "name", args)
	}
	c.options(func(o option) {
		if o.name != "class" {
			c.unknown(o)
			return
		}
		if !c.nargs(o, 1, -1) {
			return
		}
		r.Classes = nil
		for _, cl := range o.args {
			cl = strings.ToLower(cl)
			if !slices.Contains([]string{"all", "success", "denial", "error"}, cl) {
				c.errorf(o.pos, "class %q: want all, success, denial or error", cl)
				continue
			}
			r.Classes = append(r.Classes, cl)
		}
	})
	b.Log = append(b.Log, r)
	return fmt.Sprintf("log queries for %s (%s)", strings.Join(r.Names, " "), strings.Join(r.Classes, ", "))
}

// hostPort checks an HTTP listen address as CoreDNS does (net.SplitHostPort).
func (c *cursor) hostPort(pos Pos, args []string, def string) string {
	switch len(args) {
	case 0:
		return def
	case 1:
		if _, _, err := net.SplitHostPort(args[0]); err != nil {
			c.errorf(pos, "address %q: want HOST:PORT or :PORT", args[0])
		}
		return args[0]
	}
	c.errorf(pos, "takes at most 1 argument (the address), got %d", len(args))
	return def
}

// readHealth: `health [ADDR] { lameduck D }` (plugin/health/setup.go:31-66).
func readHealth(b *ServerBlock, c *cursor) string {
	h := &Health{Pos: c.pos()}
	h.Addr = c.hostPort(h.Pos, c.args(), DefaultHealthAddr)
	c.options(func(o option) {
		if o.name != "lameduck" {
			c.unknown(o)
			return
		}
		if c.nargs(o, 1, 1) {
			h.Lameduck, _ = c.duration(o.pos, "lameduck", o.args[0])
		}
	})
	b.Health = h
	s := "HTTP /health on " + h.Addr
	if h.Lameduck > 0 {
		s += fmt.Sprintf("; on SIGTERM keep answering for %s (lameduck)", dur(h.Lameduck))
	}
	return s
}

// readReady: `ready [ADDR]` (plugin/ready/setup.go:69-109). Its `monitor`
// option is only taken with the default, until-ready.
func readReady(b *ServerBlock, c *cursor) string {
	r := &Ready{Pos: c.pos()}
	r.Addr = c.hostPort(r.Pos, c.args(), DefaultReadyAddr)
	c.options(func(o option) {
		switch {
		case o.name == "monitor" && len(o.args) == 1 && o.args[0] == "until-ready":
		case o.name == "monitor":
			c.unsupported(o)
		default:
			c.unknown(o)
		}
	})
	b.Ready = r
	return "HTTP /ready on " + r.Addr + " (200 once the cluster state is synced)"
}

// readPrometheus: `prometheus [ADDR]` (plugin/metrics/setup.go:73-102).
func readPrometheus(b *ServerBlock, c *cursor) string {
	p := &Prometheus{Pos: c.pos()}
	p.Addr = c.hostPort(p.Pos, c.args(), DefaultPrometheusAddr)
	c.noOptions()
	b.Prometheus = p
	return "HTTP /metrics on " + p.Addr + " with CoreDNS's metric names"
}

// readReload: `reload [INTERVAL [JITTER]]` (plugin/reload/setup.go:27-67).
func readReload(b *ServerBlock, c *cursor) string {
	r := &Reload{Pos: c.pos(), Interval: DefaultReloadInterval, Jitter: DefaultReloadJitter}
	args := c.args()
	if len(args) > 2 {
		c.errorf(r.Pos, "takes at most 2 arguments (INTERVAL JITTER), got %d", len(args))
		args = args[:2]
	}
	if len(args) > 0 {
		if d, ok := c.duration(r.Pos, "interval", args[0]); ok && d < minReloadInterval {
			c.errorf(r.Pos, "interval %q must be at least %v", args[0], minReloadInterval)
		} else if ok {
			r.Interval = d
		}
	}
	if len(args) > 1 {
		if d, ok := c.duration(r.Pos, "jitter", args[1]); ok && d != 0 && d < minReloadJitter {
			c.errorf(r.Pos, "jitter %q must be 0 or at least %v", args[1], minReloadJitter)
		} else if ok {
			r.Jitter = d
		}
	}
	r.Jitter = min(r.Jitter, r.Interval/2) // setup.go:60-62
	c.noOptions()
	b.Reload = r
	return fmt.Sprintf("re-read the Corefile every %s ± %s; apply it if it changed and is valid", dur(r.Interval), dur(r.Jitter/2))
}

// readBind: `bind ADDRESS` (plugin/bind/setup.go). One IP address;
// interface names, several addresses and `except` are not supported (one
// listener serves every block).
func readBind(b *ServerBlock, c *cursor) string {
	pos := c.pos()
	args := c.args()
	c.options(func(o option) { c.unsupported(o) })
	if len(args) != 1 {
		c.errorf(pos, "want one address, got %d (several addresses or interfaces are not supported by clusterdns)", len(args))
		return ""
	}
	a, err := netip.ParseAddr(args[0])
	if err != nil {
		c.errorf(pos, "address %q: want an IP address (interface names are not supported by clusterdns)", args[0])
		return ""
	}
	b.Bind = &Bind{Pos: pos, Addr: a}
	return "listen on " + a.String() + " only"
}

// readLoop: `loop`, no arguments (plugin/loop/setup.go:64-76).
func readLoop(b *ServerBlock, c *cursor) string {
	b.Loop = &Loop{Pos: c.pos()}
	if args := c.args(); len(args) > 0 {
		c.errorf(b.Loop.Pos, "takes no arguments, got %d", len(args))
	}
	c.noOptions()
	return "at start, probe for a forwarding loop (HINFO to self) and exit if one is found"
}

// readLoadBalance: `loadbalance [round_robin]` (plugin/loadbalance/setup.go:59-130);
// the weighted policy and the prefer option are not supported.
func readLoadBalance(b *ServerBlock, c *cursor) string {
	b.LoadBalance = &LoadBalance{Pos: c.pos()}
	args := c.args()
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "round_robin"):
	case args[0] == "weighted":
		c.rd.problem(b.LoadBalance.Pos, optionNotSupported(c.plugin, "weighted"))
	case args[0] == "round_robin":
		c.errorf(b.LoadBalance.Pos, "round_robin takes no arguments")
	default:
		c.errorf(b.LoadBalance.Pos, "unknown policy %q", args[0])
	}
	c.options(func(o option) {
		if o.name == "prefer" {
			c.unsupported(o)
			return
		}
		c.unknown(o)
	})
	return "shuffle the A and AAAA records of every NOERROR answer"
}

// readAutoPath: `autopath [ZONES...] @kubernetes` (plugin/autopath/setup.go:44-70).
// A resolv.conf file or another plugin as the search path's source is not
// supported: clusterdns reads the search path from the question itself.
func readAutoPath(b *ServerBlock, c *cursor) string {
	a := &AutoPath{Pos: c.pos()}
	args := c.args()
	c.noOptions()
	if len(args) == 0 {
		c.errorf(a.Pos, "no resolv-conf specified (want @kubernetes)")
		return ""
	}
	src := args[len(args)-1]
	if src != "@kubernetes" {
		c.errorf(a.Pos, "search path from %q is not supported by clusterdns: only @kubernetes", src)
	}
	a.Plugin = strings.TrimPrefix(src, "@")
	a.Zones = c.zonesOrBlock(a.Pos, "zone", args[:len(args)-1], b)
	b.AutoPath = a
	return "expand the first question of a pod's search walk in the kubernetes zones (no pod watch needed; see clusterdns serve --autopath)"
}

// readTransfer: `transfer [ZONES...] { to ADDRESS... }` (plugin/transfer/setup.go:47-95).
// A `to` entry may also be a CIDR range (transfers only, no NOTIFY); the
// `source` option is not supported.
func readTransfer(b *ServerBlock, c *cursor) string {
	t := &Transfer{Pos: c.pos()}
	t.Zones = c.zonesOrBlock(t.Pos, "zone", c.args(), b)
	c.options(func(o option) {
		switch o.name {
		case "to":
			if !c.nargs(o, 1, -1) {
				return
			}
			for _, a := range o.args {
				x, err := transfer.ParseTarget(a)
				if err != nil {
					c.errorf(o.pos, "%v", err)
					continue
				}
				t.To = append(t.To, x)
			}
		case "source":
			c.unsupported(o)
		default:
			c.unknown(o)
		}
	})
	if len(t.To) == 0 {
		c.errorf(t.Pos, "'to' is required")
		return ""
	}
	b.Transfer = t
	to := make([]string, 0, len(t.To))
	for _, x := range t.To {
		to = append(to, x.String())
	}
	return fmt.Sprintf("zone transfers (AXFR over TCP) of %s to %s; NOTIFY on every change", strings.Join(t.Zones, " "), strings.Join(to, " "))
}
