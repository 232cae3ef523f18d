package manifest

import (
	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
)

// build derives the cluster state from objects (in the order they were
// read) with package controller; errs are the errors found so far. A
// second object of the same kind, namespace and name is an error, and is
// left out.
func build(objs []Object, opts Options, errs errorList) (*cluster.State, errorList) {
	in := dedupe(objs, &errs)
	st, problems := controller.Derive(in, opts.controller())
	for _, p := range problems {
		errs.addErr(p.Origin.File, p.Origin.Document, p.Origin.Line, p.Err)
	}
	return st, errs
}

// dedupe drops the second and later objects of the same kind, namespace and
// name, reporting each, and returns what the control plane is given of the
// known objects that remain.
func dedupe(objs []Object, errs *errorList) []controller.Object {
	type key struct{ kind, namespace, name string }
	first := map[key]*Object{}
	var out []controller.Object
	for i := range objs {
		o := &objs[i]
		if !o.Known() || o.conv == nil {
			continue
		}
		k := key{o.Kind, o.Namespace, o.Name}
		if f, dup := first[k]; dup {
			errs.add(o.File, o.Document, o.Line, "duplicate %s: already defined at %s (document %d)", o.Ref(), f.Origin(), f.Document)
			continue
		}
		first[k] = o
		out = append(out, *o.conv)
	}
	return out
}
