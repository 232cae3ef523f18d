package corefile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Report is what `clusterdns corefile check` prints: per server block and
// per directive what it becomes, and every problem.
type Report struct {
	File     string
	Lines    []Line
	Problems Problems
}

// Check reads a Corefile as Parse does and reports it line by line.
func Check(name string, r io.Reader) Report {
	rd := read(name, r)
	return Report{File: rd.cfg.File, Lines: rd.lines, Problems: rd.problems}
}

// CheckFile checks the Corefile at path.
func CheckFile(path string) Report {
	f, err := os.Open(path)
	if err != nil {
		return Report{File: path, Problems: Problems{{Pos: Pos{File: path}, Msg: err.Error()}}}
	}
	defer f.Close()
	return Check(path, f)
}

// OK reports whether clusterdns can serve the Corefile as written.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// WriteText writes one line per Corefile line, in file order: "POS:
// DIRECTIVE: what it becomes" for the lines that are fine, then the
// problems at their own positions, then a summary.
func (r Report) WriteText(w io.Writer) error {
	type entry struct {
		pos  Pos
		text string
	}
	var order fileOrder
	order.of(r.File)
	var es []entry
	for _, l := range r.Lines {
		if l.OK {
			es = append(es, entry{l.Pos, fmt.Sprintf("%v: %s: %s", l.Pos, l.Directive, l.Becomes)})
		}
	}
	for _, p := range r.Problems {
		es = append(es, entry{p.Pos, p.Error()})
	}
	slices.SortStableFunc(es, func(a, b entry) int { return order.compare(a.pos, b.pos) })
	bw := bufio.NewWriter(w)
	for _, e := range es {
		fmt.Fprintln(bw, e.text)
	}
	switch n := len(r.Problems); n {
	case 0:
		fmt.Fprintf(bw, "%s: OK, clusterdns serves it as CoreDNS 1.14.2 does\n", r.File)
	default:
		fmt.Fprintf(bw, "%s: %d problem%s: clusterdns will not serve it\n", r.File, n, plural(n))
	}
	return bw.Flush()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// describeBlock says what a server block's keys become.
func describeBlock(b *ServerBlock) string {
	byPort := map[uint16][]string{}
	var ports []uint16
	for _, z := range b.Zones {
		if _, ok := byPort[z.Port]; !ok {
			ports = append(ports, z.Port)
		}
		byPort[z.Port] = append(byPort[z.Port], z.Zone)
	}
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s on port %d (UDP and TCP)", strings.Join(byPort[p], " "), p))
	}
	return "server block for " + strings.Join(parts, ", ")
}

// dur writes a duration as a Corefile would: 1h, 30m, 1m30s, 500ms.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
