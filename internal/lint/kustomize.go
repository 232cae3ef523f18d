package lint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomize builds the kustomization in dir (kf is its file) as
// `kustomize build` would, and adds the objects it renders. Rendered objects
// have no lines of their own, so each is traced back to the resource file it
// came from (kustomize's origin annotations, switched on for this build) and
// reported at the same field there; objects whose source is unknown
// (generated, remote) are reported at the kustomization file.
func (in *inputs) kustomize(ctx context.Context, dir, kf string) {
	in.fileSeen(kf)
	if err := ctx.Err(); err != nil {
		in.errorf(kf, 0, "%v", err)
		return
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		in.errorf(kf, 0, "%v", err)
		return
	}
	fsys := &originFS{FileSystem: filesys.MakeFsOnDisk(), root: abs, budget: in.budget}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, abs)
	if fsys.refused != nil {
		// A file kustomize's YAML library cannot read safely: the error
		// is ours, at the file's line, not kustomize's wrapping of it.
		in.addErrors(fsys.refused, fromManifestError)
		return
	}
	if err != nil {
		in.errorf(kf, 0, "kustomize build: %v", strings.TrimSpace(err.Error()))
		return
	}
	res := m.Resources()
	// One stream, one document per resource, so that a document index
	// names its resource.
	var stream bytes.Buffer
	srcFiles := make([]string, len(res))
	for i, r := range res {
		if origin, err := r.GetOrigin(); err == nil && origin != nil && origin.Repo == "" && origin.Path != "" {
			srcFiles[i] = filepath.Join(dir, filepath.FromSlash(origin.Path))
			in.fileSeen(srcFiles[i])
		}
		annotations := r.GetAnnotations()
		delete(annotations, originAnnotation)
		if err := r.SetAnnotations(annotations); err != nil {
			in.errorf(kf, 0, "kustomize build: %v", err)
			return
		}
		data, err := r.AsYAML()
		if err != nil {
			in.errorf(kf, 0, "kustomize build: %v", err)
			return
		}
		stream.WriteString("---\n")
		stream.Write(data)
	}
	objs, err := manifest.Decode(kf, stream.Bytes())
	byDoc := map[int]*object{}
	for i := range objs {
		o := &object{Object: &objs[i], kustFile: kf}
		if d := o.Document; d < len(srcFiles) && srcFiles[d] != "" {
			o.srcFile = srcFiles[d]
			o.src = in.sourceObject(o.srcFile, res[d])
		}
		byDoc[o.Document] = o
		in.add(o)
	}
	in.addErrors(err, func(e *manifest.Error) InputError {
		msg := e.Err.Error()
		if d := e.Document; d < len(srcFiles) && srcFiles[d] != "" {
			line := 0
			if o := byDoc[d]; o != nil && o.src != nil {
				line = o.src.Line
			} else if src := in.sourceObject(srcFiles[d], res[d]); src != nil {
				line = src.Line
			}
			in.fileSeen(srcFiles[d])
			return InputError{File: srcFiles[d], Line: line, Message: msg + " (as built by " + kf + ")"}
		}
		return InputError{File: kf, Message: fmt.Sprintf("document %d of the kustomize output: %s", e.Document, msg)}
	})
}

// originAnnotation is where kustomize records the file a resource came from.
const originAnnotation = "config.kubernetes.io/origin"

// sourceObject finds the object a rendered resource came from in its
// resource file: the one of the same kind whose name the rendered name
// contains (name prefixes and suffixes), preferring the same name.
func (in *inputs) sourceObject(file string, r *resource.Resource) *manifest.Object {
	objs, ok := in.decoded[file]
	if !ok {
		data, err := os.ReadFile(file)
		if err == nil {
			objs, _ = manifest.Decode(file, data) // problems show in the rendered objects
		}
		in.decoded[file] = objs
	}
	kind, name := r.GetKind(), r.GetName()
	var best *manifest.Object
	for i := range objs {
		o := &objs[i]
		if o.Kind != kind || !strings.Contains(name, o.Name) {
			continue
		}
		if o.Name == name {
			return o
		}
		if best == nil || len(o.Name) > len(best.Name) {
			best = o
		}
	}
	if best == nil {
		// A rename kustomize could not be followed through: the only
		// object of the kind, if there is one.
		var only []*manifest.Object
		for i := range objs {
			if objs[i].Kind == kind {
				only = append(only, &objs[i])
			}
		}
		if len(only) == 1 {
			best = only[0]
		}
	}
	return best
}

// originFS is the disk with the root kustomization file asking for origin
// annotations (buildMetadata: [originAnnotations]), which record for every
// resource the file it came from.
//
// Every file kustomize reads is first checked by manifest.Budget.Guard:
// kustomize's YAML library recurses forever on an alias inside the value
// it names and expands alias bombs without bound, so such a file is
// refused (and the first refusal kept for the report) before it gets there.
type originFS struct {
	filesys.FileSystem
	root    string // absolute directory of the root kustomization
	budget  *manifest.Budget
	refused error
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err == nil {
		if gerr := f.budget.Guard(path, data); gerr != nil {
			if f.refused == nil {
				f.refused = gerr
			}
			return nil, gerr
		}
	}
	if err != nil || filepath.Dir(filepath.Clean(path)) != f.root || !slices.Contains(kustomizationFileNames, filepath.Base(path)) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil // kustomize reports it
	}
	meta, _ := k["buildMetadata"].([]any)
	for _, v := range meta {
		if v == "originAnnotations" {
			return data, nil
		}
	}
	k["buildMetadata"] = append(meta, "originAnnotations")
	out, err := yaml.Marshal(k)
	if err != nil {
		return data, nil
	}
	return out, nil
}
