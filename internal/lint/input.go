package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/clusterdns/clusterdns/internal/source/manifest"
	"sigs.k8s.io/yaml"
)

// StdinName is the file name findings in what was read from "-" carry.
const StdinName = manifest.StdinName

// InputError is a problem with the inputs themselves: a file that cannot be
// read, a manifest that does not decode, a kustomization that does not
// build. Line is 0 when the problem is not at a line.
type InputError struct {
	File    string
	Line    int
	Message string

	raw string // the *manifest.Error it was made from, as text
}

func (e InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

// object is one decoded object of the inputs and where to report it.
type object struct {
	*manifest.Object // as decoded; for kustomize, from the rendered output
	// kustFile is set for objects rendered by kustomize: the kustomization
	// file, where findings go when the source is unknown.
	kustFile string
	// src is, for objects rendered by kustomize, the object in the resource
	// file it came from (nil if unknown), srcFile that file.
	src     *manifest.Object
	srcFile string
	// template is the "# Source:" comment of a Helm-rendered document.
	template string
	ignore   []string // clusterdns.io/lint-ignore
}

// at returns the file and line to report a field of the object at. For
// kustomize output it is the line of the same field in the resource file
// the object came from (or of its nearest written parent: a field added by
// a patch is reported at the parent the base writes).
func (o *object) at(field string) (string, int) {
	switch {
	case o.kustFile == "":
		return o.File, o.FieldLine(field)
	case o.src != nil:
		return o.srcFile, o.src.FieldLine(field)
	case o.srcFile != "":
		return o.srcFile, 0
	}
	return o.kustFile, 0
}

// inputs is everything read.
type inputs struct {
	objs  []*object
	errs  []InputError
	files map[string]int // first-seen order of the files reported
	seen  map[string]bool
	// pending are files read but not decoded yet (see flush).
	pending []decodeJob
	// decoded caches the decoded source files of kustomizations.
	decoded map[string][]manifest.Object
	// budget bounds the whole input (every file, stdin, what kustomize
	// reads), shared by the parallel decoders.
	budget *manifest.Budget
}

func newInputs(b *manifest.Budget) *inputs {
	return &inputs{files: map[string]int{}, seen: map[string]bool{}, decoded: map[string][]manifest.Object{}, budget: b}
}

func (in *inputs) fileSeen(f string) {
	if _, ok := in.files[f]; !ok {
		in.files[f] = len(in.files)
	}
}

func (in *inputs) errorf(file string, line int, format string, args ...any) {
	in.fileSeen(file)
	in.errs = append(in.errs, InputError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// read reads paths: files (whatever their extension), directories
// (recursively: *.yaml, *.yml, *.json; a directory with a kustomization
// file is built with kustomize instead) and "-" for stdin.
func read(ctx context.Context, paths []string, stdin io.Reader, budget *manifest.Budget) *inputs {
	in := newInputs(budget)
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			in.errorf(p, 0, "%v", err)
			return in
		}
		if p == "-" {
			if in.seen["-"] {
				continue
			}
			in.seen["-"] = true
			if stdin == nil {
				in.errorf(StdinName, 0, "no standard input")
				continue
			}
			data, err := in.budget.ReadAll(stdin)
			if err != nil {
				in.errorf(StdinName, 0, "reading: %v", err)
				continue
			}
			in.decode(StdinName, data)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			in.errorf(p, 0, "%v", unwrapPathError(err))
			continue
		}
		if info.IsDir() {
			in.dir(ctx, p, true)
		} else {
			in.file(p)
		}
	}
	in.flush()
	return in
}

func (in *inputs) file(p string) {
	if c := filepath.Clean(p); in.seen[c] {
		return
	} else {
		in.seen[c] = true
	}
	in.fileSeen(p)
	in.pending = append(in.pending, decodeJob{file: p})
}

// decode queues the bytes of one file for decoding.
func (in *inputs) decode(file string, data []byte) {
	in.fileSeen(file)
	in.pending = append(in.pending, decodeJob{file: file, data: data, read: true})
}

// decodeJob is a file to read (unless read) and decode.
type decodeJob struct {
	file string
	data []byte
	read bool

	objs []*object
	errs []InputError
}

// flush decodes the queued files, in parallel, and adds their objects and
// errors in the order the files were queued.
func (in *inputs) flush() {
	jobs := in.pending
	in.pending = nil
	work := make(chan *decodeJob)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for j := range work {
				j.run(in.budget)
			}
		})
	}
	for i := range jobs {
		work <- &jobs[i]
	}
	close(work)
	wg.Wait()
	for _, j := range jobs {
		for _, o := range j.objs {
			in.add(o)
		}
		in.errs = append(in.errs, j.errs...)
	}
}

