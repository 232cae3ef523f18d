package explain

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText renders the explanation for a person: the verdict as dig shows
// it, the path through the decision tree, the causes with their fixes, and
// the live server's answer if one was asked.
func (r *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s %s\n\n", r.Name, r.Type)
	if len(r.Queries) > 0 {
		fmt.Fprintf(w, "Search path (as a pod's resolver sends it):\n")
		for _, q := range r.Queries {
			fmt.Fprintf(w, "  %-8s %s %s\n", q.Rcode, q.Name, q.Type)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Answer (from the cluster state): %s\n", r.Rcode)
	for _, a := range r.Answer {
		fmt.Fprintf(w, "  %s\n", a)
	}
	for _, a := range r.Authority {
		fmt.Fprintf(w, "  (authority) %s\n", a)
	}
	for _, s := range dedup(r.Sources) {
		fmt.Fprintf(w, "  from %s\n", s)
	}
	fmt.Fprintf(w, "\nPath:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, s := range r.Path {
		where := s.Object
		if s.Field != "" {
			where += " " + s.Field
		}
		if s.Where != "" {
			where += " (" + s.Where + ")"
		}
		fmt.Fprintf(tw, "  %d.\t%s\t%s\t%s\n", i+1, s.Check, s.Result, strings.TrimSpace(where))
	}
	tw.Flush()
	if len(r.Causes) > 0 {
		fmt.Fprintf(w, "\nCauses (most likely first):\n")
		for _, c := range r.Causes {
			obj := c.Object
			if c.Field != "" {
				obj += " " + c.Field
			}
			if c.Where != "" {
				obj += " (" + c.Where + ")"
			}
			fmt.Fprintf(w, "  %-7s %s  %s\n", c.Severity, c.Code, strings.TrimSpace(obj))
			fmt.Fprintf(w, "          %s\n", c.Message)
			if c.Fix != "" {
				fmt.Fprintf(w, "          fix: %s\n", c.Fix)
			}
		}
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "\nServer %s: ", s.Address)
		switch {
		case s.Error != "":
			fmt.Fprintf(w, "no answer (%s)\n", s.Error)
		case s.Agrees:
			fmt.Fprintf(w, "%s, agrees with the cluster state\n", s.Rcode)
		default:
			fmt.Fprintf(w, "%s, DISAGREES with the cluster state\n", s.Rcode)
			for _, a := range s.Answer {
				fmt.Fprintf(w, "  %s\n", a)
			}
		}
	}
}
