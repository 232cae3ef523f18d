package manifest

import (
	"fmt"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
)

// Helpers for package lint, which decodes files itself (to map kustomize
// output back to its sources) and reports some of Decode's problems as
// findings instead of input errors.

// Derive derives the cluster state of objects returned by Decode (from any
// number of files), as Load does for the objects of the files it reads.
// Unlike Load it returns the state even when the derivation finds problems
// (duplicate objects, exhausted CIDRs): the error joins an *Error for each,
// and the state holds what could be derived. Problems Decode reported are
// not repeated; objects that carry them are derived as far as they go.
func Derive(objs []Object, opts Options) (*cluster.State, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("deriving cluster state: %w", err)
	}
	st, errs := build(objs, opts, nil)
	return st, errs.join()
}

// FieldProblem is one invalid value in an object, as Decode reports it:
// Err is the very *Error among Decode's errors (same file, document, line
// and message), Path the field ("spec.template.spec.subdomain") and
// Message what is wrong with it (`invalid DNS label "A_B": ...`).
type FieldProblem struct {
	Path    string
	Message string
	Err     *Error
}

// FieldProblems returns the problems Decode found in the values of the
// object (invalid names, ports, IPs, policies), each with its field path.
// It is empty for objects of kinds this package does not read.
func (o *Object) FieldProblems() []FieldProblem {
	if o.Typed == nil {
		return nil
	}
	// As Decode: the names that become DNS labels, then the values.
	_, problems, _ := kubeconv.Convert(o.Typed)
	out := make([]FieldProblem, 0, len(problems))
	for _, pr := range problems {
		line := o.Line
		if o.tree != nil {
			at, _ := o.tree.lookup(pr.Path)
			line = at.line
		}
		p := pr.Path.String()
		out = append(out, FieldProblem{
			Path:    p,
			Message: pr.Message,
			Err:     &Error{File: o.File, Document: o.Document, Line: line, Err: fmt.Errorf("%s: %s: %s", o.Ref(), p, pr.Message)},
		})
	}
	return out
}
