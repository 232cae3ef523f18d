package corefile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/coredns/caddy/caddyfile"
)

// DefaultName is the name a Corefile read without one gets in messages,
// as CoreDNS names it (coremain/run.go:20, caddy.DefaultConfigFile).
const DefaultName = "Corefile"

// Parse reads a Corefile. name is used in messages and, as in CoreDNS, to
// find files imported by a relative path (relative to name's directory).
// The error, if any, is Problems: every problem found, in line order. The
// Config is returned even then, holding what could be read.
func Parse(name string, r io.Reader) (*Config, error) {
	rd := read(name, r)
	if len(rd.problems) > 0 {
		return &rd.cfg, rd.problems
	}
	return &rd.cfg, nil
}

// ParseFile reads the Corefile at path.
func ParseFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// reading is the state of one read: what Parse returns and what Check
// shows, from the same pass.
type reading struct {
	cfg      Config
	lines    []Line
	problems Problems
	order    fileOrder
}

func (rd *reading) problem(pos Pos, msg string) {
	rd.problems = append(rd.problems, Problem{Pos: pos, Msg: msg})
}

func read(name string, r io.Reader) *reading {
	if name == "" {
		name = DefaultName
	}
	rd := &reading{cfg: Config{File: name}}
	rd.order.of(name)
	src, err := io.ReadAll(r)
	if err != nil {
		rd.problem(Pos{File: name}, err.Error())
		return rd
	}
	blocks, err := parseCaddy(name, src)
	if err != nil {
		rd.problems = append(rd.problems, caddyProblem(name, err))
		return rd
	}
	if len(blocks) == 0 {
		// CoreDNS would serve `whoami` on :53 (core/dnsserver/register.go:22-27),
		// a plugin clusterdns does not have.
		rd.problem(Pos{File: name}, "no server block")
	}
	keys := newKeyLines(name, src)
	seen := map[ZoneAddr]Pos{}
	for _, sb := range blocks {
		rd.block(sb, keys, seen)
	}
	slices.SortStableFunc(rd.lines, func(a, b Line) int { return rd.order.compare(a.Pos, b.Pos) })
	rd.order.sortProblems(rd.problems)
	return rd
}

// parseCaddy runs CoreDNS's parser as CoreDNS runs it
// (caddy.go:866-868 loadServerBlocks), except that every directive name is
// let through (validDirectives nil): unknown ones are reported here, all of
// them, instead of the parser stopping at the first. A panic in the parser
// (input from outside) becomes an error.
func parseCaddy(name string, src []byte) (blocks []caddyfile.ServerBlock, err error) {
	defer func() {
		if r := recover(); r != nil {
			blocks, err = nil, fmt.Errorf("%s:0 - Error during parsing: %v", name, r)
		}
	}()
	return caddyfile.Parse(name, bytes.NewReader(src), nil)
}

// caddyErr is the shape of the caddyfile package's errors
// (dispenser.go Err and SyntaxErr): "FILE:LINE - MESSAGE".
var caddyErr = regexp.MustCompile(`(?s)^(.*):(\d+) - (?:Error during parsing: )?(.*)$`)

func caddyProblem(name string, err error) Problem {
	m := caddyErr.FindStringSubmatch(err.Error())
	if m == nil {
		return Problem{Pos: Pos{File: name}, Msg: err.Error()}
	}
	line, _ := strconv.Atoi(m[2])
	return Problem{Pos: Pos{File: m[1], Line: line}, Msg: m[3]}
}

// block reads one server block: its keys, then each directive.
func (rd *reading) block(sb caddyfile.ServerBlock, keys *keyLines, seen map[ZoneAddr]Pos) {
	b := ServerBlock{Pos: keys.find(sb.Keys[0], firstToken(sb, rd.cfg.File))}
	rd.order.of(b.Pos.File)
	bad := len(rd.problems)
	for i, k := range sb.Keys {
		pos := b.Pos
		if i > 0 {
			pos = keys.find(k, b.Pos)
		}
		rd.key(&b, k, pos, seen)
	}
	rd.lines = append(rd.lines, Line{
		Pos: b.Pos, Directive: strings.Join(sb.Keys, " "),
		Becomes: describeBlock(&b), OK: len(rd.problems) == bad,
	})
	names := make([]string, 0, len(sb.Tokens))
	for n := range sb.Tokens {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rd.directive(&b, n, sb.Tokens[n])
	}
	rd.cfg.Blocks = append(rd.cfg.Blocks, b)
}

