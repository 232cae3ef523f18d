package manifest

import (
	"fmt"

	"github.com/clusterdns/clusterdns/internal/cluster"
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
	var fe fieldErrors
	// As typedObject: names that become DNS labels must be DNS labels.
	info := knownKinds[o.Kind]
	if o.Kind == "Namespace" || o.Kind == "Service" {
		checkDNSLabel([]any{"metadata", "name"}, o.Name, &fe)
	}
	if info.namespaced && o.Namespace != "default" {
		checkDNSLabel([]any{"metadata", "namespace"}, o.Namespace, &fe)
	}
	convert(o.Typed, &fe)
	out := make([]FieldProblem, 0, len(fe))
	for _, e := range fe {
		line := o.Line
		if o.tree != nil {
			at, _ := o.tree.lookup(e.path)
			line = at.line
		}
		p := formatPath(e.path)
		out = append(out, FieldProblem{
			Path:    p,
			Message: e.msg,
			Err:     &Error{File: o.File, Document: o.Document, Line: line, Err: fmt.Errorf("%s: %s: %s", o.Ref(), p, e.msg)},
		})
	}
	return out
}
