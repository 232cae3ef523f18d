package kubeconv

import (
	"fmt"
	"strings"
)

// Path is a field path: string keys and int indices.
type Path []any

// At returns the path extended by more; the result never shares p's array.
func (p Path) At(more ...any) Path {
	return append(p[:len(p):len(p)], more...)
}

// String renders the path the way Kubernetes field errors do:
// "spec.ports[0].targetPort".
func (p Path) String() string {
	var b strings.Builder
	for _, seg := range p {
		switch s := seg.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		}
	}
	return b.String()
}

// Problem is an invalid value at a field of an object.
type Problem struct {
	Path    Path
	Message string
}

// Problems are the problems found in one object, in the order found.
type Problems []Problem

func (ps *Problems) add(path Path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns the problems as one error ("path: message; path: message"),
// nil if there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", p.Path, p.Message)
	}
	return fmt.Errorf("%s", b.String())
}
