package corefile

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/coredns/caddy/caddyfile"
)

// cursor walks one use of a plugin: its arguments, then its block. It is
// caddy's Dispenser, as CoreDNS's setup functions walk it, plus the
// problem reporting.
type cursor struct {
	d      *caddyfile.Dispenser
	plugin string
	rd     *reading
}

// option is one line of a plugin's block: its name, where, its arguments.
type option struct {
	name string
	pos  Pos
	args []string
}

func (c *cursor) pos() Pos { return Pos{File: c.d.File(), Line: c.d.Line()} }

// args returns the arguments on the plugin's line.
func (c *cursor) args() []string { return c.d.RemainingArgs() }

// options calls fn for each line of the plugin's block.
func (c *cursor) options(fn func(o option)) {
	for c.d.NextBlock() {
		o := option{name: c.d.Val(), pos: c.pos()}
		o.args = c.d.RemainingArgs()
		fn(o)
	}
}

// noOptions reports every line of a block the plugin does not take.
func (c *cursor) noOptions() { c.options(c.unknown) }

// finish consumes what the plugin's reader left, so that the next use
// starts at its own name whatever the reader did.
func (c *cursor) finish() {
	c.d.RemainingArgs()
	for c.d.NextBlock() {
		c.d.RemainingArgs()
	}
}

func (c *cursor) errorf(pos Pos, format string, a ...any) {
	c.rd.problem(pos, fmt.Sprintf("plugin %q: ", c.plugin)+fmt.Sprintf(format, a...))
}

func (c *cursor) unknown(o option) { c.rd.problem(o.pos, unknownOption(c.plugin, o.name)) }

func (c *cursor) unsupported(o option) { c.rd.problem(o.pos, optionNotSupported(c.plugin, o.name)) }

// nargs checks that an option has from min to max arguments (max < 0: no
// limit).
func (c *cursor) nargs(o option, min, max int) bool {
	n := len(o.args)
	if n >= min && (max < 0 || n <= max) {
		return true
	}
	var want string
	switch {
	case min == max:
		want = strconv.Itoa(min)
	case max < 0:
		want = fmt.Sprintf("at least %d", min)
	default:
		want = fmt.Sprintf("%d to %d", min, max)
	}
	c.errorf(o.pos, "%s takes %s argument(s), got %d", o.name, want, n)
	return false
}

// duration parses a Go duration (CoreDNS uses time.ParseDuration), not
// negative.
func (c *cursor) duration(pos Pos, what, s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	if err != nil {
		c.errorf(pos, "%s %q is not a duration (e.g. 5s, 1m)", what, s)
		return 0, false
	}
	if d < 0 {
		c.errorf(pos, "%s %q can't be negative", what, s)
		return 0, false
	}
	return d, true
}

// integer parses a decimal integer in [min, max].
func (c *cursor) integer(pos Pos, what, s string, min, max int64) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		if max == math.MaxInt32 || max == math.MaxUint32 {
			c.errorf(pos, "%s %q: want a whole number from %d", what, s, min)
		} else {
			c.errorf(pos, "%s %q: want a whole number from %d to %d", what, s, min, max)
		}
		return 0, false
	}
	return n, true
}

// zones normalizes zone arguments as CoreDNS's plugin.Host.NormalizeExact
// does (transport and port dropped, reverse CIDRs expanded, lower case,
// fully qualified); where CoreDNS drops a bad one silently, it is reported.
func (c *cursor) zones(pos Pos, what string, args []string) []string {
	var out []string
	for _, a := range args {
		zs, err := hostZones(a)
		if err != nil {
			c.errorf(pos, "%s %q: %v", what, a, err)
			continue
		}
		out = append(out, zs...)
	}
	return out
}

// zonesOrBlock is plugin.OriginsFromArgsOrServerBlock (plugin/normalize.go:177).
func (c *cursor) zonesOrBlock(pos Pos, what string, args []string, b *ServerBlock) []string {
	if len(args) == 0 {
		return b.zoneNames()
	}
	return c.zones(pos, what, args)
}

// fallthroughZones is fall.F.SetZonesFromArgs (plugin/pkg/fall/fall.go:43-49):
// no zones means the root.
func (c *cursor) fallthroughZones(o option) []string {
	if len(o.args) == 0 {
		return []string{"."}
	}
	return c.zones(o.pos, "fallthrough zone", o.args)
}