// firstToken is the position of a block's first directive, where a key
// whose line is unknown (it came from an import) is reported.
func firstToken(sb caddyfile.ServerBlock, name string) Pos {
	best := Pos{File: name}
	for _, ts := range sb.Tokens {
		if len(ts) == 0 {
			continue
		}
		t := ts[0]
		f := t.File
		if f == "" {
			f = name
		}
		if best.Line == 0 || (f == best.File && t.Line < best.Line) {
			best = Pos{File: f, Line: t.Line}
		}
	}
	return best
}

// key reads one server block key into zones, checking it as CoreDNS does
// (core/dnsserver/register.go:55-135) and refusing what clusterdns does
// not serve: transports other than plain DNS.
func (rd *reading) key(b *ServerBlock, k string, pos Pos, seen map[ZoneAddr]Pos) {
	zas, err := parseKey(k)
	if err != nil {
		rd.problem(pos, fmt.Sprintf("server block %q: %v", k, err))
		return
	}
	for _, za := range zas {
		if first, dup := seen[za]; dup {
			// register.go:248 "cannot serve %s - it is already defined".
			rd.problem(pos, fmt.Sprintf("server block %q: zone %s is already served on port %d (line %d)", k, za.Zone, za.Port, first.Line))
			continue
		}
		seen[za] = pos
		b.Zones = append(b.Zones, za)
	}
}

// Line is what one Corefile line (a server block's keys or a directive)
// becomes in clusterdns.
type Line struct {
	Pos Pos
	// Directive is the plugin name, or the keys of a server block.
	Directive string
	// Becomes says what clusterdns does with it, in one short line.
	Becomes string
	// OK is false when the line has a problem (see Report.Problems).
	OK bool
}

// directive reads every use of one plugin in a block.
func (rd *reading) directive(b *ServerBlock, name string, tokens []caddyfile.Token) {
	d := caddyfile.NewDispenserTokens(rd.cfg.File, tokens)
	var first Pos
	for d.Next() {
		c := &cursor{d: &d, plugin: name, rd: rd}
		pos := c.pos()
		bad := len(rd.problems)
		becomes := rd.use(b, c, pos, &first)
		c.finish()
		rd.lines = append(rd.lines, Line{Pos: pos, Directive: name, Becomes: becomes, OK: len(rd.problems) == bad})
	}
}

// use reads one use of a plugin and says what it becomes.
func (rd *reading) use(b *ServerBlock, c *cursor, pos Pos, first *Pos) string {
	p, ok := plugins[c.plugin]
	switch {
	case !ok && slices.Contains(coreDNSPlugins, c.plugin):
		rd.problem(pos, notSupported(c.plugin))
		return ""
	case !ok:
		rd.problem(pos, notSupported(c.plugin)+" (nor by CoreDNS 1.14.2)")
		return ""
	case p.once && first.Line != 0:
		// CoreDNS refuses these with plugin.ErrOnce, or keeps one use only.
		rd.problem(pos, fmt.Sprintf("plugin %q can only be used once per server block (first at line %d)", c.plugin, first.Line))
		return ""
	}
	*first = pos
	return p.read(b, c)
}

// plugin is how one supported plugin is read: into the block, returning
// what it becomes.
type plugin struct {
	read func(b *ServerBlock, c *cursor) string
	// once: a second use in a block is an error.
	once bool
}

var plugins map[string]plugin

func init() {
	plugins = map[string]plugin{
		"bind":        {readBind, true},
		"errors":      {readErrors, true},
		"log":         {readLog, false},
		"health":      {readHealth, true},
		"ready":       {readReady, true},
		"prometheus":  {readPrometheus, true},
		"reload":      {readReload, true},
		"loop":        {readLoop, true},
		"loadbalance": {readLoadBalance, true},
		"cache":       {readCache, true},
		"kubernetes":  {readKubernetes, true},
		"hosts":       {readHosts, true},
		"rewrite":     {readRewrite, false},
		"forward":     {readForward, false},
		"autopath":    {readAutoPath, true},
		"transfer":    {readTransfer, true},
	}
}

// coreDNSPlugins are the directives of CoreDNS 1.14.2 (plugin.cfg): a use
// of one clusterdns lacks is "not supported", any other name is not a
// plugin at all.
var coreDNSPlugins = strings.Fields(`root metadata geoip cancel tls quic
	grpc_server https https3 timeouts multisocket reload nsid bufsize bind
	debug trace ready health pprof prometheus errors log dnstap local dns64
	any chaos loadbalance tsig cache rewrite acl header dnssec autopath
	minimal template transfer hosts route53 azure clouddns k8s_external
	kubernetes file auto secondary etcd loop forward grpc erratic whoami on
	sign view nomad`)
