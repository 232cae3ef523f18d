package corefile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one reason a Corefile cannot be served as written.
type Problem struct {
	Pos Pos
	Msg string
}

func (p Problem) Error() string {
	if p.Pos.Line == 0 {
		return p.Pos.File + ": " + p.Msg
	}
	return p.Pos.String() + ": " + p.Msg
}

// Problems are all the problems of a Corefile, in file and line order. It
// is the error Parse returns.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// The shapes of the messages, so that every plugin words them alike.

func notSupported(plugin string) string {
	return fmt.Sprintf("plugin %q is not supported by clusterdns", plugin)
}

func optionNotSupported(plugin, option string) string {
	return fmt.Sprintf("option %q of plugin %q is not supported by clusterdns", option, plugin)
}

func unknownOption(plugin, option string) string {
	return fmt.Sprintf("unknown option %q of plugin %q", option, plugin)
}

// fileOrder ranks files: the Corefile first, then imported files in the
// order they are first met.
type fileOrder struct {
	rank map[string]int
}

func (f *fileOrder) of(file string) int {
	if f.rank == nil {
		f.rank = map[string]int{}
	}
	r, ok := f.rank[file]
	if !ok {
		r = len(f.rank)
		f.rank[file] = r
	}
	return r
}

func (f *fileOrder) compare(a, b Pos) int {
	return cmp.Or(cmp.Compare(f.of(a.File), f.of(b.File)), cmp.Compare(a.Line, b.Line))
}

func (f *fileOrder) sortProblems(ps Problems) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return f.compare(a.Pos, b.Pos) })
}