func (j *decodeJob) run(budget *manifest.Budget) {
	if !j.read {
		data, err := budget.ReadFile(j.file)
		if err != nil {
			j.errs = append(j.errs, InputError{File: j.file, Message: fmt.Sprintf("reading: %v", unwrapPathError(err))})
			return
		}
		j.data = data
	}
	objs, err := manifest.DecodeWithin(budget, j.file, j.data)
	for _, e := range manifest.Errors(err) {
		ie := fromManifestError(e)
		ie.raw = e.Error()
		j.errs = append(j.errs, ie)
	}
	var lines [][]byte
	if j.file == StdinName && bytes.Contains(j.data, []byte("# Source: ")) {
		lines = bytes.Split(j.data, []byte("\n"))
	}
	for i := range objs {
		o := &object{Object: &objs[i]}
		if lines != nil {
			o.template = helmSource(lines, o.Line)
		}
		j.objs = append(j.objs, o)
	}
}

func (in *inputs) add(o *object) {
	if m, ok := o.Typed.(interface{ GetAnnotations() map[string]string }); ok {
		o.ignore = parseIgnore(m.GetAnnotations()[IgnoreAnnotation])
	}
	in.objs = append(in.objs, o)
}

// addErrors adds the *manifest.Error values of err as remap reports them.
func (in *inputs) addErrors(err error, remap func(*manifest.Error) InputError) {
	for _, e := range manifest.Errors(err) {
		ie := remap(e)
		ie.raw = e.Error()
		in.fileSeen(ie.File)
		in.errs = append(in.errs, ie)
	}
}

func fromManifestError(e *manifest.Error) InputError {
	if e.Line == 0 {
		return InputError{File: e.File, Message: e.Err.Error()}
	}
	return InputError{File: e.File, Line: e.Line, Message: fmt.Sprintf("document %d: %v", e.Document, e.Err)}
}

// helmSource returns the "# Source: path" comment that heads the document
// holding line (1-based), as `helm template` writes it.
func helmSource(lines [][]byte, line int) string {
	for i := min(line-1, len(lines)) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if s, ok := bytes.CutPrefix(l, []byte("# Source: ")); ok {
			return string(bytes.TrimSpace(s))
		}
		if bytes.HasPrefix(lines[i], []byte("---")) {
			return ""
		}
	}
	return ""
}

// dir reads a directory: built with kustomize if it holds a kustomization
// file, else walked for manifests. Hidden directories are skipped, and so
// are kustomize Components found while walking (they only mean something
// inside the kustomization that uses them).
func (in *inputs) dir(ctx context.Context, dir string, top bool) {
	if c := filepath.Clean(dir); in.seen[c] {
		return
	} else {
		in.seen[c] = true
	}
	if kf := kustomizationFile(dir); kf != "" {
		if !top && isComponent(kf) {
			return
		}
		in.flush() // keep the objects in the order read
		in.kustomize(ctx, dir, kf)
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil {
		in.errorf(dir, 0, "is a Helm chart: render it and lint the output (helm template NAME %s | clusterdns lint -)", dir)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		in.errorf(dir, 0, "%v", unwrapPathError(err))
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			info, err := os.Stat(p)
			if err != nil {
				continue
			}
			isDir = info.IsDir()
			if !isDir && !info.Mode().IsRegular() {
				continue
			}
		} else if !isDir && !e.Type().IsRegular() {
			continue
		}
		if isDir {
			in.dir(ctx, p, false)
			continue
		}
		if hasManifestExt(e.Name()) {
			in.file(p)
		}
	}
}

func hasManifestExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// kustomizationFileNames are the names kustomize recognizes, in its order.
var kustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func kustomizationFile(dir string) string {
	for _, n := range kustomizationFileNames {
		p := filepath.Join(dir, n)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func isComponent(kf string) bool {
	data, err := os.ReadFile(kf)
	if err != nil {
		return false
	}
	var k struct {
		Kind string `json:"kind"`
	}
	return yaml.Unmarshal(data, &k) == nil && k.Kind == "Component"
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// IgnoreAnnotation is the annotation that turns rules off for one object:
// a comma-separated list of rule IDs.
const IgnoreAnnotation = "clusterdns.io/lint-ignore"

func parseIgnore(v string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
